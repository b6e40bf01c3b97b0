// Who a viewer is, always proven by a token `<base64url JSON {sub, name?, exp}>.<base64url HMAC-SHA256>`:
// signed by the operator's site when VIEWER_TOKEN_SECRET is set, else an anonymous one livecue issues
// (POST /live/viewers). A viewer id is shown to everyone in chat, so it is never a credential by itself.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { randomBase62 } from '../streams/stream-keys.ts';

export interface Viewer {
  id: string;
  name?: string;
}

export function signViewerToken(secret: string, viewer: { sub: string; name?: string; exp: number }): string {
  const body = Buffer.from(JSON.stringify(viewer)).toString('base64url');
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

export function verifyViewerToken(secret: string, token: string, now = Date.now()): Viewer | undefined {
  const [body, mac] = token.split('.');
  if (!body || !mac) return undefined;
  const expected = Buffer.from(createHmac('sha256', secret).update(body).digest('base64url'));
  const presented = Buffer.from(mac);
  if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as { sub?: unknown; name?: unknown; exp?: unknown };
    if (typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > 128) return undefined;
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= now) return undefined;
    return { id: claims.sub, name: typeof claims.name === 'string' ? claims.name.slice(0, 100) : undefined };
  } catch {
    return undefined;
  }
}

/** How long an anonymous viewer token lasts; the page asks for a new one when it runs out. */
const ANONYMOUS_TOKEN_DAYS = 30;

export class ViewerIdentity {
  readonly #anonymousSecret: string;

  constructor(private readonly options: { shopSecret?: string; livecueSecret: string }) {
    // Its own key, derived from the node's secret (the same on every node): these tokens prove nothing else.
    this.#anonymousSecret = createHmac('sha256', options.livecueSecret).update('livecue anonymous viewer tokens').digest('base64url');
  }

  /** True when viewers are the shop's (VIEWER_TOKEN_SECRET): livecue issues no anonymous ids then. */
  get shopSigned(): boolean {
    return this.options.shopSecret !== undefined;
  }

  /** A new anonymous viewer: its id and the token that proves it. */
  issue(now = Date.now()): { viewerId: string; viewerToken: string; expiresAt: string } {
    const viewerId = `anon_${randomBase62(16)}`;
    const exp = Math.floor(now / 1000) + ANONYMOUS_TOKEN_DAYS * 86_400;
    return { viewerId, viewerToken: signViewerToken(this.#anonymousSecret, { sub: viewerId, exp }), expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** The viewer a token proves: the shop's when VIEWER_TOKEN_SECRET is set, else one livecue issued. */
  verify(token: string | null | undefined): Viewer | undefined {
    if (!token || token.length > 2048) return undefined;
    return verifyViewerToken(this.options.shopSecret ?? this.#anonymousSecret, token);
  }
}

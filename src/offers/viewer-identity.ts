// Who a viewer is: an anonymous id chosen by the player, or — when VIEWER_TOKEN_SECRET is set — a
// token signed by the operator's site: `<base64url JSON {sub, name?, exp}>.<base64url HMAC-SHA256>`.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface Viewer {
  id: string;
  name?: string;
}

const ANONYMOUS_ID = /^[A-Za-z0-9_-]{8,64}$/;

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

/** The viewer of a request: the signed token when a secret is configured, else the anonymous id. */
export function viewerOf(secret: string | undefined, bearer: string | undefined, anonymousId: unknown): Viewer | undefined {
  if (secret) return bearer ? verifyViewerToken(secret, bearer) : undefined;
  return typeof anonymousId === 'string' && ANONYMOUS_ID.test(anonymousId) ? { id: anonymousId } : undefined;
}

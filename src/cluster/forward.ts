// A request that only a show's origin node can serve (placing a cue on its timeline) and that arrived
// at another node is passed on to the origin, as the client sent it, over the internal network.
import type { Request } from 'express';
import type { Logger } from '../log.ts';
import type { NodeAddress, OriginDirectory } from './origin-directory.ts';

export const FORWARDED_HEADER = 'x-livecue-forwarded-by';

export interface ForwardedResponse {
  status: number;
  contentType: string;
  body: string;
  etag?: string;
}

/** Passes the request, as the client sent it (method, auth, body), to another node. */
export async function forwardTo(internalUrl: string, nodeId: string, req: Request, body?: string): Promise<ForwardedResponse> {
  const headers: Record<string, string> = { [FORWARDED_HEADER]: nodeId };
  for (const name of ['authorization', 'idempotency-key', 'content-type', 'if-match']) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const response = await fetch(new URL(req.originalUrl, internalUrl), { method: req.method, headers, body, signal: AbortSignal.timeout(10_000) });
  const etag = response.headers.get('etag') ?? undefined;
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? 'application/json',
    body: await response.text(),
    ...(etag ? { etag } : {}),
  };
}

export function originForwarder(deps: { directory: OriginDirectory; nodeId: string; logger: Logger }) {
  /** The origin's answer, or undefined when the show is not live on another node (or this is a forwarded request already). */
  return async (streamId: string, req: Request): Promise<ForwardedResponse | undefined> => {
    if (req.headers[FORWARDED_HEADER]) return undefined;
    const origin = await deps.directory.lookup(streamId);
    if (!origin || origin.nodeId === deps.nodeId) return undefined;
    const forwarded = await forwardTo(origin.internalUrl, deps.nodeId, req, JSON.stringify(req.body ?? {}));
    deps.logger.debug({ streamId, originNode: origin.nodeId, status: forwarded.status }, "request forwarded to the show's origin node");
    return forwarded;
  };
}

/** Which node holds each WHIP/WHEP session, so a PATCH or DELETE reaching another node is passed to it. */
export interface SessionLocator {
  record(sessionId: string): void;
  drop(sessionId: string): void;
  /** The holding node's answer, or undefined when the session is unknown or would be this node's. */
  forward(sessionId: string, req: Request): Promise<ForwardedResponse | undefined>;
}

export function sessionLocator(deps: { directory: OriginDirectory; self: () => NodeAddress; logger: Logger }): SessionLocator {
  return {
    record: (sessionId) =>
      void deps.directory
        .recordSession(sessionId, deps.self())
        .catch((error: Error) => deps.logger.warn({ err: error }, 'cannot record a WebRTC session in Redis')),
    drop: (sessionId) => void deps.directory.dropSession(sessionId).catch(() => {}),
    async forward(sessionId, req) {
      if (req.headers[FORWARDED_HEADER]) return undefined;
      const node = await deps.directory.sessionNode(sessionId);
      if (!node || node.nodeId === deps.self().nodeId) return undefined;
      // A PATCH's SDP fragment goes along (DELETE has no body).
      return forwardTo(node.internalUrl, deps.self().nodeId, req, typeof req.body === 'string' ? req.body : undefined);
    },
  };
}

// A request that only a show's origin node can serve (placing a cue on its timeline) and that arrived
// at another node is passed on to the origin, as the client sent it, over the internal network.
import type { Request } from 'express';
import type { Logger } from '../log.ts';
import type { OriginDirectory } from './origin-directory.ts';

export const FORWARDED_HEADER = 'x-livecue-forwarded-by';

export interface ForwardedResponse {
  status: number;
  contentType: string;
  body: string;
}

export function originForwarder(deps: { directory: OriginDirectory; nodeId: string; logger: Logger }) {
  /** The origin's answer, or undefined when the show is not live on another node (or this is a forwarded request already). */
  return async (streamId: string, req: Request): Promise<ForwardedResponse | undefined> => {
    if (req.headers[FORWARDED_HEADER]) return undefined;
    const origin = await deps.directory.lookup(streamId);
    if (!origin || origin.nodeId === deps.nodeId) return undefined;
    const headers: Record<string, string> = { [FORWARDED_HEADER]: deps.nodeId, 'content-type': 'application/json' };
    for (const name of ['authorization', 'idempotency-key']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const response = await fetch(new URL(req.originalUrl, origin.internalUrl), {
      method: req.method,
      headers,
      body: JSON.stringify(req.body ?? {}),
      signal: AbortSignal.timeout(10_000),
    });
    deps.logger.debug({ streamId, originNode: origin.nodeId, status: response.status }, 'request forwarded to the show\'s origin node');
    return { status: response.status, contentType: response.headers.get('content-type') ?? 'application/json', body: await response.text() };
  };
}

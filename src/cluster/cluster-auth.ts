// Node-to-node requests (media relays, forwarded cues) carry a token every node derives from the
// shared LIVECUE_SECRET_KEY, so no extra secret has to be distributed and none travels in a URL.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { LivecueError } from '../errors.ts';
import { bearerToken } from '../api/admin-auth.ts';

export function clusterToken(secretKey: string): string {
  return `lcn_${createHmac('sha256', secretKey).update('livecue-cluster-v1').digest('base64url')}`;
}

/** Express middleware: only other livecue nodes (holding the cluster token) get through. */
export function requireClusterToken(token: string) {
  const expected = Buffer.from(token);
  return (req: Request, _res: Response, next: NextFunction) => {
    const presented = Buffer.from(bearerToken(req.headers.authorization) ?? '');
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      throw new LivecueError('unauthorized', 'node-to-node endpoint: send the cluster token');
    }
    next();
  };
}

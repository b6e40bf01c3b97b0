// Who may call what on /v1: the admin token may do everything; API tokens by scope. The scope a call
// needs is decided here, in one place, from its method and path.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { LivecueError } from '../errors.ts';
import type { ApiTokenStore, Scope } from '../security/api-tokens.ts';
import { bearerToken } from './admin-auth.ts';

type Need = Scope | 'admin';

export function scopeNeeded(method: string, path: string): Need {
  if (path.startsWith('/v1/tokens')) return 'admin';
  const reading = method === 'GET' || method === 'HEAD';
  if (/^\/v1\/streams\/[^/]+\/cues\/?$/.test(path) && method === 'POST') return 'cues';
  if (/^\/v1\/streams\/[^/]+\/cues(\/state)?\/?$/.test(path) && reading) return 'cues';
  return reading ? 'read' : 'write';
}

function allows(scopes: Scope[], need: Need): boolean {
  if (need === 'admin') return false;
  if (scopes.includes('write')) return true;
  if (need === 'cues') return scopes.includes('cues');
  return scopes.includes(need);
}

export function authorize(options: { adminToken: string; tokens: ApiTokenStore }): RequestHandler {
  const admin = createHash('sha256').update(options.adminToken).digest();
  return (req, _res, next) => {
    const presented = bearerToken(req.headers.authorization);
    if (!presented) return next(new LivecueError('unauthorized', 'missing API token: send Authorization: Bearer <token>'));
    const digest = createHash('sha256').update(presented).digest();
    if (timingSafeEqual(digest, admin)) return next();
    const need = scopeNeeded(req.method, req.originalUrl.split('?')[0]!);
    options.tokens.scopesOf(presented).then(
      (scopes) => {
        if (!scopes) return next(new LivecueError('unauthorized', 'invalid or revoked API token'));
        if (!allows(scopes, need)) return next(new LivecueError('forbidden', `this token lacks the "${need}" scope`));
        next();
      },
      (error: unknown) => next(error),
    );
  };
}

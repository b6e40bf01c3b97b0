// Who may call what on /v1: the admin token may do everything; API tokens by scope. `authenticate` says
// who is calling; each mount in http-app.ts declares the scope its routes need with `requires`, so the
// check is matched by Express's own router (any spelling, case or absolute-form target of a path that
// reaches a handler has passed its mount's check).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { LivecueError } from '../errors.ts';
import type { ApiTokenStore, Scope } from '../security/api-tokens.ts';
import { bearerToken } from './admin-auth.ts';

export type Need = Scope | 'admin';
type Principal = { admin: true } | { admin: false; scopes: Scope[] };

function allows(principal: Principal, need: Need): boolean {
  if (principal.admin) return true;
  if (need === 'admin') return false;
  if (principal.scopes.includes('write')) return true;
  if (need === 'cues') return principal.scopes.includes('cues');
  return principal.scopes.includes(need);
}

const principalOf = (res: Response): Principal | undefined => res.locals.principal as Principal | undefined;

/** Resolves the bearer token to the admin or a token's scopes (401 without a valid one). */
export function authenticate(options: { adminToken: string; tokens: ApiTokenStore }): RequestHandler {
  const admin = createHash('sha256').update(options.adminToken).digest();
  return (req, res, next) => {
    const presented = bearerToken(req.headers.authorization);
    if (!presented) return next(new LivecueError('unauthorized', 'missing API token: send Authorization: Bearer <token>'));
    const digest = createHash('sha256').update(presented).digest();
    if (timingSafeEqual(digest, admin)) {
      res.locals.principal = { admin: true } satisfies Principal;
      return next();
    }
    options.tokens.scopesOf(presented).then(
      (scopes) => {
        if (!scopes) return next(new LivecueError('unauthorized', 'invalid or revoked API token'));
        res.locals.principal = { admin: false, scopes } satisfies Principal;
        next();
      },
      (error: unknown) => next(error),
    );
  };
}

/** The scope the routes behind it need: one for every method, or one for reads (GET, HEAD) and one for the rest. */
export function requires(need: Need | { read: Need; write: Need }): RequestHandler {
  return (req, res, next) => {
    const principal = principalOf(res);
    const needed = typeof need === 'string' ? need : req.method === 'GET' || req.method === 'HEAD' ? need.read : need.write;
    if (!principal) return next(new LivecueError('unauthorized', 'missing API token: send Authorization: Bearer <token>'));
    if (!allows(principal, needed)) {
      return next(new LivecueError('forbidden', needed === 'admin' ? 'this call needs the admin token' : `this token lacks the "${needed}" scope`));
    }
    next();
  };
}

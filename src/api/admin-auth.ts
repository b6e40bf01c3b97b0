// Admin authentication: `Authorization: Bearer <admin token>`, compared in constant time.
import { timingSafeEqual, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RequestHandler } from 'express';
import { LivecueError } from '../errors.ts';
import { newAdminToken } from '../streams/stream-keys.ts';

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

export function requireAdmin(adminToken: string): RequestHandler {
  const expected = createHash('sha256').update(adminToken).digest();
  return (req, _res, next) => {
    const presented = bearerToken(req.headers.authorization);
    if (!presented) return next(new LivecueError('unauthorized', 'missing admin token: send Authorization: Bearer <admin token>'));
    const digest = createHash('sha256').update(presented).digest();
    if (!timingSafeEqual(digest, expected)) return next(new LivecueError('unauthorized', 'invalid admin token'));
    next();
  };
}

/**
 * The admin token from LIVECUE_ADMIN_TOKEN, or the one kept in the data dir, or a new one written
 * there (mode 0600). `generated` tells the caller to show it once.
 */
export function resolveAdminToken(configured: string | undefined, dataDir: string): { token: string; generated: boolean; file?: string } {
  if (configured) return { token: configured, generated: false };
  const file = path.join(dataDir, 'admin-token');
  if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), generated: false, file };
  mkdirSync(dataDir, { recursive: true });
  const token = newAdminToken();
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, generated: true, file };
}

// The admin token (configured, or generated once and kept in the data dir), and the tokens requests carry.
import { persistentSecret } from '../security/persistent-secret.ts';
import { newAdminToken } from '../streams/stream-keys.ts';

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** A viewer's playback token: `?token=`, or `Authorization: Bearer` (WHEP players send the latter). */
export function playbackToken(req: { query: Record<string, unknown>; headers: { authorization?: string } }): string | undefined {
  return typeof req.query.token === 'string' ? req.query.token : bearerToken(req.headers.authorization);
}

/**
 * The admin token from LIVECUE_ADMIN_TOKEN, or the one kept in the data dir, or a new one written
 * there (mode 0600). `generated` tells the caller to show it once.
 */
export function resolveAdminToken(configured: string | undefined, dataDir: string): { token: string; generated: boolean; file?: string } {
  const secret = persistentSecret({ configured, dataDir, fileName: 'admin-token', generate: newAdminToken });
  return { token: secret.value, generated: secret.generated, file: secret.file };
}

// The admin token (configured, or generated once and kept in the data dir) and Bearer header parsing.
import { persistentSecret } from '../security/persistent-secret.ts';
import { newAdminToken } from '../streams/stream-keys.ts';

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * The admin token from LIVECUE_ADMIN_TOKEN, or the one kept in the data dir, or a new one written
 * there (mode 0600). `generated` tells the caller to show it once.
 */
export function resolveAdminToken(configured: string | undefined, dataDir: string): { token: string; generated: boolean; file?: string } {
  const secret = persistentSecret({ configured, dataDir, fileName: 'admin-token', generate: newAdminToken });
  return { token: secret.value, generated: secret.generated, file: secret.file };
}

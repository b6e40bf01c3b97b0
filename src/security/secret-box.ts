// Secrets livecue must give back to itself later (third-party stream keys of restream targets) are
// kept sealed with AES-256-GCM under a key derived from LIVECUE_SECRET_KEY: a database dump alone
// does not reveal them, and a tampered or swapped value fails to open.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { persistentSecret } from './persistent-secret.ts';

/** Shortest LIVECUE_SECRET_KEY accepted. */
export const MIN_SECRET_KEY_LENGTH = 16;
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KDF_SALT = 'livecue secret-box v1';
/** scrypt keeps a passphrase-like secret expensive to guess; the key is derived once per process. */
const KDF_COST = { N: 2 ** 14, r: 8, p: 1 };

export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

export class SecretBox {
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    this.#key = key;
  }

  static fromSecret(secret: string): SecretBox {
    if (secret.length < MIN_SECRET_KEY_LENGTH) throw new SecretBoxError(`the secret key must be at least ${MIN_SECRET_KEY_LENGTH} characters`);
    return new SecretBox(scryptSync(secret, KDF_SALT, 32, KDF_COST));
  }

  /**
   * `v1.<base64url(iv | ciphertext | tag)>`. `context` (e.g. the owning row's id) is authenticated
   * but not stored: a sealed value opens only under the same context.
   */
  seal(plaintext: string, context = ''): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64url')}`;
  }

  /** The plaintext; throws SecretBoxError when the value was sealed under another key or context, or altered. */
  open(sealed: string, context = ''): string {
    const [version, body, ...rest] = sealed.split('.');
    if (version !== VERSION || body === undefined || rest.length > 0) throw new SecretBoxError('not a sealed value');
    const bytes = Buffer.from(body, 'base64url');
    if (bytes.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError('sealed value is truncated');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('cannot open the sealed value: LIVECUE_SECRET_KEY differs from the one that sealed it, or the value was altered');
    }
  }
}

/**
 * LIVECUE_SECRET_KEY, or the one kept in the data dir (`secret-key`, mode 0600), or a new one written
 * there. Nodes sharing a database must be given the same value.
 */
export function resolveSecretKey(configured: string | undefined, dataDir: string): { value: string; generated: boolean; file?: string } {
  return persistentSecret({ configured, dataDir, fileName: 'secret-key', generate: () => randomBytes(32).toString('base64url') });
}

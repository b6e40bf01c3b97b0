// Stream keys, playback ids and admin tokens: generation and hashing. Keys are only ever stored hashed.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random base62 text; rejection sampling keeps every character equally likely. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

/** RTMP stream names must match [A-Za-z0-9_-]+, so keys use that alphabet. */
export const newStreamKey = () => `lck_${randomBase62(32)}`;
export const newAdminToken = () => `lca_${randomBase62(40)}`;
export const newPlaybackId = () => randomBase62(20);
export const newStreamId = () => `str_${randomBase62(16)}`;

export const STREAM_KEY_SHAPE = /^lck_[A-Za-z0-9]{32}$/;

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time comparison of a presented secret against a stored hash. */
export function secretMatches(presented: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

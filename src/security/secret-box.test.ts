import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSecretKey, SecretBox, SecretBoxError } from './secret-box.ts';

const box = SecretBox.fromSecret('correct horse battery staple');

describe('SecretBox', () => {
  it('opens what it sealed, and never stores the plaintext', () => {
    const key = 'live_8f3k-Q2x9?auth=s3cr3t&x=1';
    const sealed = box.seal(key);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('s3cr3t');
    expect(box.open(sealed)).toBe(key);
    // A fresh IV each time: the same key seals differently.
    expect(box.seal(key)).not.toBe(sealed);
    expect(box.open(box.seal(''))).toBe('');
    expect(box.open(box.seal('ключ ✓'))).toBe('ключ ✓');
  });

  it('refuses another secret, another context, and altered or malformed values', () => {
    const sealed = box.seal('key', 'rst_1');
    expect(box.open(sealed, 'rst_1')).toBe('key');
    expect(() => box.open(sealed, 'rst_2')).toThrow(SecretBoxError);
    expect(() => box.open(sealed)).toThrow(SecretBoxError);
    expect(() => SecretBox.fromSecret('another long enough secret').open(sealed, 'rst_1')).toThrow(/LIVECUE_SECRET_KEY/);
    const bytes = Buffer.from(sealed.slice(3), 'base64url');
    bytes[14] = bytes[14]! ^ 1;
    expect(() => box.open(`v1.${bytes.toString('base64url')}`, 'rst_1')).toThrow(SecretBoxError);
    expect(() => box.open('v2.AAAA')).toThrow('not a sealed value');
    expect(() => box.open('v1.AAAA')).toThrow('truncated');
    expect(() => box.open('plaintext-key')).toThrow(SecretBoxError);
  });

  it('refuses a short secret', () => {
    expect(() => SecretBox.fromSecret('short')).toThrow(/at least 16/);
  });
});

describe('resolveSecretKey', () => {
  it('uses the configured secret, else generates one once and keeps it in the data dir (0600)', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'livecue-secret-'));
    try {
      expect(resolveSecretKey('configured-secret-value', dataDir)).toEqual({ value: 'configured-secret-value', generated: false });
      const first = resolveSecretKey(undefined, dataDir);
      expect(first.generated).toBe(true);
      expect(first.value.length).toBeGreaterThanOrEqual(40);
      expect(first.file).toBe(path.join(dataDir, 'secret-key'));
      expect((await readFile(first.file!, 'utf8')).trim()).toBe(first.value);
      expect((await stat(first.file!)).mode & 0o777).toBe(0o600);
      const again = resolveSecretKey(undefined, dataDir);
      expect(again).toMatchObject({ value: first.value, generated: false });
      // What one process sealed, the next opens.
      expect(SecretBox.fromSecret(again.value).open(SecretBox.fromSecret(first.value).seal('k'))).toBe('k');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactSecrets } from './log.ts';

describe('logs', () => {
  it('redact stream keys and tokens wherever they appear', () => {
    const lines: string[] = [];
    const logger = createLogger('debug', new Writable({ write: (chunk, _e, done) => (lines.push(chunk.toString()), done()) }));
    const key = 'lck_AbCdEfGhIjKlMnOpQrStUvWxYz012345';
    logger.info({ streamKey: key, nested: { token: 'lca_secret' } }, `publish to rtmp://host/live/${key}`);
    logger.error({ err: new Error(`bad key ${key}`) }, 'failed');
    const text = lines.join('');
    expect(text).not.toContain('AbCdEfGh');
    expect(text).not.toContain('lca_secret');
    expect(text).toContain('[redacted]');
    expect(redactSecrets(`x ${key} y`)).toBe('x lck_[redacted] y');
  });
});

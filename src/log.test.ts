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

  it("keep an error's stack and code, redacted", () => {
    const lines: string[] = [];
    const logger = createLogger('debug', new Writable({ write: (chunk, _e, done) => (lines.push(chunk.toString()), done()) }));
    const error = Object.assign(new Error('refused lck_AbCdEfGhIjKlMnOpQrStUvWxYz012345'), { code: 'ECONNREFUSED' });
    logger.error({ err: error }, 'failed');
    const line = JSON.parse(lines[0]!) as { err: { stack: string; code: string; message: string } };
    expect(line.err.code).toBe('ECONNREFUSED');
    expect(line.err.stack).toContain('log.test.ts');
    expect(line.err.stack).not.toContain('AbCdEfGh');
    expect(line.err.message).toBe('refused lck_[redacted]');
  });
});

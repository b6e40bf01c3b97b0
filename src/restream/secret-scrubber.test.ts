import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.ts';
import { scrubbingLogger, secretScrubber } from './secret-scrubber.ts';

const key = 'live_8f3k-Q2x9?auth=s3cr3t&x=1';
const scrub = secretScrubber({ key, urls: ['rtmp://host.example:1935/app', 'rtmp://host.example/app'], masked: 'rtmp://host.example/…' });

describe('secretScrubber', () => {
  it('replaces the key (raw and URL-encoded) and the full URLs', () => {
    expect(scrub(`Server error: stream ${key} refused`)).toBe('Server error: stream [key] refused');
    expect(scrub(`publish ${encodeURIComponent(key)}`)).toBe('publish [key]');
    expect(scrub('rtmp://host.example:1935/app: Connection refused')).toBe('rtmp://host.example/…: Connection refused');
    expect(scrub(`rtmp://host.example/app/${key}`)).toBe('rtmp://host.example/…/[key]');
    expect(scrub('nothing secret')).toBe('nothing secret');
  });

  it('leaves text alone when there is no key', () => {
    expect(secretScrubber({ key: '', urls: [], masked: 'x' })('a b c')).toBe('a b c');
  });
});

describe('scrubbingLogger', () => {
  it('scrubs messages, fields, errors and child bindings before they are written', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = scrubbingLogger(createLogger('debug', sink), scrub);
    logger.warn(`ffmpeg: Server error: ${key}`);
    logger.info({ detail: { url: `rtmp://host.example/app/${key}` } }, 'started');
    logger.error({ err: new Error(`failed for ${key}`) }, 'failed');
    logger.child({ about: key }).debug({ n: 1 }, `child ${key}`);
    expect(logger.isLevelEnabled('debug')).toBe(true);
    const text = lines.join('');
    expect(lines).toHaveLength(4);
    expect(text).not.toContain('s3cr3t');
    expect(text).toContain('[key]');
    expect(text).toContain('rtmp://host.example/…');
  });
});

import { describe, expect, it } from 'vitest';
import { maskedUrl, parseTargetUrl, targetUrlProblem } from './target-url.ts';

describe('restream target URLs', () => {
  it('splits a server URL into what FFmpeg needs, with default ports', () => {
    expect(parseTargetUrl('rtmp://a.rtmp.youtube.com/live2')).toEqual({
      protocol: 'rtmp',
      host: 'a.rtmp.youtube.com',
      port: 1935,
      app: 'live2',
      serverUrl: 'rtmp://a.rtmp.youtube.com:1935/live2',
    });
    expect(parseTargetUrl('rtmps://live-api-s.facebook.com:443/rtmp/')).toMatchObject({ protocol: 'rtmps', port: 443, app: 'rtmp' });
    expect(parseTargetUrl('rtmps://global-live.mux.com/app')).toMatchObject({ port: 443, serverUrl: 'rtmps://global-live.mux.com:443/app' });
    expect(parseTargetUrl('rtmp://127.0.0.1:1936/app/instance')).toMatchObject({ host: '127.0.0.1', port: 1936, app: 'app/instance' });
  });

  it('says what is wrong with a URL that cannot be a target, without repeating it', () => {
    expect(targetUrlProblem('rtmp://a.rtmp.youtube.com/live2')).toBeUndefined();
    expect(targetUrlProblem('https://example.com/live')).toMatch(/rtmp:\/\/ or rtmps:\/\//);
    expect(targetUrlProblem('example.com/live')).toMatch(/must be an rtmp/);
    expect(targetUrlProblem('rtmp://example.com')).toMatch(/application/);
    expect(targetUrlProblem('rtmp://example.com/')).toMatch(/application/);
    expect(targetUrlProblem('rtmp://u:p@example.com/live')).toMatch(/credentials/);
    expect(targetUrlProblem('rtmp://example.com/live?secret=1')).toMatch(/query/);
    expect(targetUrlProblem('rtmp://example.com/live#x')).toMatch(/query or fragment/);
    expect(targetUrlProblem('rtmp://example.com/li ve')).toMatch(/spaces/);
    expect(targetUrlProblem('rtmp://example.com/live\\x')).toMatch(/characters/);
    expect(targetUrlProblem('rtmp://example.com/live?secret=1')).not.toContain('secret');
    expect(() => parseTargetUrl('http://x/y')).toThrow(/restream URL must start/);
  });

  it('masks everything after the host', () => {
    expect(maskedUrl('rtmps://live-api-s.facebook.com:443/rtmp/')).toBe('rtmps://live-api-s.facebook.com:443/…');
    expect(maskedUrl('rtmp://a.rtmp.youtube.com/live2/secret-key')).toBe('rtmp://a.rtmp.youtube.com/…');
    expect(maskedUrl('nonsense')).toBe('(invalid url)');
  });
});

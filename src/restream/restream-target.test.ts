import { describe, expect, it } from 'vitest';
import { lastErrorOf, restreamArgs } from './restream-target.ts';
import { parseTargetUrl } from './target-url.ts';

describe('restream FFmpeg', () => {
  it('copies the show and sends the key as the publish name, not in the URL', () => {
    const args = restreamArgs(parseTargetUrl('rtmps://live.example.com/app/instance'), 'KEY?x=1', true);
    expect(args.at(-1)).toBe('rtmps://live.example.com:443/app/instance');
    expect(args.join(' ')).toContain('-c copy');
    expect(args.join(' ')).toContain('-map 0:v:0 -map 0:a:0');
    expect(args.slice(args.indexOf('-rtmp_app'), args.indexOf('-rtmp_app') + 4)).toEqual(['-rtmp_app', 'app/instance', '-rtmp_playpath', 'KEY?x=1']);
    expect(restreamArgs(parseTargetUrl('rtmp://h/a'), 'k', false)).not.toContain('0:a:0');
    // RTMPS targets must show a certificate the system trusts, for the name they were given.
    expect(args.join(' ')).toContain('-tls_verify 1 -ca_file /etc/ssl/certs/ca-certificates.crt -verifyhost live.example.com');
    expect(restreamArgs(parseTargetUrl('rtmp://h/a'), 'k', false)).not.toContain('-tls_verify');
  });

  it('reports the cause of a failure, not what FFmpeg said while closing', () => {
    const refused = [
      'av_interleaved_write_frame(): Connection reset by peer',
      'Error writing trailer of rtmp://h/…: Connection reset by peer',
      'Error closing file rtmp://h/…: Broken pipe',
      '',
    ].join('\n');
    expect(lastErrorOf(refused, 1, null)).toBe('cannot reach the target server, or it dropped the connection (ffmpeg exited with code 1)');
    const unreachable =
      '[tcp @ 0x55b96eb31f00] Connection to tcp://h:1?tcp_nodelay=0 failed: Connection refused\n[rtmp @ 0x55b96eb5dac0] Cannot open connection\nrtmp://h/…: Connection refused\n';
    expect(lastErrorOf(unreachable, 1, null)).toBe('cannot reach the target server, or it dropped the connection (ffmpeg exited with code 1)');
    // A timeout reads the same as a refusal: the answer says nothing about which ports are open.
    expect(lastErrorOf('[tcp @ 0x5] Connection to tcp://h:22 failed: Connection timed out\n', 1, null)).toBe(lastErrorOf(unreachable, 1, null));
    // What the platform itself answers stays, so an operator can fix a wrong key.
    expect(lastErrorOf('[rtmp @ 0x5] Server error: Unauthorized\n', 1, null)).toBe('Server error: Unauthorized (ffmpeg exited with code 1)');
    expect(lastErrorOf('', null, 'SIGKILL')).toBe('ffmpeg killed by SIGKILL');
    // A tail cut to 2000 characters may start inside a line: that fragment is never reported.
    expect(lastErrorOf(`${'x'.repeat(1990)}\nreal error`.padStart(2000, 'y'), 1, null)).toBe('real error (ffmpeg exited with code 1)');
  });
});

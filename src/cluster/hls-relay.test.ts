import { describe, expect, it } from 'vitest';
import { decodeRelayed, encodeRelayed } from './hls-relay.ts';

describe('hls relay wire format', () => {
  it('carries a part with its bytes and its segment head, and a cue update without bytes', () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252]);
    const part = {
      from: 'node-a',
      playbackId: 'pb123456',
      sessionTag: 'abcdefgh',
      event: {
        type: 'part' as const,
        rendition: '720p',
        segment: { sequence: 7, discontinuity: false, map: 'abcdefgh-init-0.mp4', programDateTime: '2026-12-05T05:00:00.000Z' },
        index: 2,
        uri: 'abcdefgh-7.2.m4s',
        duration: 0.333,
        independent: false,
        bytes,
      },
    };
    const decoded = decodeRelayed(encodeRelayed(part));
    expect(decoded).toEqual(part);
    const cues = { from: 'node-a', playbackId: 'pb123456', sessionTag: 'abcdefgh', event: { type: 'cues' as const, dateRanges: [] } };
    expect(decodeRelayed(encodeRelayed(cues))).toEqual(cues);
  });

  it('refuses what is not a relay message', () => {
    expect(decodeRelayed(Buffer.alloc(2))).toBeUndefined();
    const header = Buffer.from('{"from":"x","playbackId":"p","sessionTag":"s","event":{"type":"bogus"}}');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(header.length);
    expect(decodeRelayed(Buffer.concat([length, header]))).toBeUndefined();
    length.writeUInt32BE(header.length + 50);
    expect(decodeRelayed(Buffer.concat([length, header]))).toBeUndefined();
    expect(decodeRelayed(Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{{{')]))).toBeUndefined();
  });
});

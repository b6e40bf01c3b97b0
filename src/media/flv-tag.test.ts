import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { avcConfiguration, compositionTimeOffset, flvStreamStart, flvTag, parseAvcSequenceHeader, presentationTime } from './flv-tag.ts';

const require = createRequire(import.meta.url);
const Flv = require('node-media-server/src/protocol/flv.js') as {
  createMessage(packet: { codec_type: number; dts: number; size: number; data: Buffer }): Buffer;
};

// An SPS of 1280x720 High (profile_idc 0x64, level 3.1), as x264 writes it.
const SPS_720P = Buffer.from('6764001facd9405005bb011000000300100000030320f183196', 'hex');

function avcSequenceHeaderTag(sps: Buffer): Buffer {
  const record = Buffer.concat([
    Buffer.from([1, sps[1]!, sps[2]!, sps[3]!, 0xff, 0xe1]),
    Buffer.from([sps.length >> 8, sps.length & 0xff]),
    sps,
    Buffer.from([1, 0, 4, 0x68, 0xeb, 0xe3, 0xcb]),
  ]);
  return flvTag(9, 0, Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0]), record]));
}

describe('FLV tags', () => {
  it('are built byte for byte as the RTMP engine built them, including extended timestamps', () => {
    const body = Buffer.from([0x27, 1, 0, 0, 0x50, 1, 2, 3]);
    for (const dts of [0, 40, 0x123456, 0x7f123456]) {
      expect(flvTag(9, dts, body)).toEqual(Flv.createMessage({ codec_type: 9, dts, size: body.length, data: body }));
    }
  });

  it('give the presentation time from the composition offset, signed', () => {
    const tag = (cts: number) => flvTag(9, 1000, Buffer.from([0x27, 1, (cts >> 16) & 0xff, (cts >> 8) & 0xff, cts & 0xff, 0]));
    expect(compositionTimeOffset(tag(80))).toBe(80);
    expect(compositionTimeOffset(tag(0xffffd8))).toBe(-40);
    expect(presentationTime({ kind: 'video', tag: tag(80), dts: 1000, codecId: 7 })).toBe(1080);
    // Not H.264: the decode time.
    expect(presentationTime({ kind: 'video', tag: tag(80), dts: 1000, codecId: 12 })).toBe(1000);
  });

  it('read the size and profile of an AVC sequence header', () => {
    const header = avcSequenceHeaderTag(SPS_720P);
    expect(parseAvcSequenceHeader(header)).toEqual({ width: 1280, height: 720 });
    expect(avcConfiguration(header)).toMatchObject({ recordProfileLevelId: '64001f' });
    expect(avcConfiguration(header)!.sps).toEqual(SPS_720P);
    expect(avcConfiguration(flvTag(9, 0, Buffer.from([0x17, 0, 0, 0, 0, 2])))).toBeUndefined();
  });

  it('start an FFmpeg input with the file header, the sequence headers and the keyframe', () => {
    const [file, audio, video, key] = flvStreamStart({ audio: Buffer.from('a'), video: Buffer.from('v') }, Buffer.from('k'), true);
    expect(file!.subarray(0, 5)).toEqual(Buffer.from([0x46, 0x4c, 0x56, 1, 5]));
    expect([audio, video, key].map(String)).toEqual(['a', 'v', 'k']);
    const withoutAudio = flvStreamStart({ audio: Buffer.from('a'), video: Buffer.from('v') }, Buffer.from('k'), false);
    expect(withoutAudio.slice(1).map(String)).toEqual(['v', 'k']);
    expect(withoutAudio[0]![4]).toBe(1);
  });
});

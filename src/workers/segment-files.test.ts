import { describe, expect, it } from 'vitest';
import { avc1CodecOfInit } from './segment-files.ts';

/** A box: 32-bit size, four-character type, body. */
const box = (type: string, body: Buffer) => {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
};

describe('fMP4 init segments', () => {
  it('reads the RFC 6381 codec string from the avcC box (High, level 3.1)', () => {
    // configurationVersion 1, profile 100, constraint flags 0, level 31, then lengthSizeMinusOne and the SPS/PPS counts.
    const avcC = box('avcC', Buffer.from([1, 100, 0, 31, 0xff, 0xe0, 0x00]));
    const init = Buffer.concat([box('ftyp', Buffer.from('iso5', 'latin1')), box('moov', box('trak', box('avc1', Buffer.concat([Buffer.alloc(78), avcC]))))]);
    expect(avc1CodecOfInit(init)).toBe('avc1.64001F');
  });

  it('finds nothing in an init without an H.264 track or with a truncated box', () => {
    expect(avc1CodecOfInit(box('moov', Buffer.alloc(64)))).toBeUndefined();
    expect(avc1CodecOfInit(Buffer.from([0, 0, 0, 40, 0x61, 0x76, 0x63, 0x43, 1, 100]))).toBeUndefined();
  });
});

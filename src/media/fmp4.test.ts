import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Fmp4Error, Fmp4Reader, type Fmp4Fragment, type Fmp4Init } from './fmp4.ts';

/** 3 s of 30 fps H.264 High + AAC as livecue's ladder writes it: a fragment per third of a second and at each keyframe (every second). */
function ffmpegFragmentedMp4(): Buffer {
  return execFileSync(
    'ffmpeg',
    [
      ...[
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=320x240:rate=30',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:sample_rate=48000',
      ],
      ...['-t', '3', '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-g', '30', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac'],
      ...['-f', 'mp4', '-movflags', '+empty_moov+default_base_moof+frag_keyframe+cmaf', '-frag_duration', '333333', 'pipe:1'],
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
}

function read(bytes: Buffer, chunkSize: number): { init?: Fmp4Init; fragments: Fmp4Fragment[] } {
  const result: { init?: Fmp4Init; fragments: Fmp4Fragment[] } = { fragments: [] };
  const reader = new Fmp4Reader({ init: (init) => (result.init = init), fragment: (fragment) => result.fragments.push(fragment) });
  for (let offset = 0; offset < bytes.length; offset += chunkSize) reader.push(bytes.subarray(offset, offset + chunkSize));
  return result;
}

describe('fragmented MP4 reader', () => {
  const file = ffmpegFragmentedMp4();

  it("reads FFmpeg's init segment: tracks, timescales and the avc1 codec string from avcC", () => {
    const { init } = read(file, 4096);
    expect(init!.tracks.map((track) => track.kind)).toEqual(['video', 'audio']);
    expect(init!.tracks[1]!.timescale).toBe(48000);
    expect(init!.videoCodec).toMatch(/^avc1\.64[0-9A-F]{4}$/);
    expect(init!.bytes.subarray(4, 8).toString()).toBe('ftyp');
  });

  it('reads every fragment with its decode time, duration and whether it starts on a keyframe, whatever the chunking', () => {
    for (const chunkSize of [1000, 65536, file.length]) {
      const { fragments: all } = read(file, chunkSize);
      // FFmpeg ends with the audio that outlasts the last video frame, in a fragment of its own.
      expect(all).toHaveLength(10);
      expect(all[9]!.duration).toBeLessThan(0.1);
      const fragments = all.slice(0, 9);
      const total = fragments.reduce((sum, fragment) => sum + fragment.duration, 0);
      expect(total).toBeCloseTo(3, 5);
      fragments.forEach((fragment, index) => {
        expect(fragment.duration).toBeCloseTo(1 / 3, 5);
        expect(fragment.decodeTime).toBeCloseTo(index / 3, 5);
        // A keyframe every 30 frames: fragments 0, 3, 6 start on one.
        expect(fragment.independent).toBe(index % 3 === 0);
        expect(fragment.bytes.subarray(4, 8).toString()).toBe('moof');
      });
    }
  });

  it('refuses bytes that are not ISO-BMFF boxes', () => {
    const reader = new Fmp4Reader({ init: () => {}, fragment: () => {} });
    expect(() => reader.push(Buffer.from([0, 0, 0, 2, 1, 2, 3, 4, 5]))).toThrow(Fmp4Error);
  });
});

// The rendition ladder chosen for a source: never upscaled, bitrates by size and frame rate.
import type { SourceInfo } from '../media/source-info.ts';

export interface Rendition {
  /** e.g. "720p"; also the folder of the rendition's playlist and segments. */
  name: string;
  width: number;
  height: number;
  frameRate: number;
  videoBitrate: number;
  maxBitrate: number;
  audioBitrate: number;
  /** The source's own video, copied without re-encoding. */
  passthrough: boolean;
}

/** Reference bitrates at 30 fps (bits/s); other sizes scale with the pixel count. */
const REFERENCE_BITRATES: Record<number, number> = {
  2160: 14_000_000,
  1440: 8_000_000,
  1080: 5_000_000,
  720: 2_800_000,
  540: 1_800_000,
  480: 1_200_000,
  360: 700_000,
  240: 400_000,
};

const even = (value: number) => Math.max(2, Math.round(value / 2) * 2);

export function referenceBitrate(height: number, frameRate: number): number {
  const known = REFERENCE_BITRATES[height];
  const at30 = known ?? Math.round(((height * height * 16) / 9) * 30 * 0.08);
  // High frame rates need more bits, but not twice as many.
  const fpsFactor = frameRate > 30 ? 1.5 : 1;
  return Math.round(at30 * fpsFactor);
}

export function parseLadderHeights(ladder: string): number[] {
  return [...new Set(ladder.split(',').map((h) => Number.parseInt(h, 10)))].filter((h) => Number.isFinite(h) && h >= 144).sort((a, b) => b - a);
}

/** Rungs below this short side are not worth twice the frames: a 50/60 fps source gives them 25/30 fps. */
export const HIGH_FRAME_RATE_MIN_RUNG = 720;

/**
 * The renditions for a source. Rungs are sizes of the picture's short side, so a portrait source
 * (1080x1920) keeps its shape: 1080x1920, 720x1280, 480x854, 360x640. Never upscaled: rungs above
 * the source's short side are dropped, and a source between rungs keeps its own size on top. A high
 * frame rate source (above 30 fps) keeps its rate on rungs of 720 and up; smaller rungs get half.
 */
export function renditionLadder(source: SourceInfo, options: { heights: number[]; passthrough: boolean }): Rendition[] {
  const portrait = source.width > 0 && source.height > source.width;
  const sourceShort = even(portrait ? source.width : source.height);
  const frameRate = source.frameRate > 0 && source.frameRate <= 120 ? source.frameRate : 30;
  const top = Math.max(...options.heights);
  let rungs = options.heights.filter((h) => h <= sourceShort);
  // A source between two rungs (e.g. 900p) or below them all keeps its own size as the top rung.
  if (sourceShort <= top && !rungs.includes(sourceShort)) rungs = [sourceShort, ...rungs];
  if (sourceShort > top && rungs.length === 0) rungs = [top];
  // Long side over short side (>= 1), whichever way the picture stands.
  const elongation = source.width > 0 && source.height > 0 ? Math.max(source.width, source.height) / Math.min(source.width, source.height) : 16 / 9;

  return rungs.map((short, index) => {
    const passthrough = index === 0 && options.passthrough && source.videoCodec === 'h264' && short === sourceShort;
    const rungRate = frameRate > 30 && short < HIGH_FRAME_RATE_MIN_RUNG && !passthrough ? frameRate / 2 : frameRate;
    const videoBitrate = referenceBitrate(short, rungRate);
    const long = even(short * elongation);
    return {
      name: `${short}p`,
      width: passthrough ? source.width : portrait ? short : long,
      height: passthrough ? source.height : portrait ? long : short,
      frameRate: rungRate,
      videoBitrate,
      maxBitrate: Math.round(videoBitrate * 1.2),
      audioBitrate: short >= 480 ? 128_000 : 96_000,
      passthrough,
    };
  });
}

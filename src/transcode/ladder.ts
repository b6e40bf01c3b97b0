// The rendition ladder chosen for a source: never upscaled, bitrates by size and frame rate.

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

export interface SourceInfo {
  width: number;
  height: number;
  frameRate: number;
  videoCodec: 'h264' | 'other';
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
  return [...new Set(ladder.split(',').map((h) => Number.parseInt(h, 10)))]
    .filter((h) => Number.isFinite(h) && h >= 144)
    .sort((a, b) => b - a);
}

export function renditionLadder(
  source: SourceInfo,
  options: { heights: number[]; passthrough: boolean },
): Rendition[] {
  const sourceHeight = even(source.height);
  const frameRate = source.frameRate > 0 && source.frameRate <= 120 ? source.frameRate : 30;
  const top = Math.max(...options.heights);
  let heights = options.heights.filter((h) => h <= sourceHeight);
  // A source between two rungs (e.g. 900p) or below them all keeps its own height as the top rung.
  if (sourceHeight <= top && !heights.includes(sourceHeight)) heights = [sourceHeight, ...heights];
  if (sourceHeight > top && heights.length === 0) heights = [top];
  const aspect = source.width > 0 && source.height > 0 ? source.width / source.height : 16 / 9;

  return heights.map((height, index) => {
    const videoBitrate = referenceBitrate(height, frameRate);
    const passthrough =
      index === 0 && options.passthrough && source.videoCodec === 'h264' && height === sourceHeight;
    return {
      name: `${height}p`,
      width: passthrough ? source.width : even(height * aspect),
      height,
      frameRate,
      videoBitrate,
      maxBitrate: Math.round(videoBitrate * 1.2),
      audioBitrate: height >= 480 ? 128_000 : 96_000,
      passthrough,
    };
  });
}

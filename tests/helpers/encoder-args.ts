// FFmpeg's command line for a test source, in parts: a lavfi test pattern with a tone, encoded as an OBS-like push
// (x264 zerolatency, AAC). The tests' encoders and the benches' build their pushes from these parts.

/** Errors only, no banner: a test's log shows what went wrong and nothing else. */
export const QUIET_FFMPEG = ['-hide_banner', '-loglevel', 'error'];

/** How x264 encodes the pushed video: what an encoder's settings turn into. */
export interface X264Settings {
  /** Default ultrafast (constrained baseline); superfast and slower give High. */
  preset?: string;
  /** -profile:v (baseline, main, high); default: the preset's own choice. */
  profile?: string;
  /** Default zerolatency (no B-frames); null for x264's defaults (B-frames). */
  tune?: string | null;
  /** Video bitrate, e.g. '1500k', also the VBV cap; default: x264's CRF. */
  bitrate?: string;
  /** -level:v (e.g. '3.0', '5.1'); default: the lowest level the picture fits. */
  level?: string;
}

export interface ToneInput {
  /** Default 48000. */
  sampleRate?: number;
  /** Read in real time (-re): lavfi otherwise produces the tone as fast as it can. */
  paced?: boolean;
}

/** A 440 Hz sine as an input. */
export function toneInput({ sampleRate = 48000, paced = false }: ToneInput = {}): string[] {
  return [...(paced ? ['-re'] : []), '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${sampleRate}`];
}

export interface TestPatternInputs {
  /** testsrc2's picture size; default 1280x720. */
  size?: string;
  /** Frames per second; default 30. */
  rate?: number;
  /** A lavfi source (filter chain) in place of testsrc2, e.g. with marks drawn on it. */
  pattern?: string;
  /** The tone after the pattern (input 1); false for a silent source. */
  tone?: ToneInput | false;
}

/** Input 0: the pattern, read in real time; input 1: the tone, unless there is none. */
export function testPatternInputs({ size = '1280x720', rate = 30, pattern, tone = {} }: TestPatternInputs = {}): string[] {
  const video = ['-re', '-f', 'lavfi', '-i', pattern ?? `testsrc2=size=${size}:rate=${rate}`];
  return tone === false ? video : [...video, ...toneInput(tone)];
}

/** libx264 output options: the settings, a keyframe every `gop` frames, 4:2:0 as every player takes it. */
export function x264Args(x264: X264Settings, gop: number): string[] {
  const args = ['-c:v', 'libx264', '-preset', x264.preset ?? 'ultrafast'];
  if (x264.tune !== null) args.push('-tune', x264.tune ?? 'zerolatency');
  if (x264.profile) args.push('-profile:v', x264.profile);
  if (x264.level) args.push('-level:v', x264.level);
  if (x264.bitrate) args.push('-b:v', x264.bitrate, '-maxrate', x264.bitrate, '-bufsize', x264.bitrate);
  args.push('-g', String(gop), '-pix_fmt', 'yuv420p');
  return args;
}

/** AAC output options; `channels` folds the tone to that many (-ac). */
export function aacArgs({ bitrate = '96k', channels }: { bitrate?: string; channels?: number } = {}): string[] {
  return ['-c:a', 'aac', '-b:a', bitrate, ...(channels === undefined ? [] : ['-ac', String(channels)])];
}

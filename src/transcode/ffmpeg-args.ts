// FFmpeg command line for one transcoder run: FLV on stdin -> the whole ladder in one process, each
// rendition as fragmented MP4 on a pipe of its own, keyframes forced on segment boundaries so every
// rendition cuts at the same instants.
import type { Rendition } from './ladder.ts';

export interface LadderArgsOptions {
  renditions: Rendition[];
  hasAudio: boolean;
  segmentSeconds: number;
  /** Longest fragment (an LL-HLS part) FFmpeg writes; it also cuts one at every keyframe. */
  partSeconds: number;
  preset: string;
  /** Input options; default: FLV on stdin. */
  input?: string[];
  /** The source's frame rate: rungs below it drop frames to their own rate (default: the top rung's). */
  sourceFrameRate?: number;
}

/** Rendition i's fragmented MP4 comes out on this fd plus i (0-2 are stdin, progress and stderr). */
export const FIRST_OUTPUT_FD = 3;

const kbps = (bits: number) => `${Math.round(bits / 1000)}k`;

export function ladderArgs(options: LadderArgsOptions): string[] {
  const { renditions, hasAudio, segmentSeconds, partSeconds, preset } = options;
  const encoded = renditions.filter((r) => !r.passthrough);
  const args = ['-hide_banner', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1', ...(options.input ?? ['-f', 'flv', '-i', 'pipe:0'])];

  if (encoded.length > 0) {
    const split = `[0:v]split=${encoded.length}${encoded.map((_, i) => `[s${i}]`).join('')}`;
    const sourceRate = options.sourceFrameRate ?? Math.max(...renditions.map((r) => r.frameRate));
    const scales = encoded.map((r, i) => {
      // Rungs at a lower rate than the source (60 fps shows' small rungs) drop frames here.
      const fps = r.frameRate < sourceRate ? `,fps=${r.frameRate}` : '';
      return `[s${i}]scale=${r.width}:${r.height}:flags=bicubic${fps},format=yuv420p[v${i}]`;
    });
    args.push('-filter_complex', [split, ...scales].join(';'));
  }

  // One fragmented MP4 output per rendition, each on its own pipe (fd 3, 4, ...): a fragment every
  // `partSeconds` and at every keyframe, both tracks in each fragment, the init (empty moov) first.
  let encodedIndex = 0;
  renditions.forEach((rendition, index) => {
    args.push('-map', rendition.passthrough ? '0:v:0' : `[v${encodedIndex++}]`);
    if (hasAudio) args.push('-map', '0:a:0');
    if (rendition.passthrough) {
      args.push('-c:v', 'copy');
    } else {
      const gop = Math.max(1, Math.round(rendition.frameRate * segmentSeconds));
      args.push(
        '-c:v',
        'libx264',
        '-preset:v',
        preset,
        '-tune:v',
        'zerolatency',
        '-b:v',
        kbps(rendition.videoBitrate),
        '-maxrate:v',
        kbps(rendition.maxBitrate),
        '-bufsize:v',
        kbps(rendition.maxBitrate * 2),
        '-g:v',
        String(gop),
        '-keyint_min:v',
        String(gop),
        '-sc_threshold',
        '0',
        '-force_key_frames',
        `expr:gte(t,n_forced*${segmentSeconds})`,
        // Each source frame once, on its own timestamp: the constant-rate default duplicated a B-frame source's
        // first frame (its video starts a little after its audio), so every frame after it sat one frame late on
        // the show's timeline, and a cue showed a frame early on HLS and in the replay. vfr (not passthrough)
        // still drops a frame that repeats its predecessor's timestamp, which the MP4 muxer would refuse.
        '-fps_mode:v',
        'vfr',
      );
    }
    if (hasAudio) args.push('-c:a', 'aac', '-b:a', kbps(rendition.audioBitrate), '-ac', '2', '-ar', '48000');
    args.push(
      '-f',
      'mp4',
      '-movflags',
      '+empty_moov+default_base_moof+frag_keyframe+cmaf',
      '-frag_duration',
      String(Math.round(partSeconds * 1e6)),
      '-flush_packets',
      '1',
      `pipe:${FIRST_OUTPUT_FD + index}`,
    );
  });
  return args;
}

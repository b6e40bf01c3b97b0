// FFmpeg command line for one transcoder run: FLV on stdin -> the whole ladder as HLS in one process,
// keyframes forced on segment boundaries so every rendition cuts at the same instants.
import path from 'node:path';
import type { Rendition } from './ladder.ts';

export interface LadderArgsOptions {
  renditions: Rendition[];
  hasAudio: boolean;
  segmentSeconds: number;
  preset: string;
  /** Folder of this run; each rendition writes to <outDir>/<name>/. */
  outDir: string;
  /** Input options; default: FLV on stdin. */
  input?: string[];
  /** The source's frame rate: rungs below it drop frames to their own rate (default: the top rung's). */
  sourceFrameRate?: number;
}

const kbps = (bits: number) => `${Math.round(bits / 1000)}k`;

export function ladderArgs(options: LadderArgsOptions): string[] {
  const { renditions, hasAudio, segmentSeconds, preset, outDir } = options;
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

  const streamMap: string[] = [];
  let encodedIndex = 0;
  renditions.forEach((rendition, index) => {
    args.push('-map', rendition.passthrough ? '0:v:0' : `[v${encodedIndex++}]`);
    if (hasAudio) args.push('-map', '0:a:0');
    streamMap.push(hasAudio ? `v:${index},a:${index},name:${rendition.name}` : `v:${index},name:${rendition.name}`);
  });

  renditions.forEach((rendition, index) => {
    if (rendition.passthrough) {
      args.push(`-c:v:${index}`, 'copy');
      return;
    }
    const gop = Math.max(1, Math.round(rendition.frameRate * segmentSeconds));
    args.push(
      `-c:v:${index}`,
      'libx264',
      `-preset:v:${index}`,
      preset,
      `-tune:v:${index}`,
      'zerolatency',
      `-b:v:${index}`,
      kbps(rendition.videoBitrate),
      `-maxrate:v:${index}`,
      kbps(rendition.maxBitrate),
      `-bufsize:v:${index}`,
      kbps(rendition.maxBitrate * 2),
      `-g:v:${index}`,
      String(gop),
      `-keyint_min:v:${index}`,
      String(gop),
    );
  });
  args.push('-sc_threshold', '0', '-force_key_frames', `expr:gte(t,n_forced*${segmentSeconds})`);
  if (hasAudio) {
    renditions.forEach((rendition, index) => {
      args.push(`-c:a:${index}`, 'aac', `-b:a:${index}`, kbps(rendition.audioBitrate), `-ac:a:${index}`, '2', `-ar:a:${index}`, '48000');
    });
  }
  args.push(
    '-f',
    'hls',
    '-hls_time',
    String(segmentSeconds),
    '-hls_list_size',
    '30',
    '-hls_segment_type',
    'mpegts',
    '-hls_flags',
    'independent_segments',
    '-hls_segment_filename',
    path.join(outDir, '%v', 'seg_%06d.ts'),
    '-var_stream_map',
    streamMap.join(' '),
    path.join(outDir, '%v', 'index.m3u8'),
  );
  return args;
}

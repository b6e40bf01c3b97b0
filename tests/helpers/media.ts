// Real FFmpeg as the encoder, and ffprobe/ffmpeg to check what livecue produced.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { aacArgs, QUIET_FFMPEG, testPatternInputs, x264Args, type X264Settings } from './encoder-args.ts';

const run = promisify(execFile);

export interface Encoder {
  process: ChildProcess;
  /** Resolves with FFmpeg's exit code when the push ends. */
  exited: Promise<number | null>;
  stderr(): string;
  stop(): void;
}

/** Pushes a lavfi test pattern (with a tone) over RTMP in real time. */
export function pushRtmp(
  url: string,
  options: {
    seconds: number;
    size?: string;
    rate?: number;
    audio?: boolean | { sampleRate: number; channels: number };
    gopSeconds?: number;
    x264?: X264Settings;
  },
): Encoder {
  const rate = options.rate ?? 30;
  const audio =
    options.audio === false ? undefined : options.audio === true || options.audio === undefined ? { sampleRate: 48000, channels: 1 } : options.audio;
  const args = [...QUIET_FFMPEG, ...testPatternInputs({ size: options.size, rate, tone: audio ? { sampleRate: audio.sampleRate } : false })];
  args.push('-t', String(options.seconds), ...x264Args(options.x264 ?? {}, rate * (options.gopSeconds ?? 1)));
  if (audio) args.push(...aacArgs({ channels: audio.channels }));
  args.push('-f', 'flv', url);
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    process: child,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    stderr: () => stderr,
    stop: () => child.kill('SIGKILL'),
  };
}

export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
}

export async function probe(url: string): Promise<{ streams: ProbedStream[]; duration: number }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height:format=duration', '-of', 'json', url], {
    timeout: 30_000,
  });
  const parsed = JSON.parse(stdout) as { streams: ProbedStream[]; format: { duration?: string } };
  return { streams: parsed.streams, duration: Number(parsed.format.duration ?? 'NaN') };
}

export interface DecodedVideo {
  width: number;
  height: number;
  /** As FFmpeg names it: "High", "Main", "Constrained Baseline", ... */
  profile: string;
  frames: number;
  /** The stream's frame rate as FFmpeg reads it (r_frame_rate). */
  frameRate: number;
}

/** Decodes the first video stream of a file or URL: its size and profile, and how many frames decode. */
export async function decodeVideo(url: string): Promise<DecodedVideo> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,profile,nb_read_frames,r_frame_rate', '-of', 'json', url],
    { timeout: 60_000 },
  );
  const stream = (JSON.parse(stdout) as { streams: { width: number; height: number; profile: string; nb_read_frames: string; r_frame_rate: string }[] })
    .streams[0]!;
  const [num, den] = stream.r_frame_rate.split('/').map(Number);
  return {
    width: stream.width,
    height: stream.height,
    profile: stream.profile,
    frames: Number.parseInt(stream.nb_read_frames, 10),
    frameRate: num! / (den || 1),
  };
}

/** Decodes every frame; resolves with the number of decoded video frames, rejects on decode errors. */
export async function decodeVideoFrames(url: string): Promise<number> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', url],
    { timeout: 60_000 },
  );
  return Number.parseInt(stdout.trim(), 10);
}

/** The object key of a stored segment's init segment: <tag>-<sequence>.m4s of run N has <tag>-init-<N>.mp4 beside it. */
export function initKeyOf(segment: { objectKey: string; run: number }): string {
  return segment.objectKey.replace(/-\d+\.m4s$/, `-init-${segment.run}.mp4`);
}

/** A fragmented MP4 segment made playable on its own (init segment, then the segment), in a temporary file. */
export async function playableSegment(initUrl: string, segmentUrl: string): Promise<string> {
  const bodies = await Promise.all(
    [initUrl, segmentUrl].map(async (url) => {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      return Buffer.from(await response.arrayBuffer());
    }),
  );
  const dir = await mkdtemp(path.join(os.tmpdir(), 'livecue-segment-'));
  const file = path.join(dir, 'segment.mp4');
  await writeFile(file, Buffer.concat(bodies));
  return file;
}

/** A media playlist's first segment, playable on its own (behind its EXT-X-MAP init segment), in a temporary file. */
export async function playableFirstSegment(playlistUrl: string): Promise<string> {
  const playlist = await (await fetch(playlistUrl)).text();
  const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)?.[1];
  const segment = playlist.split('\n').find((line) => line && !line.startsWith('#'));
  if (!map || !segment) throw new Error(`${playlistUrl} lists no segment with its init segment`);
  return playableSegment(new URL(map, playlistUrl).href, new URL(segment, playlistUrl).href);
}

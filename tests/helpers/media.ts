// Real FFmpeg as the encoder, and ffprobe/ffmpeg to check what livecue produced.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Encoder {
  process: ChildProcess;
  /** Resolves with FFmpeg's exit code when the push ends. */
  exited: Promise<number | null>;
  stderr(): string;
  stop(): void;
}

/** Pushes a lavfi test pattern (with a tone) over RTMP in real time. */
export function pushRtmp(url: string, options: { seconds: number; size?: string; rate?: number; audio?: boolean; gopSeconds?: number; preset?: string }): Encoder {
  const rate = options.rate ?? 30;
  const args = ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', `testsrc2=size=${options.size ?? '1280x720'}:rate=${rate}`];
  if (options.audio !== false) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
  args.push('-t', String(options.seconds), '-c:v', 'libx264', '-preset', options.preset ?? 'ultrafast', '-tune', 'zerolatency', '-g', String(rate * (options.gopSeconds ?? 1)), '-pix_fmt', 'yuv420p');
  if (options.audio !== false) args.push('-c:a', 'aac', '-b:a', '96k');
  args.push('-f', 'flv', url);
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
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
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height:format=duration', '-of', 'json', url], { timeout: 30_000 });
  const parsed = JSON.parse(stdout) as { streams: ProbedStream[]; format: { duration?: string } };
  return { streams: parsed.streams, duration: Number(parsed.format.duration ?? 'NaN') };
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

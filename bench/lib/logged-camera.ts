// An RTMP camera like lib/rtmp-camera.ts (stamped gray band over testsrc2, x264 zerolatency, no B-frames) that also keeps the capture time of every frame by index.
import { spawn } from 'node:child_process';
import { bandHeight, stampBand } from './frame-clock.ts';

export interface LoggedCamera {
  pid: number;
  fps: number;
  /** Date.now() stamped into frame n (its capture time), by frame index. */
  readonly stamps: number[];
  maxBacklogFrames: number;
  stop(): Promise<number | null>;
}

export function startLoggedCamera(url: string, { width, height, fps }: { width: number; height: number; fps: number }): LoggedCamera {
  const band = bandHeight(height);
  const args = [
    '-hide_banner', '-loglevel', 'error',
    '-f', 'rawvideo', '-pix_fmt', 'gray', '-s', `${width}x${band}`, '-r', String(fps), '-i', 'pipe:0',
    '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-filter_complex', `testsrc2=size=${width}x${height}:rate=${fps}[bg];[bg][0:v]overlay=0:0:shortest=1,format=yuv420p[v]`,
    '-map', '[v]', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(fps), '-bf', '0',
    '-c:a', 'aac', '-b:a', '128k',
    '-shortest', '-flush_packets', '1', '-f', 'flv', url,
  ];
  const child = spawn('ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  child.stdout.resume();
  child.stdin.on('error', () => {});
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const frameBytes = width * band;
  const start = Date.now();
  const stamps: number[] = [];
  let pacing: NodeJS.Timeout | undefined;
  const camera: LoggedCamera = {
    pid: child.pid!,
    fps,
    stamps,
    maxBacklogFrames: 0,
    async stop() {
      clearTimeout(pacing);
      child.stdin.end();
      const interrupt = setTimeout(() => child.kill('SIGINT'), 3000);
      const kill = setTimeout(() => child.kill('SIGKILL'), 6000);
      const code = await exited;
      clearTimeout(interrupt);
      clearTimeout(kill);
      if (code !== 0 && stderr.trim()) console.error(`camera exited ${code}: ${stderr.trim().slice(-300)}`);
      return code;
    },
  };
  const pump = () => {
    // Frames are due by the wall clock; a late timer writes the frames it owes, each stamped when written.
    const due = Math.floor(((Date.now() - start) * fps) / 1000) + 1;
    while (stamps.length < due && child.stdin.writable) {
      const now = Date.now();
      child.stdin.write(stampBand(now, width, height));
      stamps.push(now);
    }
    camera.maxBacklogFrames = Math.max(camera.maxBacklogFrames, Math.floor(child.stdin.writableLength / frameBytes));
    pacing = setTimeout(pump, Math.max(1, start + (stamps.length * 1000) / fps - Date.now()));
  };
  pump();
  return camera;
}

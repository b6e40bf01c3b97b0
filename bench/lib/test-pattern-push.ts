// The simplest live source: FFmpeg pushes a lavfi test pattern (with a tone) over RTMP in real time, until stopped.
// No frame stamps and no Node work per frame (unlike lib/stamped-camera.ts), so the bench's process does not pace it.
import { spawn } from 'node:child_process';
import { aacArgs, QUIET_FFMPEG, testPatternInputs, x264Args } from '../../tests/helpers/encoder-args.ts';

export interface TestPatternPush {
  pid: number;
  stop(): Promise<number | null>;
}

export function pushTestPattern(url: string, { size = '640x360', fps = 30 }: { size?: string; fps?: number } = {}): TestPatternPush {
  const inputs = testPatternInputs({ size, rate: fps, tone: { paced: true } });
  const args = [...QUIET_FFMPEG, ...inputs, ...x264Args({}, fps), '-bf', '0', ...aacArgs(), '-f', 'flv', url];
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGINT');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(kill);
      if (code !== 0 && code !== 255 && stderr.trim()) console.error(`test pattern push exited ${code}: ${stderr.trim().slice(-300)}`);
      return code;
    },
  };
}

// The benches' own decoding: FFmpeg fed a buffer on stdin, run under `nice` so that it takes as little CPU as
// possible from the livecue transcoder being measured on the same cores.
import { spawn } from 'node:child_process';

/** Runs `ffmpeg -hide_banner <args>` at nice 10 with `input` on stdin; resolves with its stdout and stderr, rejects unless it exits 0. */
export function nicedFfmpeg(args: string[], input?: Buffer): Promise<{ stdout: Buffer; stderr: string }> {
  const child = spawn('nice', ['-n', '10', 'ffmpeg', '-hide_banner', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve({ stdout: Buffer.concat(chunks), stderr }) : reject(new Error(`ffmpeg exited ${code}: ${stderr.slice(-300)}`)),
    );
  });
}

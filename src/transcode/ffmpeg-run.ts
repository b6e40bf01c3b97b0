// One FFmpeg process of a transcoder: FLV in on stdin, HLS files out, progress on stdout.
// It reports each finished segment of each rendition by polling FFmpeg's own media playlists.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.ts';
import { spawnOwned } from '../owned-process.ts';
import { TypedEmitter } from '../typed-emitter.ts';
import { parseMediaPlaylist } from './playlist.ts';

export interface FinishedSegment {
  rendition: string;
  file: string;
  duration: number;
}

export type FfmpegRunEvents = {
  segment: [FinishedSegment];
  progress: [{ speed: number; outTimeSeconds: number }];
  /** The process ended on its own (crash, kill, bad input), not through stop(). */
  died: [{ code: number | null; signal: NodeJS.Signals | null; stderr: string }];
  /** The process is gone and every segment it wrote has been reported. */
  exited: [];
};

const POLL_MS = 150;
const STOP_TIMEOUT_MS = 5000;
/** FFmpeg input queued beyond this is dropped until the next keyframe rather than held in memory. */
export const MAX_STDIN_BACKLOG_BYTES = 32 * 1024 * 1024;

export class FfmpegRun extends TypedEmitter<FfmpegRunEvents> {
  readonly pid: number;
  readonly startedAt = Date.now();
  #child: ChildProcessWithoutNullStreams;
  #renditions: string[];
  #outDir: string;
  #reported = new Map<string, number>();
  #poller: NodeJS.Timeout;
  #stopping = false;
  #exited: Promise<void>;
  #stderrTail = '';

  private constructor(child: ChildProcessWithoutNullStreams, outDir: string, renditions: string[], private readonly logger: Logger) {
    super((error, event) => logger.error({ err: error, event }, 'ffmpeg run listener threw'));
    this.#child = child;
    this.pid = child.pid!;
    this.#outDir = outDir;
    this.#renditions = renditions;
    this.#poller = setInterval(() => this.#poll(), POLL_MS);
    child.stdin.on('error', () => {
      // EPIPE after FFmpeg died: the exit handler reports it.
    });
    let progressBuffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      progressBuffer += chunk.toString();
      let end: number;
      while ((end = progressBuffer.indexOf('progress=')) !== -1) {
        const lineEnd = progressBuffer.indexOf('\n', end);
        if (lineEnd === -1) break;
        const block = progressBuffer.slice(0, lineEnd);
        progressBuffer = progressBuffer.slice(lineEnd + 1);
        const speed = Number.parseFloat(/speed=\s*([\d.]+)x/.exec(block)?.[1] ?? 'NaN');
        const outTime = Number.parseInt(/out_time_us=(\d+)/.exec(block)?.[1] ?? 'NaN', 10);
        if (Number.isFinite(speed)) this.emit('progress', { speed, outTimeSeconds: outTime / 1e6 });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      this.#stderrTail = (this.#stderrTail + text).slice(-2000);
      for (const line of text.split('\n')) if (line.trim()) logger.warn({ pid: this.pid }, `ffmpeg: ${line.trim()}`);
    });
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        clearInterval(this.#poller);
        this.#poll();
        if (!this.#stopping) {
          this.emit('died', { code, signal, stderr: this.#stderrTail });
        }
        this.emit('exited');
        resolve();
      });
    });
  }

  static async start(options: {
    ffmpegPath: string;
    args: string[];
    outDir: string;
    renditions: string[];
    logger: Logger;
  }): Promise<FfmpegRun> {
    for (const name of options.renditions) mkdirSync(path.join(options.outDir, name), { recursive: true });
    // Its own process group: on Ctrl-C livecue ends its input itself, so the last segment is whole.
    // FFmpeg reads its stdin for keyboard commands unless it is the input: in a session of its own, a pulled run (RTP
    // described by an SDP file) that did so never produced a segment. -nostdin unless the media comes in on stdin.
    const args = options.args.includes('pipe:0') ? options.args : ['-nostdin', ...options.args];
    const child = spawnOwned(options.ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe'] }) as ChildProcessWithoutNullStreams;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'ENOENT' ? new Error(`ffmpeg not found at "${options.ffmpegPath}": install it (apt-get install ffmpeg) or set FFMPEG_PATH`) : error),
      );
    });
    const logger = options.logger.child({ pid: child.pid });
    logger.info({ renditions: options.renditions }, 'ffmpeg started');
    return new FfmpegRun(child, options.outDir, options.renditions, logger);
  }

  get backlogBytes(): number {
    return this.#child.stdin.writableLength;
  }

  write(data: Buffer): void {
    if (!this.#child.stdin.writable) return;
    this.#child.stdin.write(data);
  }

  /** Ends the input: FFmpeg writes its last segment and exits. */
  /** Kills a run that is stuck: it dies (`died`), so its owner restarts it as after a crash. */
  abort(): void {
    this.#child.kill('SIGKILL');
  }

  endInput(): void {
    this.#stopping = true;
    if (this.#child.stdin.writable) this.#child.stdin.end();
  }

  /** Graceful stop: end input, wait, then SIGTERM and SIGKILL if FFmpeg lingers. */
  async stop(timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
    this.endInput();
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return this.#exited;
    const term = setTimeout(() => this.#child.kill('SIGTERM'), timeoutMs);
    const kill = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs * 2);
    await this.#exited;
    clearTimeout(term);
    clearTimeout(kill);
  }

  /** Reports segments that FFmpeg has finished and listed since the last poll. */
  #poll(): void {
    for (const rendition of this.#renditions) {
      let text: string;
      try {
        text = readFileSync(path.join(this.#outDir, rendition, 'index.m3u8'), 'utf8');
      } catch {
        continue;
      }
      const { segments } = parseMediaPlaylist(text);
      const reported = this.#reported.get(rendition) ?? 0;
      // FFmpeg numbers segments seg_000000, seg_000001, ... so the index tells what is new.
      for (const segment of segments) {
        const index = Number.parseInt(/(\d+)\.ts$/.exec(segment.uri)?.[1] ?? '-1', 10);
        if (index < reported) continue;
        this.#reported.set(rendition, index + 1);
        this.emit('segment', { rendition, file: path.join(this.#outDir, rendition, segment.uri), duration: segment.duration });
      }
    }
  }
}

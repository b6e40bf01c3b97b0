// One FFmpeg child process, owned: spawned in a process group of its own (src/owned-process.ts),
// usable once the caller's readiness signal says so, its stderr logged line by line with context,
// its progress (-progress pipe:1) reported, stopped by ending its input, then SIGTERM, then SIGKILL.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Logger } from '../log.ts';
import { spawnOwned } from '../owned-process.ts';
import { TypedEmitter } from '../contract/typed-emitter.ts';

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last STDERR_TAIL_CHARS characters FFmpeg wrote to stderr. */
  stderr: string;
}

export type FfmpegProcessEvents = {
  progress: [{ speed: number; outTimeSeconds: number }];
  /** The process ended on its own (crash, kill, bad input, lost output), not through close(). */
  died: [FfmpegExit];
  /** The process is gone, whichever way it ended. */
  exited: [FfmpegExit];
};

export interface FfmpegProcessOptions {
  ffmpegPath: string;
  args: string[];
  /** Carries the caller's context (stream, run, target); the process adds its pid. */
  logger: Logger;
  /**
   * Resolves once the process may be used: the caller's readiness signal. Default: it has spawned.
   * When it rejects, the process is closed and start() rejects with its error.
   */
  ready?: (process: FfmpegProcess) => Promise<void>;
  /** close(): time FFmpeg gets to finish after its input ends before SIGTERM, and as long again before SIGKILL. */
  stopTimeoutMs?: number;
  /** Extra pipes FFmpeg writes to (fds 3, 4, ...: `pipe:3` in its arguments), read through `outputs`. */
  outputPipes?: number;
}

/** FFmpeg's stderr kept for the `died` report: its last error is near the end. */
export const STDERR_TAIL_CHARS = 2000;
export const DEFAULT_STOP_TIMEOUT_MS = 5000;

export class FfmpegProcess extends TypedEmitter<FfmpegProcessEvents> {
  readonly pid: number;
  readonly startedAt = Date.now();
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #logger: Logger;
  readonly #stopTimeoutMs: number;
  readonly #exited: Promise<FfmpegExit>;
  /** The extra output pipes (fd 3 first), in the order FfmpegProcessOptions.outputPipes opened them. */
  readonly outputs: Readable[];
  #stderrTail = '';
  /** The -progress block being read: key=value lines, ending with progress=continue|end. */
  #progress: Record<string, string> = {};
  #closing?: Promise<void>;

  private constructor(child: ChildProcessWithoutNullStreams, logger: Logger, stopTimeoutMs: number) {
    super((error, event) => logger.error({ err: error, event }, 'ffmpeg listener threw'));
    this.#child = child;
    this.pid = child.pid!;
    this.#logger = logger;
    this.#stopTimeoutMs = stopTimeoutMs;
    this.outputs = (child.stdio as unknown as (Readable | null)[]).slice(3).filter((pipe): pipe is Readable => pipe !== null);
    for (const output of this.outputs) output.on('error', (error) => logger.warn({ err: error }, 'ffmpeg output pipe error'));
    child.stdin.on('error', () => {
      // EPIPE after FFmpeg died: the exit handler reports it.
    });
    child.on('error', (error) => logger.warn({ err: error }, 'ffmpeg process error'));
    child.stdout.on('data', lineReader((line) => this.#progressLine(line)).push);
    const stderr = lineReader((line) => this.#stderrLine(line));
    child.stderr.on('data', stderr.push);
    this.#exited = new Promise((resolve) => {
      // 'close', not 'exit': by then all of stderr has been read, so the report holds FFmpeg's last words.
      child.once('close', (code, signal) => {
        stderr.flush();
        const exit = { code, signal, stderr: this.#stderrTail };
        if (!this.#closing) this.emit('died', exit);
        this.emit('exited', exit);
        resolve(exit);
      });
    });
  }

  /** Spawns FFmpeg and resolves once it is ready (see FfmpegProcessOptions.ready). */
  static async start(options: FfmpegProcessOptions): Promise<FfmpegProcess> {
    // FFmpeg reads its stdin for keyboard commands unless it is the input: in a session of its own, a pulled run (RTP
    // described by an SDP file) that did so never produced a segment. -nostdin unless the media comes in on stdin.
    const args = options.args.includes('pipe:0') ? options.args : ['-nostdin', ...options.args];
    const extraPipes: 'pipe'[] = Array.from({ length: options.outputPipes ?? 0 }, () => 'pipe');
    const child = spawnOwned(options.ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe', ...extraPipes] }) as ChildProcessWithoutNullStreams;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'ENOENT' ? new Error(`ffmpeg not found at "${options.ffmpegPath}": install it (apt-get install ffmpeg) or set FFMPEG_PATH`) : error,
        ),
      );
    });
    const logger = options.logger.child({ pid: child.pid });
    const process = new FfmpegProcess(child, logger, options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
    if (options.ready) {
      try {
        await options.ready(process);
      } catch (error) {
        await process.close();
        throw error;
      }
    }
    logger.info('ffmpeg started');
    return process;
  }

  /** Bytes written to FFmpeg's stdin that it has not read yet. */
  get backlogBytes(): number {
    return this.#child.stdin.writableLength;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Resolves when the process is gone, with how it ended. */
  get exited(): Promise<FfmpegExit> {
    return this.#exited;
  }

  write(data: Buffer): void {
    if (this.#closing || !this.#child.stdin.writable) return;
    this.#child.stdin.write(data);
  }

  /** Kills a process that is stuck: it dies (`died`), so its owner treats it as a crash. */
  abort(): void {
    if (!this.#closing) this.#child.kill('SIGKILL');
  }

  /**
   * Stops FFmpeg: its input ends (so an HLS run writes its last segment), then SIGTERM if it lingers,
   * then SIGKILL. Every caller awaits the one stop.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#child.stdin.writable) this.#child.stdin.end();
      if (!this.running) return void (await this.#exited);
      const term = setTimeout(() => this.#child.kill('SIGTERM'), this.#stopTimeoutMs);
      const kill = setTimeout(() => {
        this.#logger.warn({ waitedMs: this.#stopTimeoutMs * 2 }, 'ffmpeg ignored SIGTERM; killing it');
        this.#child.kill('SIGKILL');
      }, this.#stopTimeoutMs * 2);
      await this.#exited;
      clearTimeout(term);
      clearTimeout(kill);
    })();
    return this.#closing;
  }

  #stderrLine(line: string): void {
    this.#stderrTail = (this.#stderrTail + line + '\n').slice(-STDERR_TAIL_CHARS);
    if (line.trim()) this.#logger.warn(`ffmpeg: ${line.trim()}`);
  }

  #progressLine(line: string): void {
    const equals = line.indexOf('=');
    if (equals === -1) return;
    const key = line.slice(0, equals).trim();
    this.#progress[key] = line.slice(equals + 1).trim();
    if (key !== 'progress') return;
    const block = this.#progress;
    this.#progress = {};
    const speed = Number.parseFloat(/^([\d.]+)x$/.exec(block.speed ?? '')?.[1] ?? 'NaN');
    const outTime = Number.parseInt(block.out_time_us ?? 'NaN', 10);
    if (Number.isFinite(speed)) this.emit('progress', { speed, outTimeSeconds: outTime / 1e6 });
  }
}

/** Hands on whole lines of a stream read in chunks (a chunk may end inside a line). */
function lineReader(onLine: (line: string) => void): { push(chunk: Buffer): void; flush(): void } {
  let pending = '';
  return {
    push(chunk) {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) onLine(line);
    },
    flush() {
      if (pending) onLine(pending);
      pending = '';
    },
  };
}

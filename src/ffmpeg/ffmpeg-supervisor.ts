// The FFmpeg a long-lived owner keeps running (a show's transcoder, its RTMP -> SFU bridge, a
// restream target): one process at a time, started when the owner asks (at a keyframe) but never
// before the backoff of its last failure is over, stopped when the input ends, given up on after
// too many failures. The owner's RestartPolicy says how long to wait and when to give up.
import type { Logger } from '../log.ts';
import { TypedEmitter } from '../contract/typed-emitter.ts';
import type { FfmpegExit, FfmpegProcess } from './ffmpeg-process.ts';

export interface RestartPolicy {
  /** The wait before the next start after `failures` failures in a row (1 for the first). */
  backoffMs(failures: number): number;
  /** After more failures than this the supervisor gives up (`gaveUp`) and closes. Default: never. */
  maxFailures?: number;
  /** A failure this long after the run was reported healthy() starts the count over. Default: never. */
  stableAfterMs?: number;
  /** A start that throws waits this long and is no failure; default: it counts as one. */
  startErrorDelayMs?: number;
  /** Writes kept while FFmpeg starts and written after its first input; 0 drops them. */
  writesKeptWhileStarting?: number;
}

export type FfmpegSupervisorEvents = {
  /** The running FFmpeg ended on its own; the next start waits `retryInMs`. */
  died: [FfmpegExit & { failures: number; retryInMs: number }];
  /** More failures than the policy allows: the supervisor has closed. */
  gaveUp: [{ failures: number }];
};

/** A launch: spawns the FFmpeg (after any preparation), or returns undefined if `signal` aborted meanwhile. */
export type Launch = (signal: AbortSignal) => Promise<FfmpegProcess | undefined>;

export class FfmpegSupervisor extends TypedEmitter<FfmpegSupervisorEvents> {
  #current?: FfmpegProcess;
  /** Aborted when the input ends or the supervisor closes during a start. */
  #launching?: AbortController;
  #keptWhileStarting: Buffer[] = [];
  #failures = 0;
  #notBefore = 0;
  #healthySince?: number;
  #retryTimer?: NodeJS.Timeout;
  /** Stops under way: close() waits for them all (an HLS run's last segment is still being written). */
  readonly #stopping = new Set<Promise<void>>();
  #closed = false;
  #closing?: Promise<void>;

  constructor(
    private readonly policy: RestartPolicy,
    logger: Logger,
  ) {
    super((error, event) => logger.error({ err: error, event }, 'ffmpeg supervisor listener threw'));
  }

  /** The FFmpeg running now. */
  get current(): FfmpegProcess | undefined {
    return this.#current;
  }

  get starting(): boolean {
    return this.#launching !== undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Failures in a row (never reset without a stableAfterMs policy). */
  get failures(): number {
    return this.#failures;
  }

  /** How long the next start still has to wait. */
  get retryInMs(): number {
    return Math.max(0, this.#notBefore - Date.now());
  }

  /** Whether start() would start now: nothing running or starting, the backoff over, not closed. */
  get canStart(): boolean {
    return !this.#closed && !this.#current && !this.#launching && Date.now() >= this.#notBefore;
  }

  /**
   * Starts FFmpeg through `launch`, writes `firstInput` to it, then what was written while it started.
   * Resolves with the process, or undefined when the input ended or the supervisor closed meanwhile.
   * A launch that throws rejects after the policy's wait was applied.
   */
  async start(launch: Launch, firstInput: Buffer[] = []): Promise<FfmpegProcess | undefined> {
    if (!this.canStart) return undefined;
    const launching = (this.#launching = new AbortController());
    this.#keptWhileStarting = [];
    try {
      const process = await launch(launching.signal);
      if (!process) return undefined;
      if (launching.signal.aborted) {
        void this.#track(process.close());
        return undefined;
      }
      this.#current = process;
      process.once('died', (exit) => this.#died(process, exit));
      for (const data of [...firstInput, ...this.#keptWhileStarting]) process.write(data);
      return process;
    } catch (error) {
      if (this.policy.startErrorDelayMs !== undefined) this.#notBefore = Date.now() + this.policy.startErrorDelayMs;
      else this.#countFailure();
      throw error;
    } finally {
      if (this.#launching === launching) this.#launching = undefined;
      this.#keptWhileStarting = [];
    }
  }

  /** Writes to the running FFmpeg's stdin; while one starts, keeps what the policy allows. */
  write(data: Buffer): void {
    if (this.#current) return this.#current.write(data);
    if (this.#launching && this.#keptWhileStarting.length < (this.policy.writesKeptWhileStarting ?? 0)) this.#keptWhileStarting.push(data);
  }

  /** The running FFmpeg does its job (a restream reached its platform): a failure long after starts the count over. */
  healthy(): void {
    this.#healthySince = Date.now();
  }

  /**
   * Calls `retry` once the backoff is over: for a source no keyframe will restart (FFmpeg reads it
   * itself). stop() and close() cancel it.
   */
  retryAfterBackoff(retry: () => void): void {
    clearTimeout(this.#retryTimer);
    // Re-checked when it fires: a timer may fire a millisecond before Date.now() reaches the deadline.
    this.#retryTimer = setTimeout(() => (Date.now() < this.#notBefore ? this.retryAfterBackoff(retry) : retry()), this.retryInMs);
  }

  /** The input ended: the running FFmpeg finishes and stops, a start under way is abandoned. The next start may come at once. */
  stop(): Promise<void> {
    clearTimeout(this.#retryTimer);
    this.#launching?.abort();
    const current = this.#current;
    this.#current = undefined;
    return current ? this.#track(current.close()) : Promise.resolve();
  }

  /** The owner judged the run failed (its output backed up): it is stopped, and the next start waits the backoff. */
  fail(): void {
    void this.stop();
    this.#countFailure();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await this.stop();
      await Promise.all(this.#stopping);
    })();
    return this.#closing;
  }

  #died(process: FfmpegProcess, exit: FfmpegExit): void {
    if (this.#current !== process) return;
    this.#current = undefined;
    if (this.#closed) return;
    this.#countFailure();
    this.emit('died', { ...exit, failures: this.#failures, retryInMs: this.retryInMs });
    const { maxFailures } = this.policy;
    if (maxFailures !== undefined && this.#failures > maxFailures) {
      void this.close();
      this.emit('gaveUp', { failures: this.#failures });
    }
  }

  #countFailure(): void {
    const { stableAfterMs } = this.policy;
    if (stableAfterMs !== undefined && this.#healthySince !== undefined && Date.now() - this.#healthySince >= stableAfterMs) this.#failures = 0;
    this.#healthySince = undefined;
    this.#failures++;
    this.#notBefore = Date.now() + this.policy.backoffMs(this.#failures);
  }

  #track(stopped: Promise<void>): Promise<void> {
    this.#stopping.add(stopped);
    void stopped.finally(() => this.#stopping.delete(stopped)).catch(() => {});
    return stopped;
  }
}

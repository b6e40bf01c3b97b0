// The pool of mediasoup workers (one per core by default). A worker that dies is replaced at once;
// the rooms on it hear `workerDied` and re-home themselves.
import { existsSync } from 'node:fs';
import { homedir, cpus } from 'node:os';
import path from 'node:path';
import type { types } from 'mediasoup';
import type { Logger } from '../log.ts';
import { OWN_SESSION_TARGET_ENV, OWN_SESSION_WRAPPER, ownSessionCommand } from '../owned-process.ts';
import { TypedEmitter } from '../contract/typed-emitter.ts';
import { SFU_MEDIA_CODECS } from './codecs.ts';

export const MEDIASOUP_VERSION = '3.19.3';

export type Mediasoup = typeof import('mediasoup');

/** Where scripts/build-mediasoup-worker.sh caches the worker it builds. */
export function cachedWorkerBinary(): string {
  const cacheDir = process.env.LIVECUE_CACHE_DIR ?? path.join(homedir(), '.cache', 'livecue');
  return path.join(cacheDir, `mediasoup-worker-${MEDIASOUP_VERSION}`, 'mediasoup-worker');
}

/**
 * mediasoup reads MEDIASOUP_WORKER_BIN when it is first loaded, so it is set before the import. It
 * names the own-session wrapper, which execs the real worker out of the terminal's process group.
 */
export async function loadMediasoup(workerBinary?: string): Promise<Mediasoup> {
  const requested = workerBinary || process.env.MEDIASOUP_WORKER_BIN || cachedWorkerBinary();
  // A child of a livecue process inherits the wrapper as MEDIASOUP_WORKER_BIN: the target is the worker.
  const binary = path.resolve(requested) === OWN_SESSION_WRAPPER ? (process.env[OWN_SESSION_TARGET_ENV] ?? cachedWorkerBinary()) : requested;
  if (!existsSync(binary)) {
    throw new Error(`mediasoup-worker not found at ${binary}: run scripts/build-mediasoup-worker.sh or set MEDIASOUP_WORKER_BIN`);
  }
  const { command, env } = ownSessionCommand(binary);
  Object.assign(process.env, env);
  process.env.MEDIASOUP_WORKER_BIN = command;
  return import('mediasoup');
}

export type WorkerPoolEvents = {
  workerDied: [types.Worker];
};

export class WorkerPool extends TypedEmitter<WorkerPoolEvents> {
  #workers: types.Worker[] = [];
  #next = 0;
  #closed = false;
  #stopping = false;
  #load = new Map<types.Worker, number>();
  /** What every router of the pool accepts (they all use SFU_MEDIA_CODECS). */
  routerCapabilities!: types.RtpCapabilities;

  private constructor(
    private readonly mediasoup: Mediasoup,
    private readonly logger: Logger,
    private readonly settings: { minPort: number; maxPort: number },
  ) {
    super((error, event) => logger.error({ err: error, event }, 'worker pool listener threw'));
  }

  static async create(options: { mediasoup: Mediasoup; size?: number; logger: Logger; minPort: number; maxPort: number }): Promise<WorkerPool> {
    const pool = new WorkerPool(options.mediasoup, options.logger.child({ component: 'sfu' }), options);
    const size = options.size ?? Math.max(1, cpus().length);
    for (let i = 0; i < size; i++) pool.#workers.push(await pool.#spawn());
    const reference = await pool.#workers[0]!.createRouter({ mediaCodecs: SFU_MEDIA_CODECS });
    pool.routerCapabilities = reference.rtpCapabilities;
    reference.close();
    return pool;
  }

  get workers(): readonly types.Worker[] {
    return this.#workers;
  }

  /** The least loaded worker, optionally avoiding some (to spread a room's routers). */
  pick(avoid: types.Worker[] = []): types.Worker {
    const candidates = this.#workers.filter((worker) => !avoid.includes(worker));
    const pool = candidates.length > 0 ? candidates : this.#workers;
    let best = pool[this.#next++ % pool.length]!;
    for (const worker of pool) if ((this.#load.get(worker) ?? 0) < (this.#load.get(best) ?? 0)) best = worker;
    return best;
  }

  /** Routers are counted per worker so new rooms go where there is room. */
  addLoad(worker: types.Worker, delta: number): void {
    this.#load.set(worker, (this.#load.get(worker) ?? 0) + delta);
  }

  /**
   * The node is stopping: a worker that dies from now on is not replaced (its rooms close with the
   * node). The workers themselves are closed last, by close(), after the rooms on them.
   */
  stopReplacing(): void {
    this.#stopping = true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const worker of this.#workers) worker.close();
    this.#workers = [];
  }

  async #spawn(): Promise<types.Worker> {
    const worker = await this.mediasoup.createWorker({
      logLevel: 'warn',
      rtcMinPort: this.settings.minPort,
      rtcMaxPort: this.settings.maxPort,
    });
    this.#load.set(worker, 0);
    worker.on('died', (error) => void this.#died(worker, error));
    this.logger.info({ pid: worker.pid }, 'mediasoup worker started');
    return worker;
  }

  async #died(worker: types.Worker, error: Error): Promise<void> {
    this.#workers = this.#workers.filter((w) => w !== worker);
    this.#load.delete(worker);
    if (this.#closed || this.#stopping) {
      this.logger.warn({ pid: worker.pid, err: error }, 'mediasoup worker died while the node stops; not replacing it');
      return;
    }
    this.logger.error({ pid: worker.pid, err: error }, 'mediasoup worker died; replacing it');
    try {
      this.#workers.push(await this.#spawn());
    } catch (spawnError) {
      this.logger.error({ err: spawnError }, 'cannot replace the mediasoup worker');
    }
    this.emit('workerDied', worker);
  }
}

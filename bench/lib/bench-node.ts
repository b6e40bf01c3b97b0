// What every bench needs to run livecue in-process: its configuration (embedded defaults, loopback
// ports chosen by the system, silent logs), a node on a temp data dir, and knowing when a show is live.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLivecue, type Livecue } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log.ts';
import { newAdminToken } from '../../src/streams/stream-keys.ts';

interface BenchConfigOptions {
  dataDir: string;
  tunable: readonly string[];
  settings?: Record<string, unknown>;
  forced?: Record<string, unknown>;
}

/** A number the environment may set (BENCH_*), or the bench's default. */
export const envNumber = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

/** A comma-separated list the environment may set (which parts run, say), or the bench's default. */
export const envList = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',');

/** A comma-separated list of positive numbers (steps, rates); an empty list skips what it drives. */
export const envNumbers = (name: string, fallback: string) =>
  envList(name, fallback)
    .map(Number)
    .filter((n) => n > 0);

/** The benches' source picture: BENCH_WIDTH x BENCH_HEIGHT at BENCH_FPS, 640x360 at 30 unless set. */
export const sourceFromEnv = () => ({ width: envNumber('BENCH_WIDTH', 640), height: envNumber('BENCH_HEIGHT', 360), fps: envNumber('BENCH_FPS', 30) });

/** The tunable options the environment sets, as given (for the results' record). */
export function tunedFromEnv(tunable: readonly string[]): Record<string, string> {
  return Object.fromEntries(tunable.filter((key) => process.env[key] !== undefined).map((key) => [key, process.env[key]!]));
}

/**
 * `settings` are the bench's own defaults, which the environment may override for the `tunable`
 * keys; `forced` always wins (what the bench measures must not be changed from outside).
 */
export function benchConfig(options: BenchConfigOptions): Config {
  const tuned = tunedFromEnv(options.tunable);
  return parseConfig({
    PORT: 0,
    RTMP_PORT: 0,
    HOST: '127.0.0.1',
    RTMP_HOST: '127.0.0.1',
    LIVECUE_DATA_DIR: options.dataDir,
    // Given, so livecue does not print a generated token in the middle of the results.
    LIVECUE_ADMIN_TOKEN: newAdminToken(),
    LOG_LEVEL: 'silent',
    ...options.settings,
    ...tuned,
    ...options.forced,
  });
}

/** Resolves once the SFU has the stream's video producer: the show is live. */
export async function waitForProducer(node: Livecue, streamId: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!node.registry.get(streamId)?.room.producer('video')) {
    if (Date.now() > deadline) throw new Error(`no video producer for ${streamId} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** livecue in this process on a fresh temp data dir, configured by benchConfig; close() stops it and deletes the dir. */
export class BenchNode {
  #closing?: Promise<void>;

  private constructor(
    readonly node: Livecue,
    readonly config: Config,
    readonly dataDir: string,
  ) {}

  static async start(options: Omit<BenchConfigOptions, 'dataDir'> & { dirPrefix?: string }): Promise<BenchNode> {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), options.dirPrefix ?? 'livecue-bench-'));
    try {
      const config = benchConfig({ ...options, dataDir });
      return new BenchNode(await startLivecue(config, { logger: createLogger('silent') }), config, dataDir);
    } catch (error) {
      await rm(dataDir, { recursive: true, force: true });
      throw error;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.node.close();
      await rm(this.dataDir, { recursive: true, force: true });
    })();
    return this.#closing;
  }
}

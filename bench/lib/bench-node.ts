// What every bench needs to run livecue in-process: its configuration (embedded defaults, loopback
// ports chosen by the system, silent logs) and the machine it ran on, for the results.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Livecue } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { newAdminToken } from '../../src/streams/stream-keys.ts';

export function ffmpegVersion(): string {
  try {
    return execFileSync('ffmpeg', ['-version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
  } catch {
    return 'unknown';
  }
}

/**
 * `settings` are the bench's own defaults, which the environment may override for the `tunable`
 * keys; `forced` always wins (what the bench measures must not be changed from outside).
 */
/** The machine a result was measured on, with the load before and after (results are noisy otherwise). */
export function machineInfo(loadavgStart: number[], loadavgEnd = os.loadavg(), extra: Record<string, unknown> = {}) {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model,
    loadavgStart,
    loadavgEnd,
    ...extra,
    totalMemoryMb: Math.round(os.totalmem() / 2 ** 20),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
    ffmpeg: ffmpegVersion(),
  };
}

/** The tunable options the environment sets, as given (for the results' record). */
export function tunedFromEnv(tunable: readonly string[]): Record<string, string> {
  return Object.fromEntries(tunable.filter((key) => process.env[key] !== undefined).map((key) => [key, process.env[key]!]));
}

export function benchConfig(options: { dataDir: string; tunable: readonly string[]; settings?: Record<string, unknown>; forced?: Record<string, unknown> }): Config {
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

// What every bench needs to run livecue in-process: its configuration (embedded defaults, loopback
// ports chosen by the system, silent logs), and knowing when a show is live.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Livecue } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { newAdminToken } from '../../src/streams/stream-keys.ts';

/** The tunable options the environment sets, as given (for the results' record). */
export function tunedFromEnv(tunable: readonly string[]): Record<string, string> {
  return Object.fromEntries(tunable.filter((key) => process.env[key] !== undefined).map((key) => [key, process.env[key]!]));
}

/**
 * `settings` are the bench's own defaults, which the environment may override for the `tunable`
 * keys; `forced` always wins (what the bench measures must not be changed from outside).
 */
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

// Entry point (`node dist/main.js`, what the image and `npm start` run). Reads the configuration from
// the environment and runs a livecue node until SIGINT, SIGTERM or SIGHUP. SIGTERM (Kubernetes)
// drains first: no new shows or viewers, viewers told to move, up to DRAIN_SECONDS for the shows to
// end; then sessions flush their last segments, queue their recordings, and it exits 0.
// ROLE=worker runs only the queue workers (as `npm run worker`).
import { startLivecue } from './app.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { createLogger } from './log.ts';
import { installStopSignals } from './stop-signals.ts';

/** Closing every part (sessions flushing their last segments included) gets this long after the drain. */
const CLOSE_TIMEOUT_MS = 90_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`livecue: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  if (config.ROLE === 'worker') {
    await import('./worker-main.ts');
    return;
  }
  // Signals are taken from the start: a Ctrl-C while livecue starts waits for the start, then stops it
  // (its children run in their own process groups and would otherwise outlive it).
  const logger = createLogger(config.LOG_LEVEL);
  const starting = startLivecue(config, { logger });
  installStopSignals({
    logger,
    forceAfterMs: (signal) => CLOSE_TIMEOUT_MS + (signal === 'SIGTERM' ? config.DRAIN_SECONDS * 1000 : 0),
    stop: async (signal) => {
      const livecue = await starting.catch(() => undefined);
      if (!livecue) return;
      if (signal === 'SIGTERM') await livecue.drain();
      await livecue.close();
    },
  });
  const livecue = await starting;
  process.stdout.write(
    `\nlivecue is running\n  API and HLS: ${livecue.urls.api}\n  RTMP ingest: ${livecue.urls.rtmp}/<streamKey>\n  OpenAPI:     ${livecue.urls.api}/openapi.json\n  Listening:   ${config.HOST}:${livecue.httpPort}\n\n`,
  );
}

main().catch((error: Error) => {
  console.error(`livecue failed to start: ${error.message}`);
  process.exit(1);
});

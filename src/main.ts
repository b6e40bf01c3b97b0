// Entry point: `npm start`. Reads the configuration from the environment and runs a livecue node
// until SIGINT/SIGTERM. SIGTERM (Kubernetes) drains first: no new shows or viewers, viewers told to
// move, up to DRAIN_SECONDS for the shows to end; then sessions flush their last segments and it exits.
// ROLE=worker runs only the queue workers (as `npm run worker`).
import { startLivecue } from './app.ts';
import { ConfigError, loadConfig } from './config/load.ts';

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
  const livecue = await startLivecue(config);
  process.stdout.write(
    `\nlivecue is running\n  API and HLS: ${livecue.urls.api}\n  RTMP ingest: ${livecue.urls.rtmp}/<streamKey>\n  OpenAPI:     ${livecue.urls.api}/openapi.json\n\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    livecue.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 90_000 + (signal === 'SIGTERM' ? config.DRAIN_SECONDS * 1000 : 0));
    force.unref();
    void (signal === 'SIGTERM' ? livecue.drain() : Promise.resolve())
      .then(() => livecue.close())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: Error) => {
  console.error(`livecue failed to start: ${error.message}`);
  process.exit(1);
});

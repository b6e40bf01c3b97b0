// Entry point: `npm start`. Reads the configuration from the environment and runs a livecue node
// until SIGINT/SIGTERM, then drains: sessions flush their last segments before the process exits.
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
  const livecue = await startLivecue(config);
  process.stdout.write(
    `\nlivecue is running\n  API and HLS: ${livecue.urls.api}\n  RTMP ingest: ${livecue.urls.rtmp}/<streamKey>\n  OpenAPI:     ${livecue.urls.api}/openapi.json\n\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    livecue.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 90_000);
    force.unref();
    void livecue.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: Error) => {
  console.error(`livecue failed to start: ${error.message}`);
  process.exit(1);
});

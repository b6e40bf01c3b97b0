// `npm run worker`: a process that only runs the queue workers (recordings, webhooks, maintenance),
// for installs that scale them apart from the ingest/API nodes. Needs DATABASE_URL and REDIS_URL.
import { DestinationPolicy } from './security/destinations.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { openDatabase } from './db/database.ts';
import { createLogger } from './log.ts';
import { createObjectStore } from './storage/create-store.ts';
import { bullConnection, createQueues } from './workers/queues.ts';
import { RecordingBuilder } from './workers/recording-builder.ts';
import { WebhookService } from './workers/webhooks.ts';
import { WorkerHost } from './workers/worker-host.ts';
import { publicUrls } from './api/urls.ts';

async function main(): Promise<void> {
  const config = loadConfig(process.env, { ROLE: 'worker' });
  const logger = createLogger(config.LOG_LEVEL).child({ role: 'worker' });
  if (!config.DATABASE_URL || !config.REDIS_URL) {
    throw new ConfigError('a separate worker process shares the database and Redis of the livecue nodes: set DATABASE_URL and REDIS_URL');
  }
  const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.LIVECUE_DATA_DIR });
  const store = createObjectStore(config);
  const connection = bullConnection(config.REDIS_URL, logger);
  const queues = createQueues(connection, config.REDIS_KEY_PREFIX, config.RECORDING_ATTEMPTS);
  const webhooks = new WebhookService(database.db, queues, logger, new DestinationPolicy(config.ALLOW_PRIVATE_DESTINATIONS));
  const builder = new RecordingBuilder({ db: database.db, store, config, logger });
  const urls = publicUrls(config, { http: config.PORT, rtmp: config.RTMP_PORT });
  const host = await WorkerHost.start({ config, db: database.db, store, queues, connection, builder, webhooks, logger, publicHlsBase: () => urls.hlsBase });
  const stop = async () => {
    await host.close();
    await queues.close();
    await connection.quit();
    await database.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((error: Error) => {
  console.error(`livecue worker failed to start: ${error.message}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});

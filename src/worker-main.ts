// `npm run worker` (or ROLE=worker): a process that only runs the queue workers (recordings, webhooks,
// maintenance), for installs that scale them apart from the ingest/API nodes. Needs DATABASE_URL and
// REDIS_URL. It answers health probes on PORT (/livez, /healthz, /readyz) and nothing else.
import { createServer, type Server } from 'node:http';
import type { Redis } from 'ioredis';
import { DestinationPolicy } from './security/destinations.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { openDatabase } from './db/database.ts';
import { createLogger, type Logger } from './log.ts';
import { createObjectStore } from './storage/create-store.ts';
import { bullConnection, createQueues } from './workers/queues.ts';
import { RecordingBuilder } from './workers/recording-builder.ts';
import { WebhookService } from './workers/webhooks.ts';
import { WorkerHost } from './workers/worker-host.ts';
import { publicUrls } from './api/urls.ts';
import { installStopSignals } from './stop-signals.ts';

/** Liveness answers while the process does; health and readiness also need Redis (where the jobs are). */
function healthServer(connection: Redis, stopping: () => boolean): Server {
  return createServer((req, res) => {
    const reply = (status: number, body: Record<string, string>) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
    };
    const url = req.url?.split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, { status: 'method not allowed' });
    if (url === '/livez') return reply(200, { status: 'ok' });
    if (url !== '/healthz' && url !== '/readyz' && url !== '/healthz/ready') return reply(404, { status: 'not found' });
    connection.ping().then(
      () =>
        url === '/healthz' || !stopping()
          ? reply(200, { status: url === '/healthz' ? 'ok' : 'ready', redis: 'ok' })
          : reply(503, { status: 'stopping', redis: 'ok' }),
      () => reply(503, { status: 'degraded', redis: 'unreachable' }),
    );
  });
}

async function main(): Promise<void> {
  const config = loadConfig(process.env, { ROLE: 'worker' });
  const logger: Logger = createLogger(config.LOG_LEVEL).child({ role: 'worker' });
  if (!config.DATABASE_URL || !config.REDIS_URL) {
    throw new ConfigError('a separate worker process shares the database and Redis of the livecue nodes: set DATABASE_URL and REDIS_URL');
  }
  const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.LIVECUE_DATA_DIR });
  const store = await createObjectStore(config);
  const connection = bullConnection(config.REDIS_URL, logger);
  const queues = createQueues(connection, config.REDIS_KEY_PREFIX, config.RECORDING_ATTEMPTS);
  await queues.ready();
  const webhooks = new WebhookService(database.db, queues, logger, new DestinationPolicy(config.ALLOW_PRIVATE_DESTINATIONS));
  const builder = new RecordingBuilder({ db: database.db, store, config, logger });
  const urls = publicUrls(config, { http: config.PORT, rtmp: config.RTMP_PORT });
  const host = await WorkerHost.start({ config, db: database.db, store, queues, connection, builder, webhooks, logger, publicHlsBase: () => urls.hlsBase });
  let stopping = false;
  const server = healthServer(connection, () => stopping);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new ConfigError(`HTTP port ${config.PORT} (health probes) is already in use: set PORT`) : error),
    );
    server.listen(config.PORT, config.HOST, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  process.stdout.write(`\nlivecue worker is running\n  Listening:   ${config.HOST}:${port}\n\n`);
  installStopSignals({
    logger,
    forceAfterMs: () => 90_000,
    stop: async () => {
      stopping = true;
      // Jobs in hand finish (or, past the lock, are taken over by another worker); then the connections go.
      await host.close();
      await queues.close();
      await connection.quit();
      await database.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  });
}

main().catch((error: Error) => {
  console.error(`livecue worker failed to start: ${error.message}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});

// The queued work: BullMQ queues, webhooks to the shop, and the recording builder that turns a finished show
// into a replay. On ROLE all the queue workers run in this process too (startQueueWorkers).
import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { DestinationPolicy } from '../security/destinations.ts';
import { bullConnection, createQueues, type Queues } from '../workers/queues.ts';
import { RecordingBuilder } from '../workers/recording-builder.ts';
import { WebhookService } from '../workers/webhooks.ts';
import { WorkerHost } from '../workers/worker-host.ts';
import type { Foundation } from './foundation.ts';
import type { Lifecycle } from './lifecycle.ts';

export interface Jobs {
  queues: Queues;
  webhooks: WebhookService;
  recordings: RecordingBuilder;
  /** Where webhooks and restreams may point (ALLOW_PRIVATE_DESTINATIONS): one policy per node. */
  destinations: DestinationPolicy;
  /** The BullMQ connection (its own: blocking commands must not share the app's client). */
  connection: ReturnType<typeof bullConnection>;
}

export async function startJobs(config: Config, base: Foundation, logger: Logger, life: Lifecycle): Promise<Jobs> {
  const connection = bullConnection(base.redisUrl, logger);
  life.onClose('queue connection', () => connection.quit());
  const queues = createQueues(connection, config.REDIS_KEY_PREFIX, config.RECORDING_ATTEMPTS);
  life.onClose('queues', () => queues.close());
  await queues.ready();
  const destinations = new DestinationPolicy(config.ALLOW_PRIVATE_DESTINATIONS);
  const webhooks = new WebhookService(base.database.db, queues, logger, destinations);
  const recordings = new RecordingBuilder({ db: base.database.db, store: base.store, config, logger });
  return { queues, webhooks, recordings, destinations, connection };
}

/** Recordings, webhooks and maintenance, worked in this process (ROLE all; `npm run worker` elsewhere). */
export async function startQueueWorkers(config: Config, base: Foundation, jobs: Jobs, hlsBase: () => string, logger: Logger, life: Lifecycle): Promise<void> {
  const host = await WorkerHost.start({
    config,
    db: base.database.db,
    store: base.store,
    queues: jobs.queues,
    connection: jobs.connection,
    builder: jobs.recordings,
    webhooks: jobs.webhooks,
    logger,
    publicHlsBase: hlsBase,
  });
  life.onClose('queue workers', () => host.close());
}

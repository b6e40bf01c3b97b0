// The queue workers of a livecue process (in the main process by default, or alone with
// `npm run worker`): recordings, webhook deliveries, and maintenance (retention, reconciliation).
import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import { and, eq, inArray, isNotNull, isNull, lt } from 'drizzle-orm';
import type { Config } from '../config/schema.ts';
import type { Db } from '../db/database.ts';
import { clips as clipsTable, liveSessions, recordings, segments } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import {
  CLIP_QUEUE,
  MAINTENANCE_QUEUE,
  RECORDING_QUEUE,
  WEBHOOK_QUEUE,
  type ClipJob,
  type Queues,
  type RecordingJob,
  type WebhookDelivery,
  type WebhookJob,
} from './queues.ts';
import type { RecordingBuilder } from './recording-builder.ts';
import { DestinationPolicy } from '../security/destinations.ts';
import { deliverWebhook, type WebhookService } from './webhooks.ts';
import { recordingView } from './recording-view.ts';
import { STARTING_SOON_JOB, type StartingSoonJob } from '../shows/show-schedules.ts';
import { announceStartingSoon } from './show-reminders.ts';
import { ClipCutter } from './clip-cutter.ts';
import { ClipStore, deleteClipsMedia } from './clip-store.ts';
import { clipView } from './clip-view.ts';

/** Deliveries of one batch in flight at once (the worker runs several jobs at once too). */
const BATCH_DELIVERY_CONCURRENCY = 4;
/** A delivery that failed in a batch is tried again after this, then with the queue's backoff. */
const RETRY_FIRST_DELAY_MS = 1000;

export interface WorkerHostDeps {
  config: Config;
  db: Db;
  store: ObjectStore;
  queues: Queues;
  connection: ConnectionOptions;
  builder: RecordingBuilder;
  webhooks: WebhookService;
  logger: Logger;
  publicHlsBase: () => string;
}

export class WorkerHost {
  #workers: Worker[] = [];
  #closing?: Promise<void>;
  #sweepTimer?: NodeJS.Timeout;

  readonly #destinations: DestinationPolicy;
  readonly #clips: ClipStore;
  readonly #cutter: ClipCutter;

  private constructor(private readonly deps: WorkerHostDeps) {
    this.#destinations = new DestinationPolicy(deps.config.ALLOW_PRIVATE_DESTINATIONS);
    this.#clips = new ClipStore(deps.db, deps.store, deps.queues, deps.config.CLIP_MAX_SECONDS);
    this.#cutter = new ClipCutter({ db: deps.db, store: deps.store, clips: this.#clips, config: deps.config, logger: deps.logger });
  }

  static async start(deps: WorkerHostDeps): Promise<WorkerHost> {
    const host = new WorkerHost(deps);
    const { config, connection, logger } = deps;
    const common = {
      connection,
      prefix: `${config.REDIS_KEY_PREFIX}:bull`,
      lockDuration: config.WORKER_LOCK_SECONDS * 1000,
      stalledInterval: (config.WORKER_LOCK_SECONDS * 1000) / 2,
    };

    const recordingsWorker = new Worker<RecordingJob>(RECORDING_QUEUE, (job) => host.#buildRecording(job), {
      ...common,
      concurrency: config.WORKER_CONCURRENCY,
    });
    recordingsWorker.on('failed', (job, error) => void host.#recordingFailed(job, error));
    const webhookWorker = new Worker<WebhookJob>(WEBHOOK_QUEUE, (job) => host.#deliver(job), { ...common, concurrency: 8 });
    webhookWorker.on('failed', (job, error) =>
      logger.warn({ deliveryIds: job?.data.deliveries.map((d) => d.deliveryId), attempts: job?.attemptsMade, err: error }, 'webhook delivery failed'),
    );
    const maintenanceWorker = new Worker(
      MAINTENANCE_QUEUE,
      (job) => (job.name === STARTING_SOON_JOB ? announceStartingSoon(deps, job.data as StartingSoonJob) : host.#maintain(job.name)),
      { ...common, concurrency: 1 },
    );
    const clipWorker = new Worker<ClipJob>(CLIP_QUEUE, (job) => host.#cutClip(job), { ...common, concurrency: config.WORKER_CONCURRENCY });
    clipWorker.on('failed', (job, error) => void host.#clipFailed(job, error));
    for (const worker of [recordingsWorker, webhookWorker, maintenanceWorker, clipWorker]) {
      worker.on('error', (error) => logger.warn({ err: error }, 'queue worker error'));
      host.#workers.push(worker);
    }
    // Started means ready: a stop that came while BullMQ still set up its connections would leave its
    // set-up commands failing on a closed connection (unhandled rejections).
    await Promise.all(host.#workers.map((worker) => worker.waitUntilReady()));
    // The database is the record of what is pending: the sweep queues it again (jobs are keyed by
    // session, so a job still in Redis is not doubled) and a Redis that lost its data loses no show.
    // It runs on a timer of the process, not a Redis schedule, for the same reason.
    await host.#maintain('sweep');
    host.#sweepTimer = setInterval(() => {
      void deps.queues.maintenance.add('sweep', {}, { jobId: `sweep-${Math.floor(Date.now() / (config.SWEEP_SECONDS * 1000))}` }).catch(() => {});
    }, config.SWEEP_SECONDS * 1000);
    host.#sweepTimer.unref();
    logger.info({ concurrency: config.WORKER_CONCURRENCY }, 'queue workers started');
    return host;
  }

  close(): Promise<void> {
    clearInterval(this.#sweepTimer);
    this.#closing ??= Promise.all(this.#workers.map((worker) => worker.close())).then(() => undefined);
    return this.#closing;
  }

  async #buildRecording(job: Job<RecordingJob>): Promise<void> {
    const recording = await this.deps.builder.build(job.data.sessionId);
    if (recording.status === 'ready') {
      await this.deps.webhooks.emit('recording.ready', recordingView(recording, this.deps.publicHlsBase()));
      if (this.deps.config.AUTO_CLIPS) {
        const made = await this.#clips.autoClips(recording);
        if (made.length > 0) this.deps.logger.info({ recordingId: recording.id, clips: made.length }, 'auto clips queued');
      }
    }
  }

  async #cutClip(job: Job<ClipJob>): Promise<void> {
    const clip = await this.#cutter.cut(job.data.clipId);
    if (clip?.status === 'ready') await this.deps.webhooks.emit('clip.ready', this.#clipView(clip));
  }

  async #clipFailed(job: Job<ClipJob> | undefined, error: Error): Promise<void> {
    if (!job) return;
    const attempts = job.opts.attempts ?? 1;
    this.deps.logger.warn({ clipId: job.data.clipId, attempt: job.attemptsMade, of: attempts, err: error }, 'clip job failed');
    if (job.attemptsMade < attempts) return;
    const row = await this.#clips.markFailed(job.data.clipId, error.message);
    if (row) await this.deps.webhooks.emit('clip.failed', this.#clipView(row));
  }

  #clipView(clip: Parameters<typeof clipView>[0]) {
    return clipView(clip, { hlsBase: this.deps.publicHlsBase() });
  }

  async #recordingFailed(job: Job<RecordingJob> | undefined, error: Error): Promise<void> {
    if (!job) return;
    const attempts = job.opts.attempts ?? 1;
    this.deps.logger.warn({ sessionId: job.data.sessionId, attempt: job.attemptsMade, of: attempts, err: error }, 'recording job failed');
    if (job.attemptsMade < attempts) return;
    const row = await this.deps.builder.markFailed(job.data.sessionId, error.message);
    if (row) await this.deps.webhooks.emit('recording.failed', recordingView(row, this.deps.publicHlsBase()));
  }

  async #deliver(job: Job<WebhookJob>): Promise<void> {
    const { endpointId } = job.data;
    const { deliveries } = job.data;
    const endpoint = await this.deps.webhooks.endpoint(endpointId);
    if (!endpoint) return; // Deleted since: nothing to deliver.
    // A lone delivery fails with its job, which BullMQ retries with backoff.
    if (deliveries.length === 1) {
      await deliverWebhook(endpoint, deliveries[0]!, this.#destinations);
      return;
    }
    // A batch: each delivery that fails is queued again on its own; the ones that arrived are not sent twice.
    let next = 0;
    const failed: WebhookDelivery[] = [];
    await Promise.all(
      Array.from({ length: Math.min(BATCH_DELIVERY_CONCURRENCY, deliveries.length) }, async () => {
        while (next < deliveries.length) {
          const delivery = deliveries[next++]!;
          await deliverWebhook(endpoint, delivery, this.#destinations).catch((error: Error) => {
            failed.push(delivery);
            this.deps.logger.warn({ deliveryId: delivery.deliveryId, err: error }, 'webhook delivery failed; queued again');
          });
        }
      }),
    );
    await Promise.all(failed.map((delivery) => this.deps.webhooks.retry(endpointId, delivery, RETRY_FIRST_DELAY_MS)));
  }

  async #maintain(name: string): Promise<void> {
    if (name !== 'sweep') return;
    const { db, queues, config, store, logger } = this.deps;
    // Shows that ended while the database or Redis was away may have no recording row yet.
    const orphans = await db
      .select({ id: liveSessions.id, streamId: liveSessions.streamId })
      .from(liveSessions)
      .leftJoin(recordings, eq(recordings.sessionId, liveSessions.id))
      .where(and(isNotNull(liveSessions.endedAt), isNull(recordings.id)));
    for (const session of orphans) await this.deps.builder.ensureRow(session.id, session.streamId);
    const pending = await db
      .select()
      .from(recordings)
      .where(inArray(recordings.status, ['queued', 'processing']));
    for (const recording of pending) {
      await queues.recordings.add('finalize', { sessionId: recording.sessionId }, { jobId: recording.sessionId });
    }
    if (config.RETENTION_DAYS <= 0) return;
    const cutoff = new Date(Date.now() - config.RETENTION_DAYS * 86_400_000);
    const expired = await db
      .select({ recording: recordings })
      .from(recordings)
      .innerJoin(liveSessions, eq(liveSessions.id, recordings.sessionId))
      .where(and(isNotNull(liveSessions.endedAt), lt(liveSessions.endedAt, cutoff), inArray(recordings.status, ['ready', 'failed'])));
    for (const { recording } of expired) {
      await deleteRecordingMedia(db, store, recording);
      logger.info({ recordingId: recording.id }, 'recording expired and deleted');
    }
  }
}

/** Deletes a recording's objects and its show's segments; the row stays as `deleted` for the record. */
export async function deleteRecordingMedia(db: Db, store: ObjectStore, recording: typeof recordings.$inferSelect): Promise<void> {
  const segmentRows = await db.select({ key: segments.objectKey, initKey: segments.initKey }).from(segments).where(eq(segments.sessionId, recording.sessionId));
  // fMP4 shows: each run's init segment goes with its segments.
  const initKeys = new Set(segmentRows.flatMap((row) => (row.initKey ? [row.initKey] : [])));
  const segmentKeys = [...segmentRows.map((row) => row.key), ...initKeys];
  const assets = (recording.assets ?? {}) as { master?: string };
  const prefix = assets.master?.replace(/\/master\.m3u8$/, '/');
  const assetKeys = prefix ? await store.list(prefix) : [];
  await store.delete([...segmentKeys, ...assetKeys]);
  // The show's clips go with its segments (an instant clip too: its media sit under the stream).
  await deleteClipsMedia(db, store, await db.select().from(clipsTable).where(eq(clipsTable.sessionId, recording.sessionId)));
  await db.update(recordings).set({ status: 'deleted', deletedAt: new Date() }).where(eq(recordings.id, recording.id));
}

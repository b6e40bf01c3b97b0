// The BullMQ queues of livecue: recordings to finalise, webhooks to deliver, retention sweeps.
import type { Logger } from '../log.ts';
import { Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { WebhookEvent } from '../contract/webhooks.ts';

export const RECORDING_QUEUE = 'recordings';
export const WEBHOOK_QUEUE = 'webhooks';
export const MAINTENANCE_QUEUE = 'maintenance';
/** Shoppable clips to cut (issue #19). */
export const CLIP_QUEUE = 'clips';

export interface RecordingJob {
  sessionId: string;
}

export interface ClipJob {
  clipId: string;
}

export interface WebhookDelivery {
  deliveryId: string;
  event: WebhookEvent;
  /** The exact body to send (signed as is). */
  body: string;
}

/**
 * Deliveries to one endpoint. Those emitted together (a rush of claims) share a job, so the queue's cost is paid per
 * batch; a delivery of a batch that fails is queued again on its own with the queue's retries.
 */
export interface WebhookJob {
  endpointId: string;
  deliveries: WebhookDelivery[];
}

// The events live in the API contract (src/contract/webhooks.ts): endpoints subscribe to them by name.
export { WEBHOOK_EVENTS, type WebhookEvent } from '../contract/webhooks.ts';

/** BullMQ wants its own connections with no per-request retry limit. */
export function bullConnection(url: string, logger?: Logger): Redis {
  const connection = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: false });
  connection.on('error', (error) => logger?.warn({ err: error }, 'queue connection: redis error'));
  return connection;
}

export interface Queues {
  recordings: Queue<RecordingJob>;
  webhooks: Queue<WebhookJob>;
  maintenance: Queue;
  clips: Queue<ClipJob>;
  /** Resolves once every queue's connection is set up (closing before that races BullMQ's own set-up). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export function createQueues(connection: ConnectionOptions, prefix: string, recordingAttempts = 4): Queues {
  const options = { connection, prefix: `${prefix}:bull` };
  const recordings = new Queue<RecordingJob>(RECORDING_QUEUE, {
    ...options,
    defaultJobOptions: { attempts: recordingAttempts, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: 1000, removeOnFail: 1000 },
  });
  const webhooks = new Queue<WebhookJob>(WEBHOOK_QUEUE, {
    ...options,
    defaultJobOptions: { attempts: 8, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  });
  const maintenance = new Queue(MAINTENANCE_QUEUE, { ...options, defaultJobOptions: { removeOnComplete: 100, removeOnFail: 100 } });
  const clips = new Queue<ClipJob>(CLIP_QUEUE, {
    ...options,
    defaultJobOptions: { attempts: 2, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: 1000, removeOnFail: 1000 },
  });
  return {
    recordings,
    webhooks,
    maintenance,
    clips,
    async ready() {
      await Promise.all([recordings.waitUntilReady(), webhooks.waitUntilReady(), maintenance.waitUntilReady(), clips.waitUntilReady()]);
    },
    async close() {
      await Promise.all([recordings.close(), webhooks.close(), maintenance.close(), clips.close()]);
    },
  };
}

/** A finished show becomes a replay: its recording row exists at once (listed as processing) and a worker builds it. */
export async function queueRecording(
  queues: Queues,
  recordings: { ensureRow(sessionId: string, streamId: string): Promise<unknown> },
  show: { sessionId: string; streamId: string },
): Promise<void> {
  await recordings.ensureRow(show.sessionId, show.streamId);
  // One job per session: a repeated end (retry, another node) does not build it twice.
  await queues.recordings.add('finalize', { sessionId: show.sessionId }, { jobId: show.sessionId });
}

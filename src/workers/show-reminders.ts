// show.starting_soon: the delayed job queued when a show is scheduled runs REMINDER_LEAD_MINUTES before its start and
// tells the shop how many viewers asked to be reminded. Sent once per start time: the job id is the stream and start
// (every node queues the same job), and the database claim lets only one run announce it, however often it runs.
import { eq } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { streams } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import type { StartingSoonJob } from '../shows/show-schedules.ts';
import { ShowStore } from '../shows/show-store.ts';
import type { WebhookService } from './webhooks.ts';

export async function announceStartingSoon(deps: { db: Db; webhooks: WebhookService; logger: Logger }, job: StartingSoonJob): Promise<void> {
  const store = new ShowStore(deps.db);
  const startAt = new Date(job.startAt);
  const [stream] = await deps.db.select().from(streams).where(eq(streams.id, job.streamId));
  // Deleted, already live or moved to another time: nothing to announce for this start.
  if (!stream || stream.status === 'live') return;
  const schedule = await store.claimStartingSoon(job.streamId, startAt);
  if (!schedule) return;
  const reminders = (await store.reminderCounts([job.streamId])).get(job.streamId) ?? 0;
  await deps.webhooks.emit('show.starting_soon', {
    streamId: stream.id,
    playbackId: stream.playbackId,
    title: stream.title,
    scheduledStartAt: schedule.startAt.toISOString(),
    startsInSeconds: Math.max(0, Math.round((schedule.startAt.getTime() - Date.now()) / 1000)),
    reminders,
    watchUrl: job.watchUrl,
  });
  deps.logger.info({ streamId: stream.id, reminders }, 'show.starting_soon sent');
}

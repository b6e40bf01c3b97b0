// A stream's scheduled show: setting it (with the lineup checked against the catalogue), how the API shows it, and
// what its changes set off: show.scheduled at once, show.starting_soon queued for REMINDER_LEAD_MINUTES before the
// start (a BullMQ delayed job keyed by stream and start, so every node queues the same one), show.live when it starts.
import { badRequest } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { StreamRow } from '../streams/stream-store.ts';
import type { Queues } from '../workers/queues.ts';
import type { WebhookService } from '../workers/webhooks.ts';
import { LATE_AFTER_MINUTES } from '../contract/shows.ts';
import type { ScheduleChanges, ScheduleRow, ShowStore } from './show-store.ts';

export const STARTING_SOON_JOB = 'show.starting_soon';

export interface StartingSoonJob {
  streamId: string;
  /** The start time the job was queued for (ISO); a show moved since is not announced by this job. */
  startAt: string;
  watchUrl: string;
}

/** The schedule fields of a create or update body, as the contract parsed them. */
export interface ScheduleInput {
  scheduledStartAt?: string | null;
  description?: string;
  coverImageUrl?: string;
  products?: string[];
}

export const hasScheduleInput = (input: ScheduleInput): boolean =>
  input.scheduledStartAt !== undefined || input.description !== undefined || input.coverImageUrl !== undefined || input.products !== undefined;

export function isLate(schedule: ScheduleRow, status: string, now = Date.now()): boolean {
  return schedule.wentLiveAt === null && status !== 'live' && now > schedule.startAt.getTime() + LATE_AFTER_MINUTES * 60_000;
}

export class ShowSchedules {
  constructor(
    readonly store: ShowStore,
    private readonly deps: {
      queues: Queues;
      webhooks: WebhookService;
      leadMinutes: number;
      /** The public API base (PUBLIC_URL or this node's). */
      apiBase: () => string;
      logger: Logger;
    },
  ) {}

  watchUrl(playbackId: string): string {
    return `${this.deps.apiBase()}/watch/${playbackId}`;
  }

  calendarUrl(playbackId: string): string {
    return `${this.deps.apiBase()}/live/${playbackId}/calendar.ics`;
  }

  /**
   * Refuses, before anything is written, a schedule with no start time (where the stream has none yet) and a lineup
   * naming products the catalogue does not have.
   */
  async check(input: ScheduleInput, existing?: ScheduleRow): Promise<void> {
    if (!existing && input.scheduledStartAt === undefined && hasScheduleInput(input)) {
      throw badRequest('invalid request: scheduledStartAt: a show needs a start time to be scheduled');
    }
    const unknown = await this.store.unknownProducts(input.products ?? []);
    if (unknown.length > 0) throw badRequest(`invalid request: products: no such product in the catalogue: ${unknown.slice(0, 10).join(', ')}`);
  }

  /** Applies the schedule fields of a create or update (checked first with `check`); answers the schedule as it now is. */
  async apply(stream: StreamRow, input: ScheduleInput, existing?: ScheduleRow): Promise<ScheduleRow | undefined> {
    if (!hasScheduleInput(input)) return existing;
    if (input.scheduledStartAt === null) {
      await this.store.remove(stream.id);
      return undefined;
    }
    const changes: ScheduleChanges = {
      ...(input.scheduledStartAt !== undefined && { startAt: new Date(input.scheduledStartAt) }),
      ...(input.description !== undefined && { description: input.description || null }),
      ...(input.coverImageUrl !== undefined && { coverImageUrl: input.coverImageUrl }),
      ...(input.products !== undefined && { products: input.products }),
    };
    const schedule = await this.store.set(stream.id, changes);
    if (!schedule) return existing;
    await this.#announce(stream, schedule);
    return schedule;
  }

  async #announce(stream: StreamRow, schedule: ScheduleRow): Promise<void> {
    const watchUrl = this.watchUrl(stream.playbackId);
    await this.deps.webhooks.emit('show.scheduled', {
      streamId: stream.id,
      playbackId: stream.playbackId,
      title: stream.title,
      scheduledStartAt: schedule.startAt.toISOString(),
      description: schedule.description,
      coverImageUrl: schedule.coverImageUrl,
      products: schedule.products,
      watchUrl,
      calendarUrl: this.calendarUrl(stream.playbackId),
    });
    if (schedule.wentLiveAt !== null) return;
    const startMs = schedule.startAt.getTime();
    const delay = Math.max(0, startMs - this.deps.leadMinutes * 60_000 - Date.now());
    const job: StartingSoonJob = { streamId: stream.id, startAt: schedule.startAt.toISOString(), watchUrl };
    // One job per stream and start time on every node; a moved show gets a new one and the old one finds nothing to say.
    await this.deps.queues.maintenance.add(STARTING_SOON_JOB, job, { jobId: `show-soon-${stream.id}-${startMs}`, delay });
  }

  /** A show went live: an upcoming schedule is marked (once, on whichever node) and the shop told. */
  async wentLive(stream: StreamRow, sessionId: string): Promise<void> {
    const schedule = await this.store.markLive(stream.id);
    if (!schedule) return;
    const reminders = (await this.store.reminderCounts([stream.id])).get(stream.id) ?? 0;
    await this.deps.webhooks.emit('show.live', {
      streamId: stream.id,
      playbackId: stream.playbackId,
      sessionId,
      title: stream.title,
      scheduledStartAt: schedule.startAt.toISOString(),
      lateBySeconds: Math.max(0, Math.round((Date.now() - schedule.startAt.getTime()) / 1000)),
      reminders,
      watchUrl: this.watchUrl(stream.playbackId),
    });
  }

  /** The schedule as GET /v1/streams shows it. */
  view(stream: StreamRow, schedule: ScheduleRow, reminders: number) {
    return {
      startAt: schedule.startAt.toISOString(),
      description: schedule.description,
      coverImageUrl: schedule.coverImageUrl,
      products: schedule.products as string[],
      late: isLate(schedule, stream.status),
      upcoming: schedule.wentLiveAt === null,
      reminders,
      watchUrl: this.watchUrl(stream.playbackId),
      calendarUrl: this.calendarUrl(stream.playbackId),
    };
  }

  /** The schedules of many streams at once (a page of the list), with their reminder counts. */
  async views(rows: StreamRow[]): Promise<Map<string, ReturnType<ShowSchedules['view']>>> {
    const ids = rows.map((row) => row.id);
    const [schedules, counts] = await Promise.all([this.store.getMany(ids), this.store.reminderCounts(ids)]);
    const views = new Map<string, ReturnType<ShowSchedules['view']>>();
    for (const row of rows) {
      const schedule = schedules.get(row.id);
      if (schedule) views.set(row.id, this.view(row, schedule, counts.get(row.id) ?? 0));
    }
    return views;
  }
}

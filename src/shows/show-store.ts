// Scheduled shows in the database: a stream's schedule, the pages of streams listed by start or creation, and the
// viewers who asked to be reminded.
import { and, asc, count, desc, eq, gt, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { products, showReminders, showSchedules, streams } from '../db/schema.ts';
import type { StreamRow } from '../streams/stream-store.ts';

export type ScheduleRow = typeof showSchedules.$inferSelect;
export type ReminderRow = typeof showReminders.$inferSelect;

export interface ScheduleChanges {
  startAt?: Date;
  description?: string | null;
  coverImageUrl?: string | null;
  products?: string[];
}

export type StreamListFilter = 'idle' | 'live' | 'ended' | 'scheduled';

/** A page position: the sort key of the last row answered and its id (base64url JSON, opaque to callers). */
export function encodeCursor(key: string, id: string): string {
  return Buffer.from(JSON.stringify([key, id])).toString('base64url');
}

/** The position a cursor names, or undefined for one this server did not write. */
export function decodeCursor(cursor: string): { key: Date; id: string } | undefined {
  try {
    const [key, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (typeof key !== 'string' || typeof id !== 'string' || id.length > 128) return undefined;
    const at = new Date(key);
    // Only instants this API could have written (PostgreSQL refuses some years JavaScript takes).
    const year = at.getUTCFullYear();
    return Number.isNaN(at.getTime()) || year < 1970 || year > 9999 ? undefined : { key: at, id };
  } catch {
    return undefined;
  }
}

// Creation times are kept in microseconds; pages compare them at the millisecond a cursor carries.
const createdMs = sql<Date>`date_trunc('milliseconds', ${streams.createdAt})`;

export class ShowStore {
  constructor(private readonly db: Db) {}

  async get(streamId: string): Promise<ScheduleRow | undefined> {
    const [row] = await this.db.select().from(showSchedules).where(eq(showSchedules.streamId, streamId));
    return row;
  }

  async getMany(streamIds: string[]): Promise<Map<string, ScheduleRow>> {
    if (streamIds.length === 0) return new Map();
    const rows = await this.db.select().from(showSchedules).where(inArray(showSchedules.streamId, streamIds));
    return new Map(rows.map((row) => [row.streamId, row]));
  }

  /** The ids among `ids` that are not in the catalogue. */
  async unknownProducts(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const known = new Set((await this.db.select({ id: products.id }).from(products).where(inArray(products.id, ids))).map((row) => row.id));
    return ids.filter((id) => !known.has(id));
  }

  /** Creates or changes a schedule (a new start time makes the show upcoming again); `startAt` is needed to create one. */
  async set(streamId: string, changes: ScheduleChanges): Promise<ScheduleRow | undefined> {
    const update = { ...changes, updatedAt: new Date(), ...(changes.startAt ? { wentLiveAt: null } : {}) };
    if (!changes.startAt) {
      const [row] = await this.db.update(showSchedules).set(update).where(eq(showSchedules.streamId, streamId)).returning();
      return row;
    }
    const [row] = await this.db
      .insert(showSchedules)
      .values({ streamId, startAt: changes.startAt, ...changes })
      .onConflictDoUpdate({ target: showSchedules.streamId, set: update })
      .returning();
    return row;
  }

  async remove(streamId: string): Promise<void> {
    await this.db.delete(showSchedules).where(eq(showSchedules.streamId, streamId));
  }

  /**
   * A page of streams: newest first, or with `scheduled` the upcoming shows (not gone live) soonest first.
   * Without a limit every row is answered (the list as it was before pages).
   */
  async listStreams(filter: StreamListFilter | undefined, page: { limit?: number; after?: { key: Date; id: string } }) {
    const take = page.limit === undefined ? undefined : page.limit + 1;
    if (filter === 'scheduled') {
      const after = page.after;
      const where = and(
        isNull(showSchedules.wentLiveAt),
        sql`${streams.status} <> 'live'`,
        after ? or(gt(showSchedules.startAt, after.key), and(eq(showSchedules.startAt, after.key), gt(streams.id, after.id))) : undefined,
      );
      const query = this.db
        .select({ stream: streams, startAt: showSchedules.startAt })
        .from(streams)
        .innerJoin(showSchedules, eq(showSchedules.streamId, streams.id))
        .where(where)
        .orderBy(asc(showSchedules.startAt), asc(streams.id));
      const rows = take ? await query.limit(take) : await query;
      return this.#page(
        rows.map((row) => ({ stream: row.stream, key: row.startAt })),
        page.limit,
      );
    }
    const after = page.after;
    const conditions: (SQL | undefined)[] = [
      filter ? eq(streams.status, filter) : undefined,
      after ? sql`(${createdMs}, ${streams.id}) < (${after.key.toISOString()}::timestamptz, ${after.id})` : undefined,
    ];
    const query = this.db
      .select({ stream: streams, key: createdMs })
      .from(streams)
      .where(and(...conditions))
      .orderBy(desc(createdMs), desc(streams.id));
    const rows = take ? await query.limit(take) : await query;
    return this.#page(
      rows.map((row) => ({ stream: row.stream, key: new Date(row.key) })),
      page.limit,
    );
  }

  #page(rows: { stream: StreamRow; key: Date }[], limit: number | undefined): { streams: StreamRow[]; nextCursor: string | null } {
    if (limit === undefined || rows.length <= limit) return { streams: rows.map((row) => row.stream), nextCursor: null };
    const shown = rows.slice(0, limit);
    const last = shown.at(-1)!;
    return { streams: shown.map((row) => row.stream), nextCursor: encodeCursor(last.key.toISOString(), last.stream.id) };
  }

  async reminderCounts(streamIds: string[]): Promise<Map<string, number>> {
    if (streamIds.length === 0) return new Map();
    const rows = await this.db
      .select({ streamId: showReminders.streamId, reminders: count() })
      .from(showReminders)
      .where(inArray(showReminders.streamId, streamIds))
      .groupBy(showReminders.streamId);
    return new Map(rows.map((row) => [row.streamId, row.reminders]));
  }

  /** Stores a viewer's reminder once; `created` is false when it was already there. */
  async remind(streamId: string, viewer: { id: string; name?: string }): Promise<{ reminder: ReminderRow; created: boolean }> {
    const [inserted] = await this.db
      .insert(showReminders)
      .values({ streamId, viewerId: viewer.id, viewerName: viewer.name ?? null })
      .onConflictDoNothing()
      .returning();
    if (inserted) return { reminder: inserted, created: true };
    const [existing] = await this.db
      .select()
      .from(showReminders)
      .where(and(eq(showReminders.streamId, streamId), eq(showReminders.viewerId, viewer.id)));
    return { reminder: existing!, created: false };
  }

  async hasReminder(streamId: string, viewerId: string): Promise<boolean> {
    const [row] = await this.db
      .select({ viewerId: showReminders.viewerId })
      .from(showReminders)
      .where(and(eq(showReminders.streamId, streamId), eq(showReminders.viewerId, viewerId)));
    return row !== undefined;
  }

  async forget(streamId: string, viewerId: string): Promise<void> {
    await this.db.delete(showReminders).where(and(eq(showReminders.streamId, streamId), eq(showReminders.viewerId, viewerId)));
  }

  /** Oldest first, a page after the cursor's position. */
  async reminders(streamId: string, limit: number, after?: { key: Date; id: string }): Promise<{ reminders: ReminderRow[]; nextCursor: string | null }> {
    const rows = await this.db
      .select()
      .from(showReminders)
      .where(
        and(
          eq(showReminders.streamId, streamId),
          after ? or(gt(showReminders.createdAt, after.key), and(eq(showReminders.createdAt, after.key), gt(showReminders.viewerId, after.id))) : undefined,
        ),
      )
      .orderBy(asc(showReminders.createdAt), asc(showReminders.viewerId))
      .limit(limit + 1);
    if (rows.length <= limit) return { reminders: rows, nextCursor: null };
    const shown = rows.slice(0, limit);
    const last = shown.at(-1)!;
    return { reminders: shown, nextCursor: encodeCursor(last.createdAt.toISOString(), last.viewerId) };
  }

  /** The schedule of a show that has just gone live, if it was upcoming: it is marked live (once, whichever node asks). */
  async markLive(streamId: string, at = new Date()): Promise<ScheduleRow | undefined> {
    const [row] = await this.db
      .update(showSchedules)
      .set({ wentLiveAt: at })
      .where(and(eq(showSchedules.streamId, streamId), isNull(showSchedules.wentLiveAt)))
      .returning();
    return row;
  }

  /**
   * The claim that sends show.starting_soon once per start time: true only for the one caller that marks it, and only
   * while the show is still upcoming at that time.
   */
  async claimStartingSoon(streamId: string, startAt: Date): Promise<ScheduleRow | undefined> {
    const [row] = await this.db
      .update(showSchedules)
      .set({ startingSoonFor: startAt })
      .where(
        and(
          eq(showSchedules.streamId, streamId),
          eq(showSchedules.startAt, startAt),
          isNull(showSchedules.wentLiveAt),
          or(isNull(showSchedules.startingSoonFor), sql`${showSchedules.startingSoonFor} <> ${startAt.toISOString()}`),
        ),
      )
      .returning();
    return row;
  }
}

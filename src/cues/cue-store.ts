// Cues in the database: per-stream sequence numbers, idempotent inserts, listing in order.
import { and, asc, eq, lte, sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { cues } from '../db/schema.ts';
import { randomBase62 } from '../streams/stream-keys.ts';
import type { CueMessage, CueType } from '../contract/cue-message.ts';

export type CueRow = typeof cues.$inferSelect;

export function cueMessage(row: CueRow): CueMessage {
  return {
    id: row.id,
    seq: row.seq,
    type: row.type as CueType,
    payload: row.payload as Record<string, unknown>,
    mediaTime: row.mediaTimeMs / 1000,
    wallClock: row.wallClock.toISOString(),
    ...(row.durationMs !== null && { duration: row.durationMs / 1000 }),
  };
}

export interface NewCue {
  streamId: string;
  sessionId: string;
  type: CueType;
  payload: Record<string, unknown>;
  mediaTimeMs: number;
  wallClock: Date;
  durationMs?: number;
  idempotencyKey?: string;
}

export class CueStore {
  constructor(private readonly db: Db) {}

  /** Inserts with the next sequence number; a repeated idempotency key returns the first cue instead. */
  async insert(cue: NewCue): Promise<{ row: CueRow; created: boolean }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (cue.idempotencyKey) {
        const [existing] = await this.db
          .select()
          .from(cues)
          .where(and(eq(cues.streamId, cue.streamId), eq(cues.idempotencyKey, cue.idempotencyKey)));
        if (existing) return { row: existing, created: false };
      }
      const [inserted] = await this.db
        .insert(cues)
        .values({
          id: `cue_${randomBase62(16)}`,
          streamId: cue.streamId,
          sessionId: cue.sessionId,
          seq: sql`(select coalesce(max(${cues.seq}), 0) + 1 from ${cues} where ${cues.streamId} = ${cue.streamId})`,
          type: cue.type,
          payload: cue.payload,
          mediaTimeMs: cue.mediaTimeMs,
          wallClock: cue.wallClock,
          durationMs: cue.durationMs ?? null,
          idempotencyKey: cue.idempotencyKey ?? null,
        })
        .onConflictDoNothing()
        .returning();
      if (inserted) return { row: inserted, created: true };
      // Lost a race for the sequence number or the idempotency key: look again.
    }
    throw new Error('could not allocate a cue sequence number');
  }

  async list(streamId: string, options: { sessionId?: string; upToMediaTimeMs?: number } = {}): Promise<CueRow[]> {
    const conditions = [eq(cues.streamId, streamId)];
    if (options.sessionId) conditions.push(eq(cues.sessionId, options.sessionId));
    if (options.upToMediaTimeMs !== undefined) conditions.push(lte(cues.mediaTimeMs, options.upToMediaTimeMs));
    return this.db
      .select()
      .from(cues)
      .where(and(...conditions))
      .orderBy(asc(cues.seq));
  }
}

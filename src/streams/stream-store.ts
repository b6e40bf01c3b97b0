// Streams and their keys in the database: create, read, delete, rotate, and authenticate a publish.
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { liveSessions, streamKeys, streams } from '../db/schema.ts';
import { randomBase62, hashSecret, newPlaybackId, newStreamId, newStreamKey, secretMatches, STREAM_KEY_SHAPE } from './stream-keys.ts';

export type StreamStatus = 'idle' | 'live' | 'ended';
export type StreamRow = typeof streams.$inferSelect;

export class StreamStore {
  constructor(private readonly db: Db) {}

  async create(title: string, isPrivate = false): Promise<{ stream: StreamRow; streamKey: string }> {
    const streamKey = newStreamKey();
    const stream = await this.db.transaction(async (tx) => {
      const [row] = await tx.insert(streams).values({ id: newStreamId(), title, playbackId: newPlaybackId(), private: isPrivate }).returning();
      await tx.insert(streamKeys).values({ id: `key_${randomBase62(16)}`, streamId: row!.id, keyHash: hashSecret(streamKey) });
      return row!;
    });
    return { stream, streamKey };
  }

  async list(): Promise<StreamRow[]> {
    return this.db.select().from(streams).orderBy(desc(streams.createdAt));
  }

  async get(id: string): Promise<StreamRow | undefined> {
    const [row] = await this.db.select().from(streams).where(eq(streams.id, id));
    return row;
  }

  async getByPlaybackId(playbackId: string): Promise<StreamRow | undefined> {
    const [row] = await this.db.select().from(streams).where(eq(streams.playbackId, playbackId));
    return row;
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await this.db.delete(streams).where(eq(streams.id, id)).returning({ id: streams.id });
    return deleted.length > 0;
  }

  async update(id: string, changes: { title?: string; private?: boolean }): Promise<StreamRow | undefined> {
    const [row] = await this.db
      .update(streams)
      .set({ ...changes, updatedAt: new Date() })
      .where(eq(streams.id, id))
      .returning();
    return row;
  }

  /** Seconds the stream's shows have been live, a show still on counting up to now. */
  async liveSeconds(streamId: string, now: number): Promise<number> {
    const sessions = await this.db
      .select({ startedAt: liveSessions.startedAt, endedAt: liveSessions.endedAt })
      .from(liveSessions)
      .where(eq(liveSessions.streamId, streamId));
    return sessions.reduce((sum, session) => sum + ((session.endedAt?.getTime() ?? now) - session.startedAt.getTime()) / 1000, 0);
  }

  async setStatus(id: string, status: StreamStatus): Promise<void> {
    await this.db.update(streams).set({ status, updatedAt: new Date() }).where(eq(streams.id, id));
  }

  /** Revokes every active key and issues a new one, atomically: the old key stops working at once. */
  async rotateKey(id: string): Promise<string | undefined> {
    const streamKey = newStreamKey();
    const done = await this.db.transaction(async (tx) => {
      const [stream] = await tx.select({ id: streams.id }).from(streams).where(eq(streams.id, id)).for('update');
      if (!stream) return false;
      await tx
        .update(streamKeys)
        .set({ revokedAt: new Date() })
        .where(and(eq(streamKeys.streamId, id), isNull(streamKeys.revokedAt)));
      await tx.insert(streamKeys).values({ id: `key_${randomBase62(16)}`, streamId: id, keyHash: hashSecret(streamKey) });
      return true;
    });
    return done ? streamKey : undefined;
  }

  /** The stream an active key belongs to, or undefined for an unknown, malformed or revoked key. */
  async authenticate(presentedKey: string): Promise<StreamRow | undefined> {
    if (!STREAM_KEY_SHAPE.test(presentedKey)) return undefined;
    const [match] = await this.db
      .select({ stream: streams, keyHash: streamKeys.keyHash })
      .from(streamKeys)
      .innerJoin(streams, eq(streams.id, streamKeys.streamId))
      .where(and(eq(streamKeys.keyHash, hashSecret(presentedKey)), isNull(streamKeys.revokedAt)));
    if (!match || !secretMatches(presentedKey, match.keyHash)) return undefined;
    return match.stream;
  }
}

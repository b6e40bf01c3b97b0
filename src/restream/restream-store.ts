// Restream targets of a stream: the other platforms its show is sent to while live. A target's stream
// key is sealed before it reaches the database and opened only by the node that starts its FFmpeg.
import { and, asc, count, eq, getTableColumns } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { restreamTargets } from '../db/schema.ts';
import type { SecretBox } from '../security/secret-box.ts';
import { randomBase62 } from '../streams/stream-keys.ts';

export const RESTREAM_STATUSES = ['idle', 'connecting', 'live', 'retrying', 'failed', 'unsupported'] as const;
export type RestreamStatus = (typeof RESTREAM_STATUSES)[number];

/** Targets one stream may have: each is an FFmpeg (and upload bandwidth) while the show is live. */
export const MAX_RESTREAMS_PER_STREAM = 10;

export type RestreamTargetRecord = typeof restreamTargets.$inferSelect;
/** A target as everything but the sending node sees it: without its sealed key. */
export type RestreamTargetRow = Omit<RestreamTargetRecord, 'sealedKey'>;

const { sealedKey: _sealedKey, ...publicColumns } = getTableColumns(restreamTargets);

export class RestreamStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async create(streamId: string, input: { url: string; streamKey: string; name: string; enabled: boolean }): Promise<RestreamTargetRow> {
    const id = `rst_${randomBase62(16)}`;
    const [row] = await this.db
      .insert(restreamTargets)
      .values({ id, streamId, name: input.name, url: input.url, enabled: input.enabled, sealedKey: this.box.seal(input.streamKey, id) })
      .returning(publicColumns);
    return row!;
  }

  list(streamId: string): Promise<RestreamTargetRow[]> {
    return this.db
      .select(publicColumns)
      .from(restreamTargets)
      .where(eq(restreamTargets.streamId, streamId))
      .orderBy(asc(restreamTargets.createdAt), asc(restreamTargets.id));
  }

  async get(streamId: string, id: string): Promise<RestreamTargetRow | undefined> {
    const [row] = await this.db
      .select(publicColumns)
      .from(restreamTargets)
      .where(and(eq(restreamTargets.streamId, streamId), eq(restreamTargets.id, id)));
    return row;
  }

  async count(streamId: string): Promise<number> {
    const [row] = await this.db.select({ n: count() }).from(restreamTargets).where(eq(restreamTargets.streamId, streamId));
    return row?.n ?? 0;
  }

  async update(
    streamId: string,
    id: string,
    patch: { name?: string; url?: string; streamKey?: string; enabled?: boolean },
  ): Promise<RestreamTargetRow | undefined> {
    const { streamKey, ...fields } = patch;
    const [row] = await this.db
      .update(restreamTargets)
      .set({ ...fields, ...(streamKey !== undefined && { sealedKey: this.box.seal(streamKey, id) }), updatedAt: new Date() })
      .where(and(eq(restreamTargets.streamId, streamId), eq(restreamTargets.id, id)))
      .returning(publicColumns);
    return row;
  }

  async delete(streamId: string, id: string): Promise<boolean> {
    const deleted = await this.db
      .delete(restreamTargets)
      .where(and(eq(restreamTargets.streamId, streamId), eq(restreamTargets.id, id)))
      .returning({ id: restreamTargets.id });
    return deleted.length > 0;
  }

  /** The enabled targets with their sealed keys, for the node sending the show. */
  enabledRecords(streamId: string): Promise<RestreamTargetRecord[]> {
    return this.db
      .select()
      .from(restreamTargets)
      .where(and(eq(restreamTargets.streamId, streamId), eq(restreamTargets.enabled, true)))
      .orderBy(asc(restreamTargets.createdAt));
  }

  /** The target's stream key; throws SecretBoxError when LIVECUE_SECRET_KEY is not the one that sealed it. */
  openKey(record: RestreamTargetRecord): string {
    return this.box.open(record.sealedKey, record.id);
  }

  async setStatus(id: string, state: { status: RestreamStatus; lastError?: string; since: Date }): Promise<void> {
    await this.db
      .update(restreamTargets)
      .set({ status: state.status, lastError: state.lastError ?? null, statusSince: state.since })
      .where(eq(restreamTargets.id, id));
  }
}

// Clips as the API and the workers see them: planning one (a pin's span, a range of a recording, the last
// seconds of a live show), its row and job, its views, and deletion of its media.
import { and, asc, desc, eq, inArray, isNull, ne } from 'drizzle-orm';
import type { CueMessage } from '../contract/cue-message.ts';
import { CLIP_ID } from '../contract/ids.ts';
import type { Db } from '../db/database.ts';
import { clips, cues as cuesTable, liveSessions, renditions, segments, streams } from '../db/schema.ts';
import { cueMessage } from '../cues/cue-store.ts';
import { badRequest, conflict } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { randomBase62 } from '../streams/stream-keys.ts';
import { pinSpan, productOfSpan, type ClipSpan } from './clip-span.ts';
import type { Queues } from './queues.ts';
import type { RecordingRow } from './recording-builder.ts';

export type ClipRow = typeof clips.$inferSelect;
export type ClipAspect = 'source' | '9:16';

export interface ClipAssets {
  mp4: string;
  hls: string;
  poster: string;
  cues: string;
}

export interface ClipFraming {
  aspect?: ClipAspect;
  cropX?: number;
}

/** Media the clip's cut may fall short of the show's end by rounding: a span this far past the end is still the end. */
const END_TOLERANCE_MS = 250;
/** The shortest clip worth cutting. */
const MIN_CLIP_MS = 500;

/** Where a clip's media live: under its recording, or under the stream for an instant clip. */
export function clipPrefix(playbackId: string, clip: { id: string; recordingId: string | null }): string {
  return clip.recordingId ? `hls/${playbackId}/recordings/${clip.recordingId}/clips/${clip.id}` : `hls/${playbackId}/clips/${clip.id}`;
}

export class ClipStore {
  constructor(
    private readonly db: Db,
    private readonly store: ObjectStore,
    private readonly queues: Queues,
    private readonly maxSeconds: number,
  ) {}

  async get(id: string): Promise<ClipRow | undefined> {
    if (!CLIP_ID.test(id)) return undefined;
    const [row] = await this.db.select().from(clips).where(eq(clips.id, id));
    return row;
  }

  /** A recording's clips, newest first (deleted ones left out). */
  ofRecording(recordingId: string): Promise<ClipRow[]> {
    return this.db
      .select()
      .from(clips)
      .where(and(eq(clips.recordingId, recordingId), ne(clips.status, 'deleted')))
      .orderBy(desc(clips.createdAt));
  }

  /** The stream's session that is live now (on any node), if any. */
  async openSession(streamId: string): Promise<{ id: string; streamId: string } | undefined> {
    const [row] = await this.db
      .select({ id: liveSessions.id, streamId: liveSessions.streamId })
      .from(liveSessions)
      .where(and(eq(liveSessions.streamId, streamId), isNull(liveSessions.endedAt)));
    return row;
  }

  /** The session's cues in order, as every path delivers them. */
  async sessionCues(sessionId: string): Promise<CueMessage[]> {
    const rows = await this.db.select().from(cuesTable).where(eq(cuesTable.sessionId, sessionId)).orderBy(asc(cuesTable.mediaTimeMs), asc(cuesTable.seq));
    return rows.map(cueMessage);
  }

  /** A pin's clip of a ready recording (400 for a cue of another show or not a pin). */
  async fromPin(recording: RecordingRow, cueId: string, framing: ClipFraming): Promise<ClipRow> {
    const showMs = readyDuration(recording);
    const cues = await this.sessionCues(recording.sessionId);
    const pin = cues.find((cue) => cue.id === cueId);
    if (!pin) throw badRequest(`cue ${cueId} is not a cue of this recording's show`);
    if (pin.type !== 'product.pin') throw badRequest(`cue ${cueId} is a ${pin.type}, not a product.pin: clip a pin, or give start and end`);
    const span = pinSpan(pin, cues, showMs, this.maxSeconds * 1000);
    if (span.endMs - span.startMs < MIN_CLIP_MS) throw badRequest(`the pin ${cueId} falls at the very end of the show: nothing to clip`);
    return this.#create({ recording, span, cueId, productId: String(pin.payload.productId), framing });
  }

  /** A range of a ready recording, in its media seconds. */
  async fromRange(recording: RecordingRow, start: number, end: number, framing: ClipFraming): Promise<ClipRow> {
    const showMs = readyDuration(recording);
    const span = { startMs: Math.round(start * 1000), endMs: Math.round(end * 1000) };
    if (span.endMs <= span.startMs) throw badRequest('end must come after start');
    if (span.startMs >= showMs || span.endMs > showMs + END_TOLERANCE_MS)
      throw badRequest(`the span ${start}-${end} s goes beyond the show, which lasts ${(showMs / 1000).toFixed(3)} s`);
    span.endMs = Math.min(span.endMs, showMs);
    if (span.endMs - span.startMs > this.maxSeconds * 1000) throw badRequest(`a clip lasts at most CLIP_MAX_SECONDS (${this.maxSeconds} s)`);
    if (span.endMs - span.startMs < MIN_CLIP_MS) throw badRequest(`a clip lasts at least ${MIN_CLIP_MS / 1000} s`);
    const productId = productOfSpan(span, await this.sessionCues(recording.sessionId));
    return this.#create({ recording, span, cueId: null, productId, framing });
  }

  /** The last seconds of a live session, from the segments stored so far. */
  async lastSeconds(session: { id: string; streamId: string }, seconds: number, framing: ClipFraming): Promise<ClipRow> {
    const top = await this.topRendition(session.id);
    const [last] = top
      ? await this.db
          .select()
          .from(segments)
          .where(and(eq(segments.sessionId, session.id), eq(segments.rendition, top)))
          .orderBy(desc(segments.sequence))
          .limit(1)
      : [];
    if (!last) throw conflict('the show has no stored segments yet: try again in a few seconds');
    const endMs = last.mediaStartMs + last.durationMs;
    const span = { startMs: Math.max(0, endMs - Math.round(seconds * 1000)), endMs };
    const productId = productOfSpan(span, await this.sessionCues(session.id));
    return this.#insert({ streamId: session.streamId, sessionId: session.id, recordingId: null, span, cueId: null, productId, framing });
  }

  /** Every product pin of a built recording becomes a clip (AUTO_CLIPS); pins already clipped are left. */
  async autoClips(recording: RecordingRow): Promise<ClipRow[]> {
    const cues = await this.sessionCues(recording.sessionId);
    const existing = await this.db.select({ cueId: clips.cueId }).from(clips).where(eq(clips.recordingId, recording.id));
    const done = new Set(existing.map((row) => row.cueId));
    const made: ClipRow[] = [];
    for (const pin of cues.filter((cue) => cue.type === 'product.pin' && !done.has(cue.id))) {
      const span = pinSpan(pin, cues, readyDuration(recording), this.maxSeconds * 1000);
      if (span.endMs - span.startMs < MIN_CLIP_MS) continue;
      made.push(await this.#create({ recording, span, cueId: pin.id, productId: String(pin.payload.productId), framing: {} }));
    }
    return made;
  }

  /** The tallest rendition of a session: the one clips are cut from. */
  async topRendition(sessionId: string): Promise<string | undefined> {
    const rows = await this.db.select().from(renditions).where(eq(renditions.sessionId, sessionId));
    return rows.sort((a, b) => b.height - a.height)[0]?.name;
  }

  async markProcessing(id: string): Promise<void> {
    await this.db.update(clips).set({ status: 'processing', failureReason: null }).where(eq(clips.id, id));
  }

  async markReady(id: string, durationMs: number, assets: ClipAssets): Promise<ClipRow | undefined> {
    const [row] = await this.db
      .update(clips)
      .set({ status: 'ready', durationMs, assets, readyAt: new Date() })
      .where(and(eq(clips.id, id), ne(clips.status, 'deleted')))
      .returning();
    return row;
  }

  async markFailed(id: string, reason: string): Promise<ClipRow | undefined> {
    const [row] = await this.db
      .update(clips)
      .set({ status: 'failed', failureReason: reason.slice(0, 500) })
      .where(and(eq(clips.id, id), ne(clips.status, 'deleted')))
      .returning();
    return row;
  }

  /** Deletes the clip's objects; the row stays as `deleted` (the API answers 404 for it). */
  async deleteMedia(clip: ClipRow): Promise<void> {
    await deleteClipsMedia(this.db, this.store, [clip]);
  }

  async #create(plan: { recording: RecordingRow; span: ClipSpan; cueId: string | null; productId: string | null; framing: ClipFraming }): Promise<ClipRow> {
    const { recording } = plan;
    return this.#insert({ ...plan, streamId: recording.streamId, sessionId: recording.sessionId, recordingId: recording.id });
  }

  async #insert(plan: {
    streamId: string;
    sessionId: string;
    recordingId: string | null;
    span: ClipSpan;
    cueId: string | null;
    productId: string | null;
    framing: ClipFraming;
  }): Promise<ClipRow> {
    const [row] = await this.db
      .insert(clips)
      .values({
        id: `clp_${randomBase62(16)}`,
        streamId: plan.streamId,
        sessionId: plan.sessionId,
        recordingId: plan.recordingId,
        cueId: plan.cueId,
        productId: plan.productId,
        startMs: plan.span.startMs,
        endMs: plan.span.endMs,
        aspect: plan.framing.aspect ?? 'source',
        cropX: plan.framing.cropX ?? 0.5,
      })
      .returning();
    await this.queues.clips.add('cut', { clipId: row!.id }, { jobId: row!.id });
    return row!;
  }
}

function readyDuration(recording: RecordingRow): number {
  if (recording.status !== 'ready' || recording.durationMs === null) throw conflict(`the recording is ${recording.status}: clip it once it is ready`);
  return recording.durationMs;
}

/** Deletes clips' objects and marks their rows deleted (a clip's own DELETE, or its recording's). */
export async function deleteClipsMedia(db: Db, store: ObjectStore, rows: ClipRow[]): Promise<void> {
  const live = rows.filter((row) => row.status !== 'deleted');
  if (live.length === 0) return;
  const streamRows = await db
    .select({ id: streams.id, playbackId: streams.playbackId })
    .from(streams)
    .where(inArray(streams.id, [...new Set(live.map((row) => row.streamId))]));
  const playbackIds = new Map(streamRows.map((row) => [row.id, row.playbackId]));
  for (const clip of live) {
    const playbackId = playbackIds.get(clip.streamId);
    if (playbackId) await store.delete(await store.list(`${clipPrefix(playbackId, clip)}/`));
  }
  await db
    .update(clips)
    .set({ status: 'deleted', deletedAt: new Date() })
    .where(
      inArray(
        clips.id,
        live.map((row) => row.id),
      ),
    );
}

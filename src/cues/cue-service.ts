// Places commerce cues on a live show's media timeline: validates against the catalogue, applies the
// per-stream rate limit, stores the cue with media and wall-clock time, and hands it to every path.
import { badRequest, LivecueError } from '../errors.ts';
import type { SessionRegistry } from '../live/session-registry.ts';
import type { Logger } from '../log.ts';
import type { ProductStore } from '../products/product-store.ts';
import { randomBase62 } from '../streams/stream-keys.ts';
import { RateLimiter } from '../rate-limit.ts';
import type { StreamRow } from '../streams/stream-store.ts';
import type { CueHub } from './cue-hub.ts';
import type { CueMessage } from '../contract/cue-message.ts';
import type { CueBody } from '../contract/cues.ts';
import { cueMessage, type CueStore } from './cue-store.ts';

/** How far ahead of the live edge a cue may be placed (a scheduled reveal, not a show's worth of cues queued up). */
const MAX_CUE_LEAD_SECONDS = 600;

/** Splits a request into the cue's payload and its timing fields. */
function payloadOf(body: CueBody): Record<string, unknown> {
  const { type: _type, at: _at, idempotencyKey: _key, ...payload } = body as CueBody & Record<string, unknown>;
  return payload;
}

export class CueService {
  #limiter: RateLimiter;

  constructor(
    private readonly deps: {
      cues: CueStore;
      products: ProductStore;
      registry: SessionRegistry;
      hub: CueHub;
      logger: Logger;
      ratePerSecond: number;
      /** Cues one show may hold: every viewer who joins loads them all (MAX_CUES_PER_SHOW). */
      maxCuesPerShow: number;
      /** Opens and closes offers with inventory from offer cues. */
      onPlaced?: (streamId: string, cue: CueMessage) => Promise<void>;
      /** Viewers' votes of a poll, index -> count: a poll.close without results publishes them. */
      pollTally?: (pollId: string) => Promise<Record<string, number>>;
    },
  ) {
    this.#limiter = new RateLimiter(deps.ratePerSecond, deps.ratePerSecond * 2);
  }

  async create(stream: StreamRow, body: CueBody, idempotencyHeader?: string): Promise<{ cue: CueMessage; created: boolean }> {
    const session = this.deps.registry.get(stream.id);
    if (!session) throw new LivecueError('conflict', "the stream is not live on this node: cues go on a live show's timeline");
    const retryInMs = this.#limiter.take(stream.id);
    if (retryInMs > 0) throw new LivecueError('rate_limited', 'too many cues for this stream; slow down', { retryAfterMs: retryInMs });
    if (session.cues.length >= this.deps.maxCuesPerShow)
      throw new LivecueError('conflict', `a show holds at most ${this.deps.maxCuesPerShow} cues (MAX_CUES_PER_SHOW)`);

    if ('productId' in body && body.productId && (body.type === 'product.pin' || body.type === 'offer.start')) {
      if (!(await this.deps.products.get(body.productId))) throw badRequest(`unknown product ${body.productId}`);
    }
    const { mediaTime, wallClock } = this.#placement(session, body);
    if (mediaTime - session.now().mediaTime > MAX_CUE_LEAD_SECONDS)
      throw badRequest(`a cue may be placed at most ${MAX_CUE_LEAD_SECONDS} s of media ahead of the live edge`);
    const payload = payloadOf(body);
    let durationMs: number | undefined;
    if (body.type === 'offer.start') {
      const deadline = body.deadline ? Date.parse(body.deadline) : undefined;
      if (deadline !== undefined && deadline <= wallClock) throw badRequest("the offer's deadline is before the cue");
      durationMs = deadline !== undefined ? deadline - wallClock : body.durationSeconds !== undefined ? body.durationSeconds * 1000 : undefined;
    }
    if (body.type === 'poll.close' && body.pollId && body.results === undefined && this.deps.pollTally) {
      const tally = await this.deps.pollTally(body.pollId);
      const options = Math.max(0, ...Object.keys(tally).map((option) => Number(option) + 1));
      payload.results = Array.from({ length: options }, (_, option) => tally[String(option)] ?? 0);
    }
    if (body.type === 'poll.open') {
      payload.pollId ??= `poll_${randomBase62(10)}`;
      if (body.durationSeconds !== undefined) durationMs = body.durationSeconds * 1000;
    }

    const { row, created } = await this.deps.cues.insert({
      streamId: stream.id,
      sessionId: session.id,
      type: body.type,
      payload,
      mediaTimeMs: Math.round(mediaTime * 1000),
      wallClock: new Date(wallClock),
      durationMs: durationMs === undefined ? undefined : Math.round(durationMs),
      idempotencyKey: body.idempotencyKey ?? idempotencyHeader,
    });
    const cue = cueMessage(row);
    if (created) {
      await this.deps.onPlaced?.(stream.id, cue).catch((error: Error) => this.deps.logger.error({ err: error, cueId: cue.id }, 'cue follow-up failed'));
      session.addCue(cue);
      await this.deps.hub
        .publish(stream.playbackId, cue)
        .catch((error: Error) => this.deps.logger.warn({ err: error }, 'cannot publish the cue to other nodes'));
      this.deps.logger.info({ streamId: stream.id, cueId: cue.id, seq: cue.seq, type: cue.type, mediaTime: cue.mediaTime }, 'cue placed');
    }
    return { cue, created };
  }

  /** The cue's media time and the wall clock of that frame, from `at` or from now. */
  #placement(session: NonNullable<ReturnType<SessionRegistry['get']>>, body: CueBody): { mediaTime: number; wallClock: number } {
    const at = body.at;
    if (!at) return session.now();
    if ('mediaTime' in at) {
      const wallClock = session.timeline.wallClockAt(at.mediaTime, { extrapolate: true });
      if (wallClock === undefined) throw badRequest('the show has no media yet: place the cue without "at"');
      return { mediaTime: at.mediaTime, wallClock };
    }
    const wallClock = Date.parse(at.wallClock);
    const mediaTime = session.timeline.mediaTimeAt(wallClock, { extrapolate: session.connected });
    if (mediaTime === undefined) throw badRequest('"at.wallClock" is before the show started');
    return { mediaTime, wallClock: session.timeline.wallClockAt(mediaTime, { extrapolate: true }) ?? wallClock };
  }

  /** The cues of the stream's live show, or of its last show: media times belong to one session. */
  async list(stream: StreamRow): Promise<CueMessage[]> {
    const live = this.deps.registry.get(stream.id);
    const rows = await this.deps.cues.list(stream.id);
    const sessionId = live?.id ?? rows.at(-1)?.sessionId;
    return rows.filter((row) => row.sessionId === sessionId).map(cueMessage);
  }
}

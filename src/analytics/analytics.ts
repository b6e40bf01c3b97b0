// Live analytics of a stream, shared by every node through Redis: concurrent viewers by path and
// their watch time (WebRTC joins, refreshes and leaves; HLS and replay player beats), per-minute
// counters with the minute's peak, and per pinned product: who watched while it was pinned and for
// how long, who tapped its card, the claims it drew. Prometheus gets per-node totals only, labelled
// with small fixed sets (never a stream, viewer or product id).
//
// Redis keys, all under stats:<streamId> and kept KEEP_SECONDS after their last write:
//   :minutes                 zset of the minutes that have a row
//   :<minute>                hash chat, reactions, votes, claims, cues, taps, watchMs, peakViewers
//   :beats:<path>            zset viewer -> last beat (ms); WebRTC viewers are beaten by their node
//   :watch                   hash path -> viewer-milliseconds watched
//   :pin                     the pin cue showing now on the live paths
//   :pins                    zset pin cue -> when it was pinned (ms)
//   :latest-pin              hash product -> its newest pin cue
//   :pin:<cue>               hash productId, at, endedAt, exposureMs, taps, claims, firstClaimAt
//   :pin:<cue>:viewers       set of viewers watching live while it was pinned
//   :pin:<cue>:clickers      set of viewers who tapped its card
//
// Each update that reads before it writes is one Lua script, so beats, pins, taps and claims from
// several nodes never see each other half-done. The scripts derive these keys from the stream's base
// key (KEYS[1]): they need one Redis (or one cluster slot per stream, the base key as a hash tag).
import type { Redis } from 'ioredis';
import { TurnBatch } from '../turn-batch.ts';
import type { CueMessage } from '../contract/cue-message.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { readLua } from '../redis/lua.ts';

export type ViewerPath = 'webrtc' | 'hls' | 'replay';
export type Counter = 'chat' | 'reactions' | 'votes' | 'cues';
export const VIEWER_PATHS: readonly ViewerPath[] = ['webrtc', 'hls', 'replay'];

/** A viewer counts as watching for this long after its last beat (players beat every ~10 s). */
export const BEAT_WINDOW_MS = 30_000;
/** How often a node vouches for the WebRTC viewers connected to it (well inside the window). */
const WEBRTC_REFRESH_MS = 10_000;
const KEEP_SECONDS = 7 * 86_400;

const minuteOf = (at: number) => Math.floor(at / 60_000) * 60_000;

const BEAT_SCRIPT = readLua(new URL('./lua/beat.lua', import.meta.url));

const PIN_SCRIPT = readLua(new URL('./lua/pin.lua', import.meta.url));

const CLICK_SCRIPT = readLua(new URL('./lua/click.lua', import.meta.url));

const CLAIM_SCRIPT = readLua(new URL('./lua/claim.lua', import.meta.url));

/** How many distinct members the given sets hold together, without sending them to the client. */
const UNION_COUNT_SCRIPT = `return #redis.call('SUNION', unpack(KEYS))`;

type Scripted = {
  livecueAnalyticsBeat(base: string, ...args: (string | number)[]): Promise<number>;
  livecueAnalyticsPin(base: string, ...args: (string | number)[]): Promise<number>;
  livecueAnalyticsClick(base: string, ...args: (string | number)[]): Promise<number>;
  livecueAnalyticsClaim(base: string, ...args: (string | number)[]): Promise<number>;
  livecueAnalyticsUnionCount(keyCount: number, ...keys: string[]): Promise<number>;
};

export interface PinStats {
  cueId: string;
  productId: string;
  /** Epoch ms. */
  pinnedAt: number;
  endedAt: number | null;
  /** Distinct viewers watching live while it was pinned. */
  views: number;
  exposureMs: number;
  /** Distinct viewers who tapped its card. */
  clicks: number;
  taps: number;
  /** Claims on the product while it was pinned. */
  claims: number;
  firstClaimAt: number | null;
}

export type MinuteRow = {
  minute: string;
  chat: number;
  reactions: number;
  votes: number;
  claims: number;
  cues: number;
  taps: number;
  peakViewers: number;
  watchSeconds: number;
};

const base = (streamId: string) => `stats:${streamId}`;
const seconds = (ms: number) => Math.round(ms / 100) / 10;

export class Analytics {
  readonly #redis: Redis & Scripted;
  /** Claims of this turn not yet counted, per stream and product. */
  readonly #claims = new TurnBatch<undefined>(async (key, claims) => {
    const [streamId, productId] = key.split('\n') as [string, string];
    const now = Date.now();
    await this.#redis.livecueAnalyticsClaim(base(streamId), productId, now, KEEP_SECONDS, minuteOf(now), claims.length);
  });
  readonly #metrics: Metrics | undefined;
  /** WHEP sessions connected to this node -> their stream: beaten every WEBRTC_REFRESH_MS. */
  /** WHEP session id -> the stream and the viewer it counts as (the page's viewer id, else the session). */
  readonly #webrtcHere = new Map<string, { streamId: string; viewerId: string }>();
  /** HLS and replay viewers whose beats reach this node (`path stream viewer` -> last beat), for the gauge. */
  readonly #beatsHere = new Map<string, number>();
  readonly #beatsHereByPath = { hls: 0, replay: 0 };
  readonly #refresh: NodeJS.Timeout;

  constructor(redis: Redis, metrics?: Metrics) {
    redis.defineCommand('livecueAnalyticsBeat', { numberOfKeys: 1, lua: BEAT_SCRIPT });
    redis.defineCommand('livecueAnalyticsPin', { numberOfKeys: 1, lua: PIN_SCRIPT });
    redis.defineCommand('livecueAnalyticsClick', { numberOfKeys: 1, lua: CLICK_SCRIPT });
    redis.defineCommand('livecueAnalyticsClaim', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
    redis.defineCommand('livecueAnalyticsUnionCount', { lua: UNION_COUNT_SCRIPT });
    this.#redis = redis as Redis & Scripted;
    this.#metrics = metrics;
    for (const path of VIEWER_PATHS) metrics?.viewers.set({ path }, 0);
    this.#refresh = setInterval(() => void this.#refreshHere(), WEBRTC_REFRESH_MS);
    this.#refresh.unref();
  }

  close(): void {
    clearInterval(this.#refresh);
  }

  async count(streamId: string, counter: Counter, n = 1, at = Date.now()): Promise<void> {
    if (counter === 'chat') this.#metrics?.chatMessages.inc(n);
    else if (counter === 'reactions') this.#metrics?.reactions.inc(n);
    else if (counter === 'votes') this.#metrics?.pollVotes.inc(n);
    const key = `${base(streamId)}:${minuteOf(at)}`;
    await this.#redis
      .multi()
      .hincrby(key, counter, n)
      .expire(key, KEEP_SECONDS)
      .zadd(`${base(streamId)}:minutes`, minuteOf(at), String(minuteOf(at)))
      .exec();
  }

  /** A WHEP viewer connected to this node; it counts until webrtcLeft (or its node stops vouching). */
  async webrtcJoined(streamId: string, sessionId: string, viewerId = sessionId): Promise<void> {
    this.#webrtcHere.set(sessionId, { streamId, viewerId });
    this.#metrics?.viewers.set({ path: 'webrtc' }, this.#webrtcHere.size);
    await this.#beat(streamId, 'webrtc', viewerId, false);
  }

  async webrtcLeft(streamId: string, sessionId: string): Promise<void> {
    const viewerId = this.#webrtcHere.get(sessionId)?.viewerId ?? sessionId;
    this.#webrtcHere.delete(sessionId);
    this.#metrics?.viewers.set({ path: 'webrtc' }, this.#webrtcHere.size);
    await this.#beat(streamId, 'webrtc', viewerId, true);
  }

  /** A player says it is still watching (every ~10 s); `leaving` when it stops. */
  async beat(streamId: string, viewerId: string, path: 'hls' | 'replay', options: { leaving?: boolean } = {}): Promise<void> {
    const key = `${path} ${streamId} ${viewerId}`;
    const known = this.#beatsHere.has(key);
    if (options.leaving) {
      if (known) this.#beatsHereByPath[path]--;
      this.#beatsHere.delete(key);
    } else {
      if (!known) this.#beatsHereByPath[path]++;
      this.#beatsHere.set(key, Date.now());
    }
    this.#publishBeatsHere();
    await this.#beat(streamId, path, viewerId, options.leaving ?? false);
  }

  /** Every placed cue counts; product.pin and product.unpin move the stream's pinned product. */
  async cuePlaced(streamId: string, cue: CueMessage): Promise<void> {
    await this.count(streamId, 'cues');
    const productId = typeof cue.payload.productId === 'string' ? cue.payload.productId : '';
    if (cue.type === 'product.pin' && productId) await this.#pin(streamId, 'pin', cue.id, productId);
    if (cue.type === 'product.unpin') await this.#pin(streamId, 'unpin', '', productId);
  }

  /** The show is over: nothing stays pinned on the live paths. */
  async showEnded(streamId: string): Promise<void> {
    await this.#pin(streamId, 'end', '', '');
  }

  /** A viewer tapped a pinned product's card; false when there is no such pin. */
  async click(streamId: string, viewerId: string, target: { cueId?: string; productId?: string }): Promise<boolean> {
    const minute = minuteOf(Date.now());
    const result = await this.#redis.livecueAnalyticsClick(base(streamId), target.cueId ?? '', target.productId ?? '', viewerId, KEEP_SECONDS, minute);
    if (result > 0) this.#metrics?.productClicks.inc();
    return result > 0;
  }

  /**
   * A claim was reserved on an offer of this product; it is counted with the others of the same turn of the event
   * loop (a rush): one script call per product.
   */
  claimed(streamId: string, productId: string): Promise<void> {
    return this.#claims.add(`${streamId}\n${productId}`, undefined);
  }

  async viewers(streamId: string, at = Date.now()): Promise<Record<ViewerPath, number> & { total: number }> {
    const since = at - BEAT_WINDOW_MS;
    const pipeline = this.#redis.pipeline();
    for (const path of VIEWER_PATHS) pipeline.zcount(`${base(streamId)}:beats:${path}`, since, '+inf');
    const results = (await pipeline.exec()) ?? [];
    const [webrtc, hls, replay] = results.map(([error, value]) => (error ? 0 : Number(value)));
    return { webrtc: webrtc ?? 0, hls: hls ?? 0, replay: replay ?? 0, total: (webrtc ?? 0) + (hls ?? 0) + (replay ?? 0) };
  }

  /** Viewer-milliseconds watched, by path. */
  async watchTime(streamId: string): Promise<Record<ViewerPath, number>> {
    const raw = await this.#redis.hgetall(`${base(streamId)}:watch`);
    return { webrtc: Number(raw.webrtc ?? 0), hls: Number(raw.hls ?? 0), replay: Number(raw.replay ?? 0) };
  }

  async perMinute(streamId: string): Promise<MinuteRow[]> {
    const minutes = await this.#redis.zrange(`${base(streamId)}:minutes`, 0, -1);
    const pipeline = this.#redis.pipeline();
    for (const minute of minutes) pipeline.hgetall(`${base(streamId)}:${minute}`);
    const rows = (await pipeline.exec()) ?? [];
    return minutes.map((minute, index) => {
      const values = (rows[index]?.[1] ?? {}) as Record<string, string>;
      const field = (name: string) => Number(values[name] ?? 0);
      return {
        minute: new Date(Number(minute)).toISOString(),
        chat: field('chat'),
        reactions: field('reactions'),
        votes: field('votes'),
        claims: field('claims'),
        cues: field('cues'),
        taps: field('taps'),
        peakViewers: field('peakViewers'),
        watchSeconds: seconds(field('watchMs')),
      };
    });
  }

  /** The stream's pins in the order they were placed, with the pin showing now marked by `endedAt: null`. */
  async pins(streamId: string): Promise<PinStats[]> {
    const listed = await this.#redis.zrange(`${base(streamId)}:pins`, 0, -1);
    const pipeline = this.#redis.pipeline();
    for (const cueId of listed) {
      const pinKey = `${base(streamId)}:pin:${cueId}`;
      pipeline.hgetall(pinKey).scard(`${pinKey}:viewers`).scard(`${pinKey}:clickers`);
    }
    const results = (await pipeline.exec()) ?? [];
    const pins: PinStats[] = [];
    listed.forEach((cueId, index) => {
      const fields = (results[index * 3]?.[1] ?? {}) as Record<string, string>;
      if (!fields.productId) return; // expired
      const optional = (name: string) => (fields[name] === undefined ? null : Number(fields[name]));
      pins.push({
        cueId,
        productId: fields.productId,
        pinnedAt: Number(fields.at),
        endedAt: optional('endedAt'),
        views: Number(results[index * 3 + 1]?.[1] ?? 0),
        exposureMs: Number(fields.exposureMs ?? 0),
        clicks: Number(results[index * 3 + 2]?.[1] ?? 0),
        taps: Number(fields.taps ?? 0),
        claims: Number(fields.claims ?? 0),
        firstClaimAt: optional('firstClaimAt'),
      });
    });
    return pins;
  }

  /** Distinct viewers over several pins (a product pinned more than once): `viewers` saw one, `clickers` tapped one. */
  async distinct(streamId: string, cueIds: string[], set: 'viewers' | 'clickers'): Promise<number> {
    if (cueIds.length === 0) return 0;
    const keys = cueIds.map((cueId) => `${base(streamId)}:pin:${cueId}:${set}`);
    return Number(await this.#redis.livecueAnalyticsUnionCount(keys.length, ...keys));
  }

  async #beat(streamId: string, path: ViewerPath, viewerId: string, leaving: boolean): Promise<void> {
    const now = Date.now();
    await this.#redis.livecueAnalyticsBeat(base(streamId), path, viewerId, now, BEAT_WINDOW_MS, KEEP_SECONDS, minuteOf(now), leaving ? '1' : '0');
  }

  async #pin(streamId: string, mode: 'pin' | 'unpin' | 'end', cueId: string, productId: string): Promise<void> {
    await this.#redis.livecueAnalyticsPin(base(streamId), mode, cueId, productId, Date.now(), BEAT_WINDOW_MS, KEEP_SECONDS);
  }

  /** This node's WebRTC viewers are still connected: they keep counting and their watch time grows. */
  async #refreshHere(): Promise<void> {
    for (const { streamId, viewerId } of this.#webrtcHere.values()) await this.#beat(streamId, 'webrtc', viewerId, false).catch(() => {});
    // Players that stopped beating here drop out of the gauge.
    const since = Date.now() - BEAT_WINDOW_MS;
    for (const [key, at] of this.#beatsHere) {
      if (at >= since) continue;
      this.#beatsHere.delete(key);
      this.#beatsHereByPath[key.startsWith('hls ') ? 'hls' : 'replay']--;
    }
    this.#publishBeatsHere();
  }

  #publishBeatsHere(): void {
    this.#metrics?.viewers.set({ path: 'hls' }, this.#beatsHereByPath.hls);
    this.#metrics?.viewers.set({ path: 'replay' }, this.#beatsHereByPath.replay);
  }
}

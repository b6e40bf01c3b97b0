// Live analytics of a stream, shared by every node through Redis: per-minute counters (chat,
// reactions, votes, claims, cues), concurrent viewers by path (WebRTC joins and leaves; HLS and
// replay from player beats), and the peak. Labels stay bounded: one hash per stream and minute.
import type { Redis } from 'ioredis';

export type ViewerPath = 'webrtc' | 'hls' | 'replay';
export type Counter = 'chat' | 'reactions' | 'votes' | 'claims' | 'cues';

const BEAT_WINDOW_MS = 30_000;
const KEEP_SECONDS = 7 * 86_400;

const minuteOf = (at: number) => Math.floor(at / 60_000) * 60_000;

export class Analytics {
  constructor(private readonly redis: Redis) {}

  async count(streamId: string, counter: Counter, n = 1, at = Date.now()): Promise<void> {
    const key = `stats:${streamId}:${minuteOf(at)}`;
    await this.redis.multi().hincrby(key, counter, n).expire(key, KEEP_SECONDS).zadd(`stats:${streamId}:minutes`, minuteOf(at), String(minuteOf(at))).exec();
  }

  /** A WebRTC viewer joined (+1) or left (-1). */
  async webrtcViewer(streamId: string, delta: 1 | -1): Promise<void> {
    await this.redis.hincrby(`viewers:${streamId}`, 'webrtc', delta);
    if (delta === 1) await this.#notePeak(streamId);
  }

  /** A player says it is still watching (every ~10 s). */
  async beat(streamId: string, viewerId: string, path: ViewerPath, at = Date.now()): Promise<void> {
    await this.redis.zadd(`beats:${streamId}:${path}`, at, viewerId);
    await this.#notePeak(streamId);
  }

  async viewers(streamId: string, at = Date.now()): Promise<Record<ViewerPath, number> & { total: number }> {
    const since = at - BEAT_WINDOW_MS;
    const counts = { webrtc: Math.max(0, Number((await this.redis.hget(`viewers:${streamId}`, 'webrtc')) ?? 0)), hls: 0, replay: 0 };
    for (const path of ['hls', 'replay'] as const) {
      const key = `beats:${streamId}:${path}`;
      await this.redis.zremrangebyscore(key, 0, since);
      counts[path] = await this.redis.zcount(key, since, '+inf');
    }
    return { ...counts, total: counts.webrtc + counts.hls + counts.replay };
  }

  async perMinute(streamId: string): Promise<Record<string, string | number>[]> {
    const minutes = await this.redis.zrange(`stats:${streamId}:minutes`, 0, -1);
    const rows = [];
    for (const minute of minutes) {
      const values = await this.redis.hgetall(`stats:${streamId}:${minute}`);
      rows.push({ minute: new Date(Number(minute)).toISOString(), ...Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Number(v)])) });
    }
    return rows;
  }

  async #notePeak(streamId: string): Promise<void> {
    const { total } = await this.viewers(streamId);
    const key = `stats:${streamId}:${minuteOf(Date.now())}`;
    const current = Number((await this.redis.hget(key, 'peakViewers')) ?? 0);
    if (total > current) await this.redis.multi().hset(key, 'peakViewers', total).expire(key, KEEP_SECONDS).zadd(`stats:${streamId}:minutes`, minuteOf(Date.now()), String(minuteOf(Date.now()))).exec();
  }
}

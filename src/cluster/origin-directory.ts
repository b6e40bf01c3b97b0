// Where each live show is hosted: the origin node of a stream, recorded in Redis by the node that
// accepted the publish and refreshed while the show runs. Other nodes read it to serve the show's
// WebRTC viewers (piping media from the origin) and to forward cues to the show's timeline.
// It also records which node holds each WHIP/WHEP session, so a DELETE that a load balancer sends
// to another node still ends it.
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';

export interface OriginRecord {
  nodeId: string;
  /** How other nodes reach the origin node's HTTP port (internal network). */
  internalUrl: string;
  sessionId: string;
  /** Bumped when the show's producers are replaced (encoder reconnect, worker loss): edges re-pipe. */
  generation: number;
}

/** A record outlives a crashed node by at most this; live nodes refresh it well before. */
const TTL_SECONDS = 15;
/** A WebRTC session record outlives any session (they are deleted when the session closes). */
const SESSION_TTL_SECONDS = 24 * 3600;

export interface NodeAddress {
  nodeId: string;
  internalUrl: string;
}
const REFRESH_MS = 5_000;

export class OriginDirectory {
  #local = new Map<string, OriginRecord>();
  #timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {
    this.#timer = setInterval(() => void this.#refresh(), REFRESH_MS);
    this.#timer.unref();
  }

  /** This node hosts the stream's show (or its producers changed): tell the cluster. */
  async announce(streamId: string, record: OriginRecord): Promise<void> {
    this.#local.set(streamId, record);
    await this.redis.set(this.#key(streamId), JSON.stringify(record), 'EX', TTL_SECONDS);
  }

  /** The show ended here: drop the record, unless another node has taken the stream since. */
  async withdraw(streamId: string, sessionId: string): Promise<void> {
    if (this.#local.get(streamId)?.sessionId === sessionId) this.#local.delete(streamId);
    const current = await this.lookup(streamId);
    if (current?.sessionId === sessionId) await this.redis.del(this.#key(streamId));
  }

  /** This node holds a WHIP/WHEP session. */
  async recordSession(sessionId: string, node: NodeAddress): Promise<void> {
    await this.redis.set(`session:${sessionId}`, JSON.stringify(node), 'EX', SESSION_TTL_SECONDS);
  }

  async dropSession(sessionId: string): Promise<void> {
    await this.redis.del(`session:${sessionId}`);
  }

  async sessionNode(sessionId: string): Promise<NodeAddress | undefined> {
    const text = await this.redis.get(`session:${sessionId}`);
    return text ? (JSON.parse(text) as NodeAddress) : undefined;
  }

  async lookup(streamId: string): Promise<OriginRecord | undefined> {
    const text = await this.redis.get(this.#key(streamId));
    if (!text) return undefined;
    try {
      return JSON.parse(text) as OriginRecord;
    } catch {
      return undefined;
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #key(streamId: string): string {
    return `origin:${streamId}`;
  }

  async #refresh(): Promise<void> {
    for (const [streamId, record] of this.#local) {
      await this.redis
        .set(this.#key(streamId), JSON.stringify(record), 'EX', TTL_SECONDS)
        .catch((error: Error) => this.logger.warn({ err: error, streamId }, 'cannot refresh the origin record'));
    }
  }
}

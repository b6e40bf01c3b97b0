// The live sessions of this node, and the one decision every publish goes through: accept (start or
// resume a session) or refuse, before any media is forwarded.
import type { IngestConnection } from '../ingest/ingest-connection.ts';
import type { StreamStore } from '../streams/stream-store.ts';
import { LiveSession, type LiveSessionDeps } from './live-session.ts';

export type PublishRefusal = 'unknown_key' | 'already_live' | 'unavailable';

export type PublishOutcome = { accepted: true; session: LiveSession; resumed: boolean } | { accepted: false; reason: PublishRefusal };

export class SessionRegistry {
  readonly #sessions = new Map<string, LiveSession>();
  /** Streams with a publish being decided, so two racing encoders cannot both start a session here. */
  readonly #deciding = new Set<string>();
  #closed = false;
  #draining = false;

  constructor(
    /** `acceptsPublishes`: false on nodes whose role takes no encoders (api, sfu). */
    private readonly deps: LiveSessionDeps & { streams: StreamStore; acceptsPublishes: boolean },
  ) {}

  /** False on nodes whose role takes no encoders, and once the node drains. */
  get acceptsPublishes(): boolean {
    return this.deps.acceptsPublishes && !this.#draining && !this.#closed;
  }

  /** A draining node finishes the shows it has (reconnecting encoders included) but starts no new one. */
  drain(): void {
    this.#draining = true;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(streamId: string): LiveSession | undefined {
    return this.#sessions.get(streamId);
  }

  all(): LiveSession[] {
    return [...this.#sessions.values()];
  }

  async publish(streamKey: string, ingest: IngestConnection): Promise<PublishOutcome> {
    if (this.#closed || !this.deps.acceptsPublishes) return { accepted: false, reason: 'unavailable' };
    const stream = await this.deps.streams.authenticate(streamKey);
    if (!stream) return { accepted: false, reason: 'unknown_key' };
    if (this.#deciding.has(stream.id)) return { accepted: false, reason: 'already_live' };
    const existing = this.#sessions.get(stream.id);
    if (existing) {
      return existing.resume(ingest) ? { accepted: true, session: existing, resumed: true } : { accepted: false, reason: 'already_live' };
    }
    if (this.#draining) return { accepted: false, reason: 'unavailable' };
    this.#deciding.add(stream.id);
    try {
      const session = await LiveSession.open(stream, ingest, this.deps);
      if (!session) return { accepted: false, reason: 'already_live' };
      this.#sessions.set(stream.id, session);
      session.once('closed', () => {
        if (this.#sessions.get(stream.id) === session) this.#sessions.delete(stream.id);
      });
      return { accepted: true, session, resumed: false };
    } finally {
      this.#deciding.delete(stream.id);
    }
  }

  /** Ends a stream's show (stream deleted, or the operator stopped it). */
  async end(streamId: string, reason: string): Promise<void> {
    await this.#sessions.get(streamId)?.end(reason);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.all().map((session) => session.end('shutdown')));
  }
}

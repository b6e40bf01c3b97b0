// The live sessions of this node, and the one decision every publish goes through: accept (start or
// resume a session) or refuse, before any media is forwarded.
import { and, eq, isNull } from 'drizzle-orm';
import { liveSessions } from '../db/schema.ts';
import type { IngestConnection } from '../ingest/ingest-connection.ts';
import type { StreamStore } from '../streams/stream-store.ts';
import { TypedEmitter } from '../contract/typed-emitter.ts';
import { LiveSession, type LiveSessionDeps } from './live-session.ts';

export type PublishRefusal = 'unknown_key' | 'already_live' | 'unavailable';

export type PublishOutcome = { accepted: true; session: LiveSession; resumed: boolean } | { accepted: false; reason: PublishRefusal };

export type SessionRegistryEvents = {
  /** A show started on this node: its room exists and its encoder is attached (HLS is not playable yet). */
  sessionStarted: [LiveSession];
  /**
   * A show ended and its last segments are stored. Listeners run one after another and are awaited: the
   * session's end (and the node's stop) waits for them, so a recording is queued before the queues close.
   */
  sessionEnded: [LiveSession, string];
};

export class SessionRegistry extends TypedEmitter<SessionRegistryEvents> {
  readonly #sessions = new Map<string, LiveSession>();
  /** Streams with a publish being decided, so two racing encoders cannot both start a session here. */
  readonly #deciding = new Set<string>();
  #closed = false;
  #draining = false;

  constructor(
    /** `acceptsPublishes`: false on nodes whose role takes no encoders (api, sfu). */
    private readonly deps: Omit<LiveSessionDeps, 'ended'> & { streams: StreamStore; acceptsPublishes: boolean },
  ) {
    super((error, event) => deps.logger.error({ err: error, event }, 'a listener of the live sessions failed'));
  }

  /**
   * Sessions this node left open when it last stopped cannot be live any more: they are ended (reason
   * `node_restarted`) and their streams marked ended. Returns how many there were.
   */
  async endLeftoverSessions(): Promise<number> {
    const { db, nodeId, streams } = this.deps;
    const orphans = await db
      .update(liveSessions)
      .set({ endedAt: new Date(), endReason: 'node_restarted' })
      .where(and(eq(liveSessions.nodeId, nodeId), isNull(liveSessions.endedAt)))
      .returning({ streamId: liveSessions.streamId });
    for (const { streamId } of orphans) await streams.setStatus(streamId, 'ended');
    return orphans.length;
  }

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
      const session = await LiveSession.open(stream, ingest, { ...this.deps, ended: (ended, reason) => this.emitSerial('sessionEnded', ended, reason) });
      if (!session) return { accepted: false, reason: 'already_live' };
      this.#sessions.set(stream.id, session);
      session.once('closed', () => {
        if (this.#sessions.get(stream.id) === session) this.#sessions.delete(stream.id);
      });
      this.emit('sessionStarted', session);
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

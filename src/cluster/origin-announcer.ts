// Tells the cluster which shows this node hosts: each show that starts here is announced in the origin
// directory, announced again with a new generation when its producers change (edge nodes then re-pipe),
// and withdrawn when it ends.
import type { LiveSession } from '../live/live-session.ts';
import type { SessionRegistry } from '../live/session-registry.ts';
import type { Logger } from '../log.ts';
import type { OriginDirectory } from './origin-directory.ts';

export class OriginAnnouncer {
  readonly #generations = new Map<string, number>();

  constructor(
    private readonly deps: {
      directory: OriginDirectory;
      nodeId: string;
      /** How other nodes reach this one (known once the HTTP server listens). */
      internalUrl: () => string;
      logger: Logger;
    },
  ) {}

  follow(registry: SessionRegistry): void {
    registry.on('sessionStarted', (session) => this.#announceShow(session));
  }

  /** The show's producer generation: edges compare it with theirs to know when to re-pipe. */
  generationOf(streamId: string): number {
    return this.#generations.get(streamId) ?? 0;
  }

  async #announceShow(session: LiveSession): Promise<void> {
    const streamId = session.stream.id;
    // Edge nodes re-pipe when the show's producers change (encoder reconnect, worker loss).
    const bump = () => {
      this.#generations.set(streamId, this.generationOf(streamId) + 1);
      void this.#announce(session);
    };
    session.room.on('producersChanged', bump);
    session.room.on('originLost', bump);
    session.room.once('closed', () => {
      this.#generations.delete(streamId);
      void this.deps.directory.withdraw(streamId, session.id).catch(() => {});
    });
    await this.#announce(session);
  }

  async #announce(session: LiveSession): Promise<void> {
    const streamId = session.stream.id;
    const record = { nodeId: this.deps.nodeId, internalUrl: this.deps.internalUrl(), sessionId: session.id, generation: this.generationOf(streamId) };
    await this.deps.directory
      .announce(streamId, record)
      .catch((error: Error) => this.deps.logger.warn({ err: error, streamId }, "cannot record the show's origin in Redis"));
  }
}

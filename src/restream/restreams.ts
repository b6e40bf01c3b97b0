// The restreaming of this node's shows: each show that starts gets a Restreamer fed with its packets, which
// stops when the encoder leaves and closes when the show ends.
import type { LiveSession } from '../live/live-session.ts';
import type { SessionRegistry } from '../live/session-registry.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { DestinationPolicy } from '../security/destinations.ts';
import type { RestreamStore } from './restream-store.ts';
import { Restreamer } from './restreamer.ts';

export class Restreams {
  /** The restreamer of each show live here, by stream, with the session it belongs to. */
  readonly #byStream = new Map<string, { sessionId: string; restreamer: Restreamer }>();

  constructor(private readonly deps: { store: RestreamStore; destinations: DestinationPolicy; ffmpegPath: string; metrics: Metrics; logger: Logger }) {}

  /** Starts restreaming every show the registry opens, and stops it when the show ends. */
  follow(registry: SessionRegistry): void {
    registry.on('sessionStarted', (session) => this.#start(session));
    registry.on('sessionEnded', (session) => this.#stop(session.stream.id, session.id));
  }

  /** The running restreamer of a show live on this node (status, and changes that apply at once). */
  of(streamId: string): Restreamer | undefined {
    return this.#byStream.get(streamId)?.restreamer;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#byStream].map(([streamId, { sessionId }]) => this.#stop(streamId, sessionId)));
  }

  #start(session: LiveSession): void {
    // A WHIP show cannot be restreamed (its targets say unsupported): only RTMP shows carry FLV tags.
    const restreamer = new Restreamer({
      streamId: session.stream.id,
      store: this.deps.store,
      supported: session.protocol === 'rtmp',
      ffmpegPath: this.deps.ffmpegPath,
      destinations: this.deps.destinations,
      metrics: this.deps.metrics,
      logger: session.logger,
    });
    this.#byStream.set(session.stream.id, { sessionId: session.id, restreamer });
    session.on('packet', (packet) => restreamer.write(packet));
    session.on('inputEnded', () => void restreamer.endInput());
    // Targets stop as soon as the show ends (their FFmpegs end the publish); the close is awaited at sessionEnded.
    session.once('ending', () => void restreamer.close());
  }

  async #stop(streamId: string, sessionId: string): Promise<void> {
    const entry = this.#byStream.get(streamId);
    if (entry?.sessionId !== sessionId) return;
    this.#byStream.delete(streamId);
    await entry.restreamer.close();
  }
}

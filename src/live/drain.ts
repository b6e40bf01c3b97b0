// A graceful drain (SIGTERM): the node refuses new publishes and viewers (readiness fails), tells its WebRTC
// viewers to reconnect elsewhere, and waits up to DRAIN_SECONDS for its shows and viewers to leave.
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { SessionRegistry } from './session-registry.ts';

const POLL_MS = 250;

export class Drain {
  #draining = false;

  constructor(
    private readonly deps: {
      registry: SessionRegistry;
      /** WHIP and WHEP sessions held here. */
      webrtcSessions: () => number;
      /** Tells viewers of shows relayed from other nodes (edge rooms). */
      broadcast: (notice: string) => void;
      drainSeconds: number;
      metrics: Metrics;
      logger: Logger;
    },
  ) {}

  get draining(): boolean {
    return this.#draining;
  }

  async run(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    const { registry, webrtcSessions, metrics, logger, drainSeconds } = this.deps;
    metrics.draining.set(1);
    registry.drain();
    logger.info({ drainSeconds, shows: registry.size, viewers: webrtcSessions() }, 'draining: no new shows or viewers; telling viewers to move');
    // Pages hear this on their cue channel and reconnect: the Service sends them to a node still ready.
    const notice = JSON.stringify({ control: 'reconnect', reason: 'node_draining' });
    for (const session of registry.all()) session.room.sendCue(notice);
    this.deps.broadcast(notice);
    const deadline = Date.now() + drainSeconds * 1000;
    while (Date.now() < deadline && (registry.size > 0 || webrtcSessions() > 0)) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    logger.info({ shows: registry.size, viewers: webrtcSessions() }, 'drain over; closing');
  }
}

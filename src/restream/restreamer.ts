// The restreaming of one live show: one RestreamTarget per enabled target of the stream, fed with the
// show's FLV tags. It follows the database: changes made through this node's API apply at once
// (sync()), changes made through another node within SYNC_INTERVAL_MS. Each target's state is written
// back, so every node's API can tell how the show's restreams are doing.
import type { DestinationPolicy } from '../security/destinations.ts';
import type { IngestPacket } from '../media/ingest-packet.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { RestreamStore } from './restream-store.ts';
import { RestreamTarget, type ShowHeaders, type TargetState } from './restream-target.ts';

const SYNC_INTERVAL_MS = 5000;

export class Restreamer {
  readonly #targets = new Map<string, RestreamTarget>();
  #headers: ShowHeaders = {};
  #closed = false;
  #closing?: Promise<void>;
  #syncing?: Promise<void>;
  #syncAgain?: Promise<void>;
  #timer: NodeJS.Timeout;
  /** One chain of status writes per target, so they land in the order they happened. */
  readonly #statusWrites = new Map<string, Promise<void>>();

  constructor(
    private readonly options: {
      streamId: string;
      store: RestreamStore;
      /** false: this show cannot be restreamed (WHIP); its targets say `unsupported`. */
      supported: boolean;
      ffmpegPath: string;
      destinations: DestinationPolicy;
      metrics: Metrics;
      logger: Logger;
    },
  ) {
    void this.sync();
    this.#timer = setInterval(() => void this.sync(), SYNC_INTERVAL_MS);
    this.#timer.unref();
  }

  /** The running target, when this show is sending to it. */
  target(id: string): RestreamTarget | undefined {
    return this.#targets.get(id);
  }

  write(packet: IngestPacket): void {
    if (this.#closed) return;
    if (packet.kind === 'audio-header') this.#headers.audio = packet.tag;
    if (packet.kind === 'video-header') this.#headers.video = packet.tag;
    for (const target of this.#targets.values()) target.write(packet, this.#headers);
  }

  /** The encoder left: the targets stop; they start again at the first keyframe of its return. */
  async endInput(): Promise<void> {
    this.#headers = {};
    await Promise.all([...this.#targets.values()].map((target) => target.endInput()));
  }

  /** Brings the running targets in line with the database (added, removed, disabled, changed). */
  sync(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#syncing) {
      this.#syncAgain ??= this.#syncing.then(() => {
        this.#syncAgain = undefined;
        return this.sync();
      });
      return this.#syncAgain;
    }
    this.#syncing = this.#reconcile()
      .catch((error: Error) => this.options.logger.error({ err: error }, 'cannot read the restream targets'))
      .finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      clearInterval(this.#timer);
      await this.#syncing;
      await Promise.all([...this.#targets.values()].map((target) => target.close()));
      await Promise.all(this.#statusWrites.values());
      this.#targets.clear();
    })();
    return this.#closing;
  }

  async #reconcile(): Promise<void> {
    const { store, streamId } = this.options;
    const records = await store.enabledRecords(streamId);
    if (this.#closed) return;
    const wanted = new Set(records.map((record) => record.id));
    const stopping: Promise<void>[] = [];
    for (const [id, target] of this.#targets) {
      if (wanted.has(id)) continue;
      this.#targets.delete(id);
      stopping.push(target.close());
      this.options.logger.info({ restreamId: id }, 'restream target removed or disabled; stopped');
    }
    for (const record of records) {
      const revision = `${record.url}\n${record.sealedKey}`;
      const current = this.#targets.get(record.id);
      if (current?.revision === revision) continue;
      if (current) stopping.push(current.close());
      let streamKey: string | Error;
      try {
        streamKey = store.openKey(record);
      } catch (error) {
        streamKey = error as Error;
      }
      // Not const: the constructor reports its first state through onState, which reads `target` before the
      // assignment completes (a const would be in its temporal dead zone there).
      let target: RestreamTarget | undefined;
      // eslint-disable-next-line prefer-const
      target = new RestreamTarget({
        target: record,
        revision,
        streamKey,
        supported: this.options.supported,
        ffmpegPath: this.options.ffmpegPath,
        destinations: this.options.destinations,
        metrics: this.options.metrics,
        logger: this.options.logger,
        // A replaced or removed target's last words are not the target's state any more (and the
        // constructor's first state is written below, once the target is in the map).
        onState: (state) => {
          if (target && this.#targets.get(record.id) === target) this.#persist(record.id, state);
        },
      });
      this.#targets.set(record.id, target);
      // The constructor reported its first state before the target was in the map.
      this.#persist(record.id, target.state);
    }
    await Promise.all(stopping);
  }

  #persist(id: string, state: TargetState): void {
    const previous = this.#statusWrites.get(id) ?? Promise.resolve();
    const write = previous
      .then(() => this.options.store.setStatus(id, state))
      .catch((error: Error) => this.options.logger.warn({ err: error, restreamId: id }, 'cannot record the restream status'));
    this.#statusWrites.set(id, write);
    void write.finally(() => {
      if (this.#statusWrites.get(id) === write) this.#statusWrites.delete(id);
    });
  }
}

// The SFU side of one live show: an origin router holding the show's producers, and the WHEP
// viewers' transports and consumers. Viewers past VIEWERS_PER_ROUTER go to routers on other workers,
// fed from the origin through pipeToRouter.
import type { types } from 'mediasoup';
import type { Logger } from '../log.ts';
import { TypedEmitter } from '../typed-emitter.ts';
import { SFU_MEDIA_CODECS } from './codecs.ts';
import type { WorkerPool } from './worker-pool.ts';

export interface WebRtcSettings {
  listenIp: string;
  announcedAddress?: string;
  viewersPerRouter: number;
  iceTimeoutMs: number;
}

export type MediaKind = 'audio' | 'video';

interface RouterSlot {
  router: types.Router;
  worker: types.Worker;
  viewers: number;
  /** Producer id on the origin -> its piped twin on this router (the origin maps to itself). */
  piped: Map<string, string>;
}

export type SfuRoomEvents = {
  /** The origin router's worker died: producers are gone and must be created again. */
  originLost: [];
  producersChanged: [];
  closed: [];
};

export class SfuRoom extends TypedEmitter<SfuRoomEvents> {
  #origin!: RouterSlot;
  #edges: RouterSlot[] = [];
  #producers = new Map<MediaKind, types.Producer>();
  #transports = new Set<types.WebRtcTransport>();
  #closed = false;
  #onWorkerDied: (worker: types.Worker) => void;

  private constructor(
    private readonly pool: WorkerPool,
    private readonly settings: WebRtcSettings,
    readonly logger: Logger,
  ) {
    super((error, event) => logger.error({ err: error, event }, 'sfu room listener threw'));
    this.#onWorkerDied = (worker) => this.#workerDied(worker);
    pool.on('workerDied', this.#onWorkerDied);
  }

  static async create(pool: WorkerPool, settings: WebRtcSettings, logger: Logger): Promise<SfuRoom> {
    const room = new SfuRoom(pool, settings, logger);
    room.#origin = await room.#newSlot([]);
    return room;
  }

  get router(): types.Router {
    return this.#origin.router;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get viewerCount(): number {
    return this.#origin.viewers + this.#edges.reduce((sum, slot) => sum + slot.viewers, 0);
  }

  get routerCount(): number {
    return 1 + this.#edges.length;
  }

  producer(kind: MediaKind): types.Producer | undefined {
    return this.#producers.get(kind);
  }

  /** Registers the show's producer of a kind (on the origin router); replaces an older one. */
  setProducer(kind: MediaKind, producer: types.Producer): void {
    const previous = this.#producers.get(kind);
    if (previous && previous !== producer) previous.close();
    this.#producers.set(kind, producer);
    producer.observer.once('close', () => {
      if (this.#producers.get(kind) === producer) this.#producers.delete(kind);
    });
    for (const edge of this.#edges) edge.piped.clear();
    this.emit('producersChanged');
  }

  /** A WebRTC transport on the origin router (WHIP publishers). */
  async createPublisherTransport(): Promise<types.WebRtcTransport> {
    return this.#createTransport(this.#origin);
  }

  /**
   * A viewer's transport and consumers on a router with room, piping the show's producers there
   * when it is not the origin. `consume` gets the producer id valid on the chosen router.
   */
  async addViewer(kinds: MediaKind[]): Promise<{ transport: types.WebRtcTransport; router: types.Router; producerIds: Map<MediaKind, string>; release: () => void }> {
    const slot = await this.#slotForViewer();
    const producerIds = new Map<MediaKind, string>();
    for (const kind of kinds) {
      const producer = this.#producers.get(kind);
      if (!producer) continue;
      producerIds.set(kind, await this.#producerOn(slot, producer));
    }
    const transport = await this.#createTransport(slot);
    slot.viewers++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      slot.viewers--;
    };
    transport.observer.once('close', release);
    return { transport, router: slot.router, producerIds, release };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.pool.off('workerDied', this.#onWorkerDied);
    for (const slot of [this.#origin, ...this.#edges]) {
      slot.router.close();
      this.pool.addLoad(slot.worker, -1);
    }
    this.emit('closed');
  }

  async #createTransport(slot: RouterSlot): Promise<types.WebRtcTransport> {
    const { listenIp, announcedAddress } = this.settings;
    const transport = await slot.router.createWebRtcTransport({
      listenInfos: [
        { protocol: 'udp', ip: listenIp, announcedAddress: announcedAddress ?? (listenIp === '0.0.0.0' ? undefined : listenIp) },
        { protocol: 'tcp', ip: listenIp, announcedAddress: announcedAddress ?? (listenIp === '0.0.0.0' ? undefined : listenIp) },
      ],
      enableSctp: true,
      numSctpStreams: { OS: 16, MIS: 16 },
      initialAvailableOutgoingBitrate: 1_500_000,
    });
    this.#transports.add(transport);
    transport.observer.once('close', () => this.#transports.delete(transport));
    // A session whose ICE/DTLS never completes is closed, so abandoned offers leak nothing.
    const timer = setTimeout(() => {
      if (transport.dtlsState !== 'connected') {
        this.logger.info({ transportId: transport.id }, 'closing a WebRTC transport that never connected');
        transport.close();
      }
    }, this.settings.iceTimeoutMs);
    timer.unref();
    transport.observer.once('close', () => clearTimeout(timer));
    transport.on('dtlsstatechange', (state) => {
      if (state === 'failed' || state === 'closed') transport.close();
    });
    return transport;
  }

  async #slotForViewer(): Promise<RouterSlot> {
    const limit = this.settings.viewersPerRouter;
    if (this.#origin.viewers < limit) return this.#origin;
    const edge = this.#edges.find((slot) => slot.viewers < limit);
    if (edge) return edge;
    const used = [this.#origin, ...this.#edges].map((slot) => slot.worker);
    const created = await this.#newSlot(used);
    this.#edges.push(created);
    this.logger.info({ routers: this.routerCount }, 'viewers spread to another router');
    return created;
  }

  async #producerOn(slot: RouterSlot, producer: types.Producer): Promise<string> {
    if (slot === this.#origin) return producer.id;
    const existing = slot.piped.get(producer.id);
    if (existing) return existing;
    const { pipeProducer } = await this.#origin.router.pipeToRouter({ producerId: producer.id, router: slot.router });
    slot.piped.set(producer.id, pipeProducer!.id);
    return pipeProducer!.id;
  }

  async #newSlot(avoid: types.Worker[]): Promise<RouterSlot> {
    const worker = this.pool.pick(avoid);
    const router = await worker.createRouter({ mediaCodecs: SFU_MEDIA_CODECS });
    this.pool.addLoad(worker, 1);
    return { router, worker, viewers: 0, piped: new Map() };
  }

  #workerDied(worker: types.Worker): void {
    if (this.#closed) return;
    this.#edges = this.#edges.filter((slot) => {
      if (slot.worker !== worker) return true;
      this.logger.warn('an edge router was lost with its worker; its viewers reconnect');
      return false;
    });
    if (this.#origin.worker !== worker) return;
    this.logger.error('the origin router was lost with its worker; re-homing the show');
    this.#producers.clear();
    void this.#newSlot([worker]).then(
      (slot) => {
        this.#origin = slot;
        // Edge routers were fed from the old origin: drop them so viewers come back to the new one.
        for (const edge of this.#edges) edge.router.close();
        this.#edges = [];
        this.emit('originLost');
      },
      (error: Error) => this.logger.error({ err: error }, 'cannot re-home the show'),
    );
  }
}

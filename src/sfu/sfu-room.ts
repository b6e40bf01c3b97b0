// The SFU side of one live show: an origin router holding the show's producers, and the WHEP
// viewers' transports and consumers. Viewers past VIEWERS_PER_ROUTER go to routers on other workers,
// fed from the origin through pipeToRouter.
import { LivecueError } from '../errors.ts';
import type { types } from 'mediasoup';
import type { Logger } from '../log.ts';
import { TypedEmitter } from '../contract/typed-emitter.ts';
import { SFU_MEDIA_CODECS } from './codecs.ts';
import type { WorkerPool } from './worker-pool.ts';

export interface WebRtcSettings {
  listenIp: string;
  announcedAddress?: string;
  viewersPerRouter: number;
  iceTimeoutMs: number;
}

export type MediaKind = 'audio' | 'video';

/** Distinct payload-type layouts (hence viewer routers fed with the show) one show serves at once. */
const MAX_VIEWER_LAYOUTS = 8;
/** How long an empty viewer router is kept for the next viewer before it is closed. */
const EMPTY_ROUTER_LINGER_MS = 10_000;
/** Viewers share a router when their payload types and the source's H.264 profile are the same. */
const layoutOf = (codecs: types.RouterRtpCodecCapability[]): string =>
  JSON.stringify(codecs.map((codec) => [codec.mimeType, codec.preferredPayloadType, codec.parameters?.['profile-level-id']]));

interface RouterSlot {
  router: types.Router;
  worker: types.Worker;
  /** Payload-type layout of the router's codecs (viewer routers match their viewers' offers). */
  layout: string;
  viewers: number;
  /** Producer id on the origin -> its piped twin on this router; a promise, so concurrent joins share one pipe. */
  piped: Map<string, Promise<string>>;
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
  #closed = false;
  /** Cues enter the SFU here (a DirectTransport's DataProducer) and reach viewers as SCTP messages. */
  #cueChannel?: { transport: types.DirectTransport; producer: types.DataProducer };
  #slotChoice: Promise<void> = Promise.resolve();
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
    await room.#openCueChannel();
    return room;
  }

  get router(): types.Router {
    return this.#origin.router;
  }

  /** The process of the worker hosting the show's producers. */
  get originWorkerPid(): number {
    return this.#origin.worker.pid;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get viewerCount(): number {
    return this.#edges.reduce((sum, slot) => sum + slot.viewers, 0);
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

  /** Sends a cue to every viewer with a data channel. */
  sendCue(text: string): void {
    const producer = this.#cueChannel?.producer;
    if (producer && !producer.closed) producer.send(text);
  }

  /** The cue data producer's id on a viewer's router (piped from the origin). */
  async cueProducerOn(router: types.Router): Promise<string | undefined> {
    const slot = this.#edges.find((edge) => edge.router === router);
    const producer = this.#cueChannel?.producer;
    if (!slot || !producer) return undefined;
    return this.#pipeOnce(slot, producer.id, async () => {
      const { pipeDataProducer } = await this.#origin.router.pipeToRouter({ dataProducerId: producer.id, router: slot.router, keepId: false });
      return pipeDataProducer!.id;
    });
  }

  /** One pipe per producer and router, shared by concurrent callers; a failed pipe is forgotten. */
  #pipeOnce(slot: RouterSlot, producerId: string, pipe: () => Promise<string>): Promise<string> {
    let pending = slot.piped.get(producerId);
    if (!pending) {
      pending = pipe();
      slot.piped.set(producerId, pending);
      pending.catch(() => slot.piped.delete(producerId));
    }
    return pending;
  }

  async #openCueChannel(): Promise<void> {
    const transport = await this.#origin.router.createDirectTransport();
    const producer = await transport.produceData({ label: 'livecue-cues', protocol: 'livecue.cue.v1' });
    this.#cueChannel = { transport, producer };
  }

  /** A WebRTC transport on the origin router (WHIP publishers). */
  async createPublisherTransport(): Promise<types.WebRtcTransport> {
    return this.#createTransport(this.#origin);
  }

  /**
   * A viewer's transport on a viewer router whose codecs carry the viewer's payload types, with room
   * for one more viewer; the show's producers are piped there from the origin. `producerIds` holds
   * the ids valid on that router (a kind the router cannot carry is left out).
   */
  async addViewer(
    kinds: MediaKind[],
    codecs: types.RouterRtpCodecCapability[],
  ): Promise<{ transport: types.WebRtcTransport; router: types.Router; producerIds: Map<MediaKind, string>; release: () => void }> {
    // The seat is taken when the router is chosen, so viewers joining together spread out.
    const slot = await this.#slotForViewer(codecs);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      slot.viewers--;
      if (slot.viewers === 0) this.#closeWhenStillEmpty(slot);
    };
    try {
      const producerIds = new Map<MediaKind, string>();
      for (const kind of kinds) {
        const producer = this.#producers.get(kind);
        if (!producer) continue;
        try {
          producerIds.set(kind, await this.#producerOn(slot, producer));
        } catch (error) {
          this.logger.warn({ err: error, kind }, 'the viewer cannot receive this producer');
        }
      }
      const transport = await this.#createTransport(slot);
      transport.observer.once('close', release);
      return { transport, router: slot.router, producerIds, release };
    } catch (error) {
      release();
      throw error;
    }
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
    // A viewer that connected and then vanished (its consent checks stop: closed laptop, lost network; mediasoup
    // says disconnected after 30 s) is let go once ICE stays disconnected ICE_TIMEOUT_SECONDS more, instead of
    // holding its consumers for the rest of the show.
    let gone: NodeJS.Timeout | undefined;
    transport.on('icestatechange', (state) => {
      clearTimeout(gone);
      if (state === 'closed') return void transport.close();
      if (state !== 'disconnected') return;
      gone = setTimeout(() => {
        this.logger.info({ transportId: transport.id }, 'closing a WebRTC transport whose peer went away');
        transport.close();
      }, this.settings.iceTimeoutMs);
      gone.unref();
    });
    transport.observer.once('close', () => clearTimeout(gone));
    return transport;
  }

  /** A viewer router nobody uses any more is closed after a short linger (a viewer reloading finds it still there). */
  #closeWhenStillEmpty(slot: RouterSlot): void {
    if (slot === this.#origin) return;
    const timer = setTimeout(() => {
      if (slot.viewers > 0 || this.#closed || !this.#edges.includes(slot)) return;
      this.#edges = this.#edges.filter((edge) => edge !== slot);
      slot.router.close();
      this.pool.addLoad(slot.worker, -1);
      this.logger.info({ routers: this.routerCount }, 'empty viewer router closed');
    }, EMPTY_ROUTER_LINGER_MS);
    timer.unref();
  }

  /** Router choice is serialised: concurrent joins must not each create a new router. */
  #slotForViewer(codecs: types.RouterRtpCodecCapability[]): Promise<RouterSlot> {
    const chosen = this.#slotChoice.then(async () => {
      const slot = await this.#chooseSlot(codecs);
      slot.viewers++;
      return slot;
    });
    this.#slotChoice = chosen.then(
      () => undefined,
      () => undefined,
    );
    return chosen;
  }

  async #chooseSlot(codecs: types.RouterRtpCodecCapability[]): Promise<RouterSlot> {
    const limit = this.settings.viewersPerRouter;
    const layout = layoutOf(codecs);
    const sameLayout = this.#edges.filter((slot) => slot.layout === layout);
    const open = sameLayout.find((slot) => slot.viewers < limit);
    if (open) return open;
    // Each payload-type layout a client offers gets routers of its own: a client cannot make a show feed without bound.
    if (sameLayout.length === 0 && new Set(this.#edges.map((slot) => slot.layout)).size >= MAX_VIEWER_LAYOUTS) {
      throw new LivecueError('unavailable', 'this show serves too many different viewer codec layouts right now; try again shortly', {
        retryAfterMs: EMPTY_ROUTER_LINGER_MS,
      });
    }
    // The first viewer router shares the origin's worker; once one fills, the next goes elsewhere.
    const avoid = sameLayout.length === 0 ? [] : [this.#origin, ...this.#edges].map((slot) => slot.worker);
    const created = await this.#newSlot(avoid, codecs, sameLayout.length === 0 ? this.#origin.worker : undefined);
    this.#edges.push(created);
    this.logger.info({ routers: this.routerCount }, 'viewer router added');
    return created;
  }

  #producerOn(slot: RouterSlot, producer: types.Producer): Promise<string> {
    return this.#pipeOnce(slot, producer.id, async () => {
      // keepId false: a viewer router may share the origin's worker, where ids must be unique.
      const { pipeProducer } = await this.#origin.router.pipeToRouter({ producerId: producer.id, router: slot.router, keepId: false });
      return pipeProducer!.id;
    });
  }

  async #newSlot(avoid: types.Worker[], codecs = SFU_MEDIA_CODECS, worker = this.pool.pick(avoid)): Promise<RouterSlot> {
    let router: types.Router;
    try {
      router = await worker.createRouter({ mediaCodecs: codecs });
    } catch (error) {
      // mediasoup gives each video codec a retransmission (RTX) payload type of its own choosing, from 100 up; an
      // offer whose payload types sit on those cannot get a router of its numbers (a client's choice, not a fault).
      if (error instanceof TypeError && codecs !== SFU_MEDIA_CODECS) {
        throw new LivecueError(
          'not_acceptable',
          `the offer's payload types clash with the ones this server assigns for retransmission (${error.message}); offer other payload types`,
        );
      }
      throw error;
    }
    this.pool.addLoad(worker, 1);
    return { router, worker, layout: layoutOf(codecs), viewers: 0, piped: new Map() };
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
        void this.#openCueChannel().catch((error: Error) => this.logger.error({ err: error }, 'cannot reopen the cue channel'));
        this.emit('originLost');
      },
      (error: Error) => this.logger.error({ err: error }, 'cannot re-home the show'),
    );
  }
}

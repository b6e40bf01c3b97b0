// Node-to-node media relays: a show's WebRTC viewers may land on any livecue node. A node without the
// show (the edge) asks the show's origin node, found in the OriginDirectory, for a relay: a mediasoup
// PipeTransport pair over UDP (SRTP) between the origin router and a local room, carrying the show's
// producers. The edge's room then serves viewers exactly as the origin does (viewer routers, pipes
// across its own workers), and the edge hears the show's cues through the cue hub.
import { isIP } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import { z } from 'zod';
import type { OriginDirectory, OriginRecord } from '../cluster/origin-directory.ts';
import type { CueHub } from '../cues/cue-hub.ts';
import type { CueMessage } from '../contract/cue-message.ts';
import { LivecueError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { SfuRoom, type MediaKind, type WebRtcSettings } from './sfu-room.ts';
import type { WorkerPool } from './worker-pool.ts';

export interface PipeSettings {
  listenIp: string;
  announcedAddress?: string;
}

/** An edge stops renewing a relay it no longer needs; the origin closes it after this. */
const RELAY_TTL_MS = 30_000;
const EDGE_CHECK_MS = 2_000;
/** An edge keeps a relay this long after its last viewer left (a viewer reloading finds it warm). */
const EDGE_IDLE_MS = 30_000;

const srtpParameters = z.object({ cryptoSuite: z.string().max(64), keyBase64: z.string().max(256) }).strict();

export const relayRequest = z
  .object({
    streamId: z.string().regex(/^str_[A-Za-z0-9]{16}$/),
    sessionId: z.string().max(64).optional(),
    ip: z.string().refine((ip) => isIP(ip) !== 0, 'an IP address'),
    port: z.number().int().min(1).max(65535),
    srtpParameters: srtpParameters.optional(),
  })
  .strict();

export interface RelayOffer {
  relayId: string;
  sessionId: string;
  generation: number;
  ip: string;
  port: number;
  srtpParameters?: types.SrtpParameters;
  producers: { kind: MediaKind; rtpParameters: types.RtpParameters; paused: boolean }[];
}

function pipeListenInfo(settings: PipeSettings): types.TransportListenInfo {
  return { protocol: 'udp', ip: settings.listenIp, announcedAddress: settings.announcedAddress };
}

function pipeAddress(transport: types.PipeTransport, settings: PipeSettings): { ip: string; port: number } {
  return { ip: settings.announcedAddress ?? transport.tuple.localAddress, port: transport.tuple.localPort };
}

/** The origin side: relays this node's shows to edge nodes that asked for them. */
export class RelayOrigins {
  #relays = new Map<string, { transport: types.PipeTransport; streamId: string; renewedAt: number }>();
  #timer: NodeJS.Timeout;

  constructor(
    private readonly deps: {
      /** The room of a show hosted on this node, and the live session it belongs to. */
      showOf: (streamId: string) => { sessionId: string; room: SfuRoom } | undefined;
      pipe: PipeSettings;
      generationOf: (streamId: string) => number;
      logger: Logger;
    },
  ) {
    this.#timer = setInterval(() => this.#expire(), RELAY_TTL_MS / 3);
    this.#timer.unref();
  }

  get size(): number {
    return this.#relays.size;
  }

  async open(request: z.infer<typeof relayRequest>): Promise<RelayOffer> {
    const show = this.deps.showOf(request.streamId);
    if (!show || show.room.closed) throw new LivecueError('not_found', 'the stream is not live on this node');
    if (request.sessionId && request.sessionId !== show.sessionId) throw new LivecueError('conflict', 'that live session has ended');
    const room = show.room;
    const producers = (['video', 'audio'] as const).map((kind) => room.producer(kind)).filter((producer) => producer !== undefined);
    if (producers.length === 0) throw new LivecueError('not_found', 'the show has no media yet');
    const transport = await room.router.createPipeTransport({ listenInfo: pipeListenInfo(this.deps.pipe), enableSrtp: request.srtpParameters !== undefined });
    try {
      await transport.connect({ ip: request.ip, port: request.port, srtpParameters: request.srtpParameters as types.SrtpParameters | undefined });
      const offered: RelayOffer['producers'] = [];
      for (const producer of producers) {
        const consumer = await transport.consume({ producerId: producer.id });
        offered.push({ kind: consumer.kind, rtpParameters: consumer.rtpParameters, paused: consumer.producerPaused });
      }
      const relayId = randomUUID();
      this.#relays.set(relayId, { transport, streamId: request.streamId, renewedAt: Date.now() });
      transport.observer.once('close', () => this.#relays.delete(relayId));
      this.deps.logger.info({ streamId: request.streamId, relayId, edge: `${request.ip}:${request.port}` }, 'media relay to an edge node opened');
      return {
        relayId,
        sessionId: show.sessionId,
        generation: this.deps.generationOf(request.streamId),
        ...pipeAddress(transport, this.deps.pipe),
        srtpParameters: transport.srtpParameters,
        producers: offered,
      };
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  renew(relayId: string): boolean {
    const relay = this.#relays.get(relayId);
    if (!relay || relay.transport.closed) return false;
    relay.renewedAt = Date.now();
    return true;
  }

  close(relayId: string): boolean {
    const relay = this.#relays.get(relayId);
    relay?.transport.close();
    return relay !== undefined;
  }

  closeAll(): void {
    clearInterval(this.#timer);
    for (const { transport } of this.#relays.values()) transport.close();
  }

  #expire(): void {
    const now = Date.now();
    for (const [relayId, relay] of this.#relays) {
      if (now - relay.renewedAt > RELAY_TTL_MS) {
        this.deps.logger.info({ relayId, streamId: relay.streamId }, 'closing a media relay its edge stopped renewing');
        relay.transport.close();
      }
    }
  }
}

interface EdgeRelay {
  streamId: string;
  playbackId: string;
  origin: OriginRecord;
  relayId: string;
  room: SfuRoom;
  idleSince?: number;
  /** Cue ids sent down the relay's cue channel, so a resync sends only what was missed. */
  sent: Set<string>;
}

/** The edge side: a local room per show hosted elsewhere, fed by a relay from the origin node. */
export class EdgeRelays {
  #relays = new Map<string, EdgeRelay>();
  #opening = new Map<string, Promise<EdgeRelay | undefined>>();
  #timer: NodeJS.Timeout;
  #onCue: (playbackId: string, cue: CueMessage) => void;
  #onResync: () => void;
  #closed = false;

  constructor(
    private readonly deps: {
      nodeId: string;
      pool: WorkerPool;
      webrtc: WebRtcSettings;
      pipe: PipeSettings;
      directory: OriginDirectory;
      hub: CueHub;
      clusterToken: string;
      /** The live show's cues, to catch up after the cue hub lost messages (Redis outage). */
      listCues: (streamId: string) => Promise<CueMessage[]>;
      metrics: Metrics;
      logger: Logger;
    },
  ) {
    this.#timer = setInterval(() => void this.#check(), EDGE_CHECK_MS);
    this.#timer.unref();
    this.#onCue = (playbackId, cue) => {
      for (const relay of this.#relays.values()) if (relay.playbackId === playbackId) this.#sendCue(relay, cue);
    };
    deps.hub.on('cue', this.#onCue);
    this.#onResync = () => {
      for (const relay of this.#relays.values()) {
        void deps
          .listCues(relay.streamId)
          .then((cues) => {
            for (const cue of cues) this.#sendCue(relay, cue);
          })
          .catch((error: Error) => deps.logger.warn({ err: error, streamId: relay.streamId }, "cannot resync a relay's cues"));
      }
    };
    deps.hub.on('resync', this.#onResync);
  }

  get size(): number {
    return this.#relays.size;
  }

  /** The room serving a show hosted on another node, opening the relay if needed; undefined: not live anywhere. */
  async roomFor(stream: { id: string; playbackId: string }): Promise<SfuRoom | undefined> {
    if (this.#closed) return undefined;
    const origin = await this.deps.directory.lookup(stream.id);
    if (!origin || origin.nodeId === this.deps.nodeId) return undefined;
    const current = this.#relays.get(stream.id);
    if (current && current.origin.sessionId === origin.sessionId && current.origin.generation === origin.generation && !current.room.closed) {
      return current.room;
    }
    let opening = this.#opening.get(stream.id);
    if (!opening) {
      if (current) void this.#drop(current, 'the show moved or its media changed');
      opening = this.#open(stream, origin).finally(() => this.#opening.delete(stream.id));
      this.#opening.set(stream.id, opening);
    }
    return (await opening)?.room;
  }

  /** A message down every relayed show's cue channel (to this node's viewers only). */
  broadcast(text: string): void {
    for (const relay of this.#relays.values()) relay.room.sendCue(text);
  }

  /** Closes every relay and tells the origins, so they free their side at once. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.deps.hub.off('cue', this.#onCue);
    this.deps.hub.off('resync', this.#onResync);
    await Promise.all([...this.#relays.values()].map((relay) => this.#drop(relay, 'shutdown')));
  }

  async #open(stream: { id: string; playbackId: string }, origin: OriginRecord): Promise<EdgeRelay | undefined> {
    const logger = this.deps.logger.child({ streamId: stream.id, originNode: origin.nodeId });
    const room = await SfuRoom.create(this.deps.pool, this.deps.webrtc, logger);
    try {
      const transport = await room.router.createPipeTransport({ listenInfo: pipeListenInfo(this.deps.pipe), enableSrtp: true });
      const response = await this.#call(origin, 'POST', '/internal/v1/relays', {
        streamId: stream.id,
        sessionId: origin.sessionId,
        ...pipeAddress(transport, this.deps.pipe),
        srtpParameters: transport.srtpParameters,
      });
      if (response.status === 404 || response.status === 409) {
        room.close();
        return undefined;
      }
      if (response.status !== 201) throw new Error(`the origin node answered ${response.status} to a relay request`);
      const offer = (await response.json()) as RelayOffer;
      await transport.connect({ ip: offer.ip, port: offer.port, srtpParameters: offer.srtpParameters });
      for (const piped of offer.producers) {
        room.setProducer(piped.kind, await transport.produce({ kind: piped.kind, rtpParameters: piped.rtpParameters, paused: piped.paused }));
      }
      const relay: EdgeRelay = {
        streamId: stream.id,
        playbackId: stream.playbackId,
        origin: { ...origin, generation: offer.generation },
        relayId: offer.relayId,
        room,
        sent: new Set(),
      };
      this.#relays.set(stream.id, relay);
      room.once('originLost', () => void this.#drop(relay, 'the local mediasoup worker died'));
      this.deps.metrics.edgeRelays.set(this.#relays.size);
      logger.info({ relayId: offer.relayId }, 'serving a show from another node');
      return relay;
    } catch (error) {
      room.close();
      throw error;
    }
  }

  #sendCue(relay: EdgeRelay, cue: CueMessage): void {
    if (relay.sent.has(cue.id)) return;
    relay.sent.add(cue.id);
    relay.room.sendCue(JSON.stringify(cue));
  }

  /** Viewers of a dropped relay lose their transports and reconnect (to wherever the show is now). */
  async #drop(relay: EdgeRelay, reason: string): Promise<void> {
    if (this.#relays.get(relay.streamId) === relay) this.#relays.delete(relay.streamId);
    this.deps.metrics.edgeRelays.set(this.#relays.size);
    if (relay.room.closed) return;
    this.deps.logger.info({ streamId: relay.streamId, relayId: relay.relayId, reason }, 'media relay closed');
    relay.room.close();
    await this.#call(relay.origin, 'DELETE', `/internal/v1/relays/${relay.relayId}`).catch(() => {});
  }

  async #check(): Promise<void> {
    const now = Date.now();
    for (const relay of [...this.#relays.values()]) {
      try {
        if (relay.room.viewerCount > 0) relay.idleSince = undefined;
        else relay.idleSince ??= now;
        if (relay.idleSince !== undefined && now - relay.idleSince > EDGE_IDLE_MS) {
          await this.#drop(relay, 'no viewers left');
          continue;
        }
        const origin = await this.deps.directory.lookup(relay.streamId);
        if (!origin || origin.sessionId !== relay.origin.sessionId || origin.generation !== relay.origin.generation) {
          await this.#drop(relay, origin ? "the show's media changed" : 'the show ended');
          continue;
        }
        const renewed = await this.#call(relay.origin, 'POST', `/internal/v1/relays/${relay.relayId}/renew`);
        if (renewed.status === 404) await this.#drop(relay, 'the origin closed the relay');
      } catch (error) {
        this.deps.logger.warn({ err: error, streamId: relay.streamId }, 'cannot check a media relay');
      }
    }
  }

  #call(origin: OriginRecord, method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(new URL(path, origin.internalUrl), {
      method,
      headers: { authorization: `Bearer ${this.deps.clusterToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
  }
}

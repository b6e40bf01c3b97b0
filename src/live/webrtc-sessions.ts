// The WebRTC sessions this node holds: WHIP publishers (a show's encoder) and WHEP viewers. A publish goes
// through the session registry like an RTMP one; a viewer joins the show's room here, or a relay of it from
// the node hosting it. The HTTP routes (src/api/webrtc-routes.ts) only translate requests to these calls.
import type { Analytics } from '../analytics/analytics.ts';
import type { SessionLocator } from '../cluster/forward.ts';
import { LivecueError } from '../errors.ts';
import { WhipIngest } from '../ingest/whip-ingest.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { PlaybackAccess } from '../security/playback-access.ts';
import type { EdgeRelays } from '../sfu/pipe-relay.ts';
import { producerParameters, SdpError, type ParsedOffer } from '../sfu/sdp.ts';
import type { SfuRoom } from '../sfu/sfu-room.ts';
import { WhepViewer } from '../sfu/whep-viewer.ts';
import type { WorkerPool } from '../sfu/worker-pool.ts';
import type { StreamStore } from '../streams/stream-store.ts';
import type { SessionRegistry } from './session-registry.ts';

/** An SDP the SFU cannot take, as the error the client gets (406 for codecs, 400 otherwise). */
export function sdpRefusal(error: unknown): unknown {
  if (!(error instanceof SdpError)) return error;
  const code = error.status === 406 ? 'not_acceptable' : error.status === 413 ? 'payload_too_large' : 'bad_request';
  return new LivecueError(code, error.message);
}

export interface Negotiated {
  id: string;
  etag: string;
  answer: string;
}

export class WebRtcSessions {
  readonly #publishers = new Map<string, { ingest: WhipIngest; streamId: string }>();
  readonly #viewers = new Map<string, { viewer: WhepViewer; playbackId: string }>();

  constructor(
    private readonly deps: {
      streams: StreamStore;
      registry: SessionRegistry;
      /** Absent on a node that serves no WebRTC (role api): publishes and viewers get 503. */
      pool?: WorkerPool;
      /** Serves shows hosted on other nodes (piped from their origin); absent on a single node. */
      edges?: EdgeRelays;
      /** Records which node holds each session, so a request sent to another node (load balancer) reaches it. */
      locator?: SessionLocator;
      draining: () => boolean;
      access: PlaybackAccess;
      analytics: Analytics;
      metrics: Metrics;
      logger: Logger;
    },
  ) {}

  /** WHIP and WHEP sessions held here. */
  get size(): number {
    return this.#publishers.size + this.#viewers.size;
  }

  /** The SFU of this node, unless it serves no WebRTC or is draining. */
  #node(): WorkerPool {
    if (!this.deps.pool) throw new LivecueError('unavailable', 'this livecue node serves no WebRTC (role api): use a node with role all, ingest or sfu');
    if (this.deps.draining()) throw new LivecueError('unavailable', 'this livecue node is draining: retry, the next attempt reaches another node');
    return this.deps.pool;
  }

  /** Accepts a WHIP publish for the stream whose key it presents: the show starts (or resumes) here. */
  async publish(request: { streamId: string; streamKey: string | undefined; offer: () => ParsedOffer; remote: string }): Promise<Negotiated> {
    const { registry, streams, metrics, logger } = this.deps;
    const pool = this.#node();
    if (!registry.acceptsPublishes)
      throw new LivecueError('unavailable', 'this livecue node takes no publishes (role sfu or api, or draining): publish to an ingest node');
    const { streamId, streamKey } = request;
    if (!streamKey) throw new LivecueError('unauthorized', 'send the stream key as Authorization: Bearer <streamKey>');
    const stream = await streams.authenticate(streamKey);
    if (!stream || stream.id !== streamId) {
      metrics.rejectedPublishes.inc({ protocol: 'whip', reason: 'unknown_key' });
      throw new LivecueError('unauthorized', 'unknown or revoked stream key for this stream');
    }
    const offer = request.offer();
    // Codec support is settled before the publish is decided, so a refused offer creates nothing.
    try {
      producerParameters(offer, pool.routerCapabilities);
    } catch (error) {
      throw sdpRefusal(error);
    }
    const ingest = new WhipIngest(request.remote, offer, logger.child({ streamId, whip: true }));
    const outcome = await registry.publish(streamKey, ingest);
    if (!outcome.accepted) {
      metrics.rejectedPublishes.inc({ protocol: 'whip', reason: outcome.reason });
      throw outcome.reason === 'already_live'
        ? new LivecueError('conflict', 'this stream is already live from another encoder')
        : new LivecueError('unavailable', 'livecue is shutting down');
    }
    let answer: string;
    try {
      answer = await ingest.connect(outcome.session.room);
    } catch (error) {
      ingest.disconnect('negotiation failed');
      throw sdpRefusal(error);
    }
    outcome.session.whipConnected(ingest);
    metrics.publishes.inc({ protocol: 'whip' });
    this.#publishers.set(ingest.id, { ingest, streamId });
    this.deps.locator?.record(ingest.id);
    ingest.once('closed', () => {
      this.#publishers.delete(ingest.id);
      this.deps.locator?.drop(ingest.id);
    });
    return { id: ingest.id, etag: ingest.etag, answer };
  }

  /** A WHEP viewer of a show, from its own room here or a relay of the node hosting it. */
  async play(request: {
    playbackId: string;
    offer: () => ParsedOffer;
    token: string | undefined;
    /** Lets a page count as the same viewer on every path (WebRTC, then HLS). */
    viewerId?: string;
    /** The host console's preview is not an audience member. */
    preview: boolean;
  }): Promise<Negotiated & { cueStreamId?: number }> {
    const { metrics, analytics } = this.deps;
    this.#node();
    const offer = request.offer();
    const stream = await this.deps.access.playableStream(request.playbackId, request.token);
    const room: SfuRoom | undefined = this.deps.registry.get(stream.id)?.room ?? (await this.deps.edges?.roomFor(stream));
    if (!room || (!room.producer('video') && !room.producer('audio'))) throw new LivecueError('not_found', 'this stream is not live');
    let viewer: WhepViewer;
    try {
      viewer = await WhepViewer.create(room, offer, request.playbackId);
    } catch (error) {
      throw sdpRefusal(error);
    }
    this.#viewers.set(viewer.id, { viewer, playbackId: request.playbackId });
    const counted = !request.preview;
    this.deps.locator?.record(viewer.id);
    metrics.whepViewers.inc({ stream_id: stream.id });
    if (counted) void analytics.webrtcJoined(stream.id, viewer.id, request.viewerId).catch(() => {});
    viewer.once('closed', () => {
      this.#viewers.delete(viewer.id);
      this.deps.locator?.drop(viewer.id);
      metrics.whepViewers.dec({ stream_id: stream.id });
      if (counted) void analytics.webrtcLeft(stream.id, viewer.id).catch(() => {});
    });
    return { id: viewer.id, etag: viewer.etag, answer: viewer.answer, cueStreamId: viewer.cueStreamId };
  }

  /** A WHIP session held here, if it belongs to that stream. */
  publisher(streamId: string, sessionId: string): WhipIngest | undefined {
    const entry = this.#publishers.get(sessionId);
    return entry?.streamId === streamId ? entry.ingest : undefined;
  }

  /** A WHEP session held here, if it plays that stream. */
  viewer(playbackId: string, sessionId: string): WhepViewer | undefined {
    const entry = this.#viewers.get(sessionId);
    return entry?.playbackId === playbackId ? entry.viewer : undefined;
  }

  /** Whether this node holds the session (of any stream): else another node may. */
  holds(sessionId: string): boolean {
    return this.#publishers.has(sessionId) || this.#viewers.has(sessionId);
  }

  close(): void {
    for (const { viewer } of this.#viewers.values()) viewer.close();
    for (const { ingest } of this.#publishers.values()) ingest.disconnect('shutdown');
  }
}

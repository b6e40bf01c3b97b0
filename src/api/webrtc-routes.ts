// WHIP (RFC 9725) ingest at /whip/<streamId> and WHEP playback at /whep/<playbackId>: one SDP
// offer/answer exchange each, a session resource to PATCH (trickle ICE, ICE restart) and DELETE,
// CORS for browsers. Our candidates are all in the answer (mediasoup is ICE-lite).
import express, { Router, type Request, type Response } from 'express';
import { LivecueError, notFound } from '../errors.ts';
import { WhipIngest } from '../ingest/whip-ingest.ts';
import type { SessionRegistry } from '../live/session-registry.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { parseOffer, producerParameters, SdpError, type ParsedOffer } from '../sfu/sdp.ts';
import { applyIcePatch, TRICKLE_ICE_TYPE, type IcePatchTarget } from '../sfu/trickle-ice.ts';
import { WhepViewer } from '../sfu/whep-viewer.ts';
import type { WorkerPool } from '../sfu/worker-pool.ts';
import type { StreamStore } from '../streams/stream-store.ts';
import { bearerToken } from './admin-auth.ts';
import { PlaybackAccess } from './playback-access.ts';
import type { Analytics } from '../analytics/analytics.ts';
import type { EdgeRelays } from '../sfu/pipe-relay.ts';
import type { SessionLocator } from '../cluster/forward.ts';
import type { SfuRoom } from '../sfu/sfu-room.ts';

const SESSION_ID = /^[0-9a-f-]{36}$/;
/** What the beat endpoint accepts as a player's viewer id. */
const VIEWER_ID = /^[A-Za-z0-9_-]{8,64}$/;

function cors(res: Response, methods: string): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Methods', methods);
  res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-Match');
  res.setHeader('Accept-Patch', TRICKLE_ICE_TYPE);
  res.setHeader('Access-Control-Expose-Headers', 'Location, ETag, Accept-Patch, Link');
}

function offerOf(req: Request, maxBytes: number): ParsedOffer {
  if (!req.is('application/sdp')) throw new LivecueError('unsupported_media_type', 'send the SDP offer as Content-Type: application/sdp');
  const body = typeof req.body === 'string' ? req.body : '';
  try {
    return parseOffer(body, { maxBytes });
  } catch (error) {
    if (error instanceof SdpError) {
      const code = error.status === 406 ? 'not_acceptable' : error.status === 413 ? 'payload_too_large' : 'bad_request';
      throw new LivecueError(code, error.message);
    }
    throw error;
  }
}

export function webrtcRouters(deps: {
  streams: StreamStore;
  registry: SessionRegistry;
  /** Absent on a node that serves no WebRTC (role api): WHIP and WHEP answer 503. */
  pool?: WorkerPool;
  /** Serves shows hosted on other nodes (piped from their origin); absent on a single node. */
  edges?: EdgeRelays;
  draining: () => boolean;
  /** Records which node holds each session, so a DELETE sent to another node (load balancer) reaches it. */
  sessions?: SessionLocator;
  metrics: Metrics;
  logger: Logger;
  sdpMaxBytes: number;
  access: PlaybackAccess;
  analytics: Analytics;
}): { whip: Router; whep: Router; close(): void; sessions(): number } {
  const { streams, registry, logger, metrics } = deps;
  const sdpBody = express.text({ type: 'application/sdp', limit: deps.sdpMaxBytes });
  const fragmentBody = express.text({ type: TRICKLE_ICE_TYPE, limit: deps.sdpMaxBytes });

  /** RFC 9725 4.3: trickled candidates (204) or an ICE restart (200, our new credentials, a new ETag). */
  const patchIce = async (session: IcePatchTarget, req: Request, res: Response) => {
    if (!req.is(TRICKLE_ICE_TYPE)) throw new LivecueError('unsupported_media_type', `send the SDP fragment as Content-Type: ${TRICKLE_ICE_TYPE}`);
    const ifMatch = req.headers['if-match'];
    const result = await applyIcePatch(session, typeof req.body === 'string' ? req.body : '', typeof ifMatch === 'string' ? ifMatch : undefined);
    if (result.status === 204) return void res.status(204).end();
    res.status(200).type(TRICKLE_ICE_TYPE).setHeader('ETag', result.etag);
    res.send(result.fragment);
  };
  const whipSessions = new Map<string, { ingest: WhipIngest; streamId: string }>();
  const whepSessions = new Map<string, { viewer: WhepViewer; playbackId: string }>();

  const webrtcNode = (): WorkerPool => {
    if (!deps.pool) throw new LivecueError('unavailable', 'this livecue node serves no WebRTC (role api): use a node with role all, ingest or sfu');
    if (deps.draining()) throw new LivecueError('unavailable', 'this livecue node is draining: retry, the next attempt reaches another node');
    return deps.pool;
  };

  /** A session held by another node: its answer is passed back. */
  const sendToHolder = async (sessionId: string, req: Request, res: Response): Promise<boolean> => {
    const forwarded = await deps.sessions?.forward(sessionId, req).catch((error: Error) => {
      logger.warn({ err: error }, 'cannot reach the node holding a WebRTC session');
      return undefined;
    });
    if (!forwarded) return false;
    if (forwarded.etag) res.setHeader('ETag', forwarded.etag);
    res.status(forwarded.status).type(forwarded.contentType).send(forwarded.body);
    return true;
  };

  const whip = Router();
  whip.options('/:streamId{/sessions/:sessionId}', (_req, res) => {
    cors(res, 'POST, PATCH, DELETE, OPTIONS');
    res.status(204).end();
  });
  whip.post('/:streamId', sdpBody, async (req, res) => {
    cors(res, 'POST, DELETE, OPTIONS');
    const pool = webrtcNode();
    if (!registry.acceptsPublishes) throw new LivecueError('unavailable', 'this livecue node takes no publishes (role sfu or api, or draining): publish to an ingest node');
    const streamId = String(req.params.streamId);
    const key = bearerToken(req.headers.authorization);
    if (!key) throw new LivecueError('unauthorized', 'send the stream key as Authorization: Bearer <streamKey>');
    const stream = await streams.authenticate(key);
    if (!stream || stream.id !== streamId) {
      metrics.rejectedPublishes.inc({ protocol: 'whip', reason: 'unknown_key' });
      throw new LivecueError('unauthorized', 'unknown or revoked stream key for this stream');
    }
    const offer = offerOf(req, deps.sdpMaxBytes);
    // Codec support is settled before the publish is decided, so a refused offer creates nothing.
    producerParameters(offer, pool.routerCapabilities);
    const ingest = new WhipIngest(`${req.socket.remoteAddress}:${req.socket.remotePort}`, offer, logger.child({ streamId, whip: true }));
    const outcome = await registry.publish(key, ingest);
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
      throw error instanceof SdpError ? new LivecueError(error.status === 406 ? 'not_acceptable' : 'bad_request', error.message) : error;
    }
    outcome.session.whipConnected(ingest);
    metrics.publishes.inc({ protocol: 'whip' });
    whipSessions.set(ingest.id, { ingest, streamId });
    deps.sessions?.record(ingest.id);
    ingest.once('closed', () => {
      whipSessions.delete(ingest.id);
      deps.sessions?.drop(ingest.id);
    });
    res.status(201).type('application/sdp').setHeader('ETag', ingest.etag);
    res.location(`/whip/${streamId}/sessions/${ingest.id}`).send(answer);
  });
  whip.patch('/:streamId/sessions/:sessionId', fragmentBody, async (req, res) => {
    cors(res, 'POST, PATCH, DELETE, OPTIONS');
    const sessionId = String(req.params.sessionId);
    const entry = SESSION_ID.test(sessionId) ? whipSessions.get(sessionId) : undefined;
    if (!entry && SESSION_ID.test(sessionId) && (await sendToHolder(sessionId, req, res))) return;
    if (!entry || entry.streamId !== req.params.streamId) throw notFound('WHIP session');
    await patchIce(entry.ingest, req, res);
  });
  whip.delete('/:streamId/sessions/:sessionId', async (req, res) => {
    cors(res, 'POST, DELETE, OPTIONS');
    const sessionId = String(req.params.sessionId);
    const entry = SESSION_ID.test(sessionId) ? whipSessions.get(sessionId) : undefined;
    if (!entry && SESSION_ID.test(sessionId) && (await sendToHolder(sessionId, req, res))) return;
    if (!entry || entry.streamId !== req.params.streamId) throw notFound('WHIP session');
    entry.ingest.disconnect('publisher sent DELETE');
    res.status(200).end();
  });

  const whep = Router();
  whep.options('/:playbackId{/sessions/:sessionId}', (_req, res) => {
    cors(res, 'POST, PATCH, DELETE, OPTIONS');
    res.status(204).end();
  });
  whep.post('/:playbackId', sdpBody, async (req, res) => {
    cors(res, 'POST, DELETE, OPTIONS');
    webrtcNode();
    const playbackId = String(req.params.playbackId);
    const offer = offerOf(req, deps.sdpMaxBytes);
    const stream = /^[A-Za-z0-9]{8,64}$/.test(playbackId) ? await streams.getByPlaybackId(playbackId) : undefined;
    if (!stream) throw notFound('stream');
    if (stream.private && !deps.access.signer.verify(playbackId, PlaybackAccess.tokenOf(req))) {
      throw new LivecueError('forbidden', 'this stream is private: send its playback token as Authorization: Bearer <token> or ?token=');
    }
    // The show's own room where it is hosted here, else a relay from the node hosting it.
    const room: SfuRoom | undefined = registry.get(stream.id)?.room ?? (await deps.edges?.roomFor(stream));
    if (!room || (!room.producer('video') && !room.producer('audio'))) {
      throw new LivecueError('not_found', 'this stream is not live');
    }
    let viewer: WhepViewer;
    try {
      viewer = await WhepViewer.create(room, offer, playbackId);
    } catch (error) {
      if (error instanceof SdpError) throw new LivecueError(error.status === 406 ? 'not_acceptable' : 'bad_request', error.message);
      throw error;
    }
    whepSessions.set(viewer.id, { viewer, playbackId });
    // ?viewer=<id> lets a page count as the same viewer on every path (WebRTC, then HLS); ?preview=1
    // (the host console) is not an audience member.
    const viewerParam = typeof req.query.viewer === 'string' && VIEWER_ID.test(req.query.viewer) ? req.query.viewer : undefined;
    const counted = req.query.preview !== '1';
    deps.sessions?.record(viewer.id);
    metrics.whepViewers.inc({ stream_id: stream.id });
    if (counted) void deps.analytics.webrtcJoined(stream.id, viewer.id, viewerParam).catch(() => {});
    viewer.once('closed', () => {
      whepSessions.delete(viewer.id);
      deps.sessions?.drop(viewer.id);
      metrics.whepViewers.dec({ stream_id: stream.id });
      if (counted) void deps.analytics.webrtcLeft(stream.id, viewer.id).catch(() => {});
    });
    res.status(201).type('application/sdp').setHeader('ETag', viewer.etag);
    // Cues ride an SCTP stream the viewer opens as a negotiated data channel with this id.
    if (viewer.cueStreamId !== undefined) res.setHeader('Link', `<urn:livecue:cues>; rel="livecue-cues"; stream-id=${viewer.cueStreamId}`);
    res.location(`/whep/${playbackId}/sessions/${viewer.id}`).send(viewer.answer);
  });
  whep.patch('/:playbackId/sessions/:sessionId', fragmentBody, async (req, res) => {
    cors(res, 'POST, PATCH, DELETE, OPTIONS');
    const sessionId = String(req.params.sessionId);
    const entry = SESSION_ID.test(sessionId) ? whepSessions.get(sessionId) : undefined;
    if (!entry && SESSION_ID.test(sessionId) && (await sendToHolder(sessionId, req, res))) return;
    if (!entry || entry.playbackId !== req.params.playbackId) throw notFound('WHEP session');
    await patchIce(entry.viewer, req, res);
  });
  whep.delete('/:playbackId/sessions/:sessionId', async (req, res) => {
    cors(res, 'POST, DELETE, OPTIONS');
    const sessionId = String(req.params.sessionId);
    const entry = SESSION_ID.test(sessionId) ? whepSessions.get(sessionId) : undefined;
    if (!entry && SESSION_ID.test(sessionId) && (await sendToHolder(sessionId, req, res))) return;
    if (!entry || entry.playbackId !== req.params.playbackId) throw notFound('WHEP session');
    entry.viewer.close();
    res.status(200).end();
  });

  return {
    whip,
    whep,
    sessions: () => whepSessions.size + whipSessions.size,
    close() {
      for (const { viewer } of whepSessions.values()) viewer.close();
      for (const { ingest } of whipSessions.values()) ingest.disconnect('shutdown');
    },
  };
}

// WHIP (RFC 9725) ingest at /whip/<streamId> and WHEP playback at /whep/<playbackId>: one SDP
// offer/answer exchange each, a session resource to PATCH (trickle ICE, ICE restart) and DELETE,
// CORS for browsers. Our candidates are all in the answer (mediasoup is ICE-lite). The sessions
// themselves are held by src/live/webrtc-sessions.ts: these routes translate HTTP to its calls.
import express, { Router, type Request, type Response } from 'express';
import { LivecueError, notFound } from '../errors.ts';
import type { Logger } from '../log.ts';
import { parseOffer, type ParsedOffer } from '../sfu/sdp.ts';
import { applyIcePatch, TRICKLE_ICE_TYPE, type IcePatchTarget } from '../sfu/trickle-ice.ts';
import type { SessionLocator } from '../cluster/forward.ts';
import { sdpRefusal, type WebRtcSessions } from '../live/webrtc-sessions.ts';
import { bearerToken, playbackToken } from './admin-auth.ts';

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
    throw sdpRefusal(error);
  }
}

/** RFC 9725 4.3: trickled candidates (204) or an ICE restart (200, our new credentials, a new ETag). */
async function patchIce(session: IcePatchTarget, req: Request, res: Response): Promise<void> {
  if (!req.is(TRICKLE_ICE_TYPE)) throw new LivecueError('unsupported_media_type', `send the SDP fragment as Content-Type: ${TRICKLE_ICE_TYPE}`);
  const ifMatch = req.headers['if-match'];
  const result = await applyIcePatch(session, typeof req.body === 'string' ? req.body : '', typeof ifMatch === 'string' ? ifMatch : undefined);
  if (result.status === 204) return void res.status(204).end();
  res.status(200).type(TRICKLE_ICE_TYPE).setHeader('ETag', result.etag);
  res.send(result.fragment);
}

export function webrtcRouters(deps: {
  sessions: WebRtcSessions;
  /** Finds the node holding a session this node does not hold, and passes the request on. */
  locator?: SessionLocator;
  logger: Logger;
  sdpMaxBytes: number;
}): { whip: Router; whep: Router } {
  const { sessions, logger } = deps;
  const sdpBody = express.text({ type: 'application/sdp', limit: deps.sdpMaxBytes });
  const fragmentBody = express.text({ type: TRICKLE_ICE_TYPE, limit: deps.sdpMaxBytes });

  /** A request for a session: handled here, passed to the node that holds it, or 404. */
  const onSession = async <T>(req: Request, res: Response, find: (sessionId: string) => T | undefined, what: string): Promise<T | undefined> => {
    const sessionId = String(req.params.sessionId);
    if (!SESSION_ID.test(sessionId)) throw notFound(what);
    const found = find(sessionId);
    if (found) return found;
    if (!sessions.holds(sessionId)) {
      const forwarded = await deps.locator?.forward(sessionId, req).catch((error: Error) => {
        logger.warn({ err: error }, 'cannot reach the node holding a WebRTC session');
        return undefined;
      });
      if (forwarded) {
        if (forwarded.etag) res.setHeader('ETag', forwarded.etag);
        res.status(forwarded.status).type(forwarded.contentType).send(forwarded.body);
        return undefined;
      }
    }
    throw notFound(what);
  };
  const publisherOf = (req: Request, res: Response) => onSession(req, res, (id) => sessions.publisher(String(req.params.streamId), id), 'WHIP session');
  const viewerOf = (req: Request, res: Response) => onSession(req, res, (id) => sessions.viewer(String(req.params.playbackId), id), 'WHEP session');

  const whip = Router();
  whip.options('/:streamId{/sessions/:sessionId}', (_req, res) => {
    cors(res, 'POST, PATCH, DELETE, OPTIONS');
    res.status(204).end();
  });
  whip.post('/:streamId', sdpBody, async (req, res) => {
    cors(res, 'POST, DELETE, OPTIONS');
    const streamId = String(req.params.streamId);
    const session = await sessions.publish({
      streamId,
      streamKey: bearerToken(req.headers.authorization),
      offer: () => offerOf(req, deps.sdpMaxBytes),
      remote: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
    });
    res.status(201).type('application/sdp').setHeader('ETag', session.etag);
    res.location(`/whip/${streamId}/sessions/${session.id}`).send(session.answer);
  });
  whip.patch('/:streamId/sessions/:sessionId', fragmentBody, async (req, res) => {
    cors(res, 'POST, PATCH, DELETE, OPTIONS');
    const ingest = await publisherOf(req, res);
    if (ingest) await patchIce(ingest, req, res);
  });
  whip.delete('/:streamId/sessions/:sessionId', async (req, res) => {
    cors(res, 'POST, DELETE, OPTIONS');
    const ingest = await publisherOf(req, res);
    if (!ingest) return;
    ingest.disconnect('publisher sent DELETE');
    res.status(200).end();
  });

  const whep = Router();
  whep.options('/:playbackId{/sessions/:sessionId}', (_req, res) => {
    cors(res, 'POST, PATCH, DELETE, OPTIONS');
    res.status(204).end();
  });
  whep.post('/:playbackId', sdpBody, async (req, res) => {
    cors(res, 'POST, DELETE, OPTIONS');
    const playbackId = String(req.params.playbackId);
    const session = await sessions.play({
      playbackId,
      offer: () => offerOf(req, deps.sdpMaxBytes),
      token: playbackToken(req),
      viewerId: typeof req.query.viewer === 'string' && VIEWER_ID.test(req.query.viewer) ? req.query.viewer : undefined,
      preview: req.query.preview === '1',
    });
    res.status(201).type('application/sdp').setHeader('ETag', session.etag);
    // Cues ride an SCTP stream the viewer opens as a negotiated data channel with this id.
    if (session.cueStreamId !== undefined) res.setHeader('Link', `<urn:livecue:cues>; rel="livecue-cues"; stream-id=${session.cueStreamId}`);
    res.location(`/whep/${playbackId}/sessions/${session.id}`).send(session.answer);
  });
  whep.patch('/:playbackId/sessions/:sessionId', fragmentBody, async (req, res) => {
    cors(res, 'POST, PATCH, DELETE, OPTIONS');
    const viewer = await viewerOf(req, res);
    if (viewer) await patchIce(viewer, req, res);
  });
  whep.delete('/:playbackId/sessions/:sessionId', async (req, res) => {
    cors(res, 'POST, DELETE, OPTIONS');
    const viewer = await viewerOf(req, res);
    if (!viewer) return;
    viewer.close();
    res.status(200).end();
  });

  return { whip, whep };
}

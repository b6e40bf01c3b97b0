// /hls/<playbackId>/...: serves HLS as a CDN origin would (cache headers, ETag, byte ranges, CORS). A
// show live on this node is served from its live window: Low-Latency HLS media playlists (blocking
// reloads, delta updates) and parts from memory; everything else comes from the object store.
import { Router, type Request, type Response } from 'express';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../log.ts';
import { assertSafeKey, type ByteRange, type ObjectStore } from '../storage/object-store.ts';
import { sendProblem } from './problem.ts';
import type { PlaybackAccess } from '../security/playback-access.ts';
import type { LiveHlsShow, LiveHlsWindows } from '../transcode/live-hls-windows.ts';
import { PLAYLIST_CACHE_CONTROL, PLAYLIST_CONTENT_TYPE, SEGMENT_CACHE_CONTROL, SEGMENT_CONTENT_TYPE } from '../transcode/hls-packager.ts';

const PLAYBACK_ID = /^[A-Za-z0-9]{8,64}$/;

/** Parses a single-range `Range: bytes=...` header against the object size. */
export function parseRange(header: string, size: number): ByteRange | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, from, to] = match;
  if (from === '' && to === '') return undefined;
  if (from === '') {
    const suffix = Number(to);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(from);
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

function cors(res: Response): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS');
  res.setHeader('Access-Control-Allow-Headers', 'Range');
  res.setHeader('Access-Control-Expose-Headers', 'Content-Length, Content-Range, ETag');
}

/** The LL-HLS query of a media playlist request (RFC 8216bis 6.2.5): which part to wait for, and a delta update. */
export function parseLiveQuery(query: Request['query']): { msn?: number; part?: number; skip: boolean } | string {
  const single = (name: string): string | undefined | false => {
    const value = query[name];
    if (value === undefined) return undefined;
    return typeof value === 'string' ? value : false;
  };
  const msn = single('_HLS_msn');
  const part = single('_HLS_part');
  const skip = single('_HLS_skip');
  const number = (value: string) => (/^\d{1,9}$/.test(value) ? Number(value) : undefined);
  if (msn === false || part === false || skip === false) return 'each _HLS_ parameter may be given once';
  if (msn !== undefined && number(msn) === undefined) return '_HLS_msn must be a media sequence number';
  if (part !== undefined && (msn === undefined || number(part) === undefined)) return '_HLS_part must be a part index and comes with _HLS_msn';
  if (skip !== undefined && skip !== 'YES' && skip !== 'v2') return '_HLS_skip must be YES or v2';
  return { msn: msn === undefined ? undefined : number(msn), part: part === undefined ? undefined : number(part), skip: skip !== undefined };
}

const publicOrPrivate = (cacheControl: string, token: string | undefined) => (token ? cacheControl.replace('public', 'private') : cacheControl);

/** A live media playlist from the window: blocks until the asked part exists (bounded), 400 for one too far ahead. */
async function sendLivePlaylist(req: Request, res: Response, show: LiveHlsShow, rendition: string, token: string | undefined): Promise<void> {
  const window = show.windows.get(rendition)!;
  const query = parseLiveQuery(req.query);
  if (typeof query === 'string') return sendProblem(res, 400, query);
  const { targetDuration } = show.timing;
  if (query.msn !== undefined) {
    if (query.msn > window.lastClosed + 2) return sendProblem(res, 400, `_HLS_msn ${query.msn} is more than two segments past the playlist's last`);
    const { msn, part } = query;
    const arrived = await show.waitFor(() => window.has(msn, part), targetDuration * 3000);
    if (!arrived) {
      res.setHeader('Cache-Control', 'no-store');
      return sendProblem(res, 503, `segment ${msn}${part === undefined ? '' : ` part ${part}`} did not arrive in time`);
    }
  }
  const text = show.playlist(rendition, query.skip);
  if (text === undefined) return sendProblem(res, 404, 'no such HLS object');
  res.setHeader('Content-Type', PLAYLIST_CONTENT_TYPE);
  // A blocking response is final for its query, so a CDN may keep it a while; the plain one changes with every part.
  const cacheControl = query.msn !== undefined ? `public, max-age=${targetDuration * 3}` : PLAYLIST_CACHE_CONTROL;
  res.setHeader('Cache-Control', publicOrPrivate(cacheControl, token));
  res.status(200).send(text);
}

/** A part, segment or init from the window; a part a player asks for ahead of time (the preload hint) is waited for. */
async function sendLiveObject(req: Request, res: Response, show: LiveHlsShow, rendition: string, name: string, token: string | undefined): Promise<boolean> {
  const window = show.windows.get(rendition)!;
  let object = window.object(name);
  const asked = show.parsePartName(name);
  if (!object && asked) {
    const next = window.nextPart;
    const soon = asked.msn < next.msn || (asked.msn === next.msn && asked.part <= next.part) || (asked.msn === next.msn + 1 && asked.part === 0);
    if (!soon) return false;
    // Done once it exists, or once a later part exists (the hint named a part that was not made).
    const passed = () => {
      const last = window.last;
      return last !== undefined && (last.msn > asked.msn || (last.msn === asked.msn && last.part >= asked.part));
    };
    await show.waitFor(passed, show.timing.targetDuration * 3000);
    object = window.object(name);
  }
  if (!object) return false;
  res.setHeader('Content-Type', SEGMENT_CONTENT_TYPE);
  const cacheControl = object.kind === 'part' ? `public, max-age=${show.timing.targetDuration * 3}` : SEGMENT_CACHE_CONTROL;
  res.setHeader('Cache-Control', publicOrPrivate(cacheControl, token));
  // Names never repeat within a session (its tag is in them), so name and size identify the bytes.
  const etag = `"${show.sessionTag}-${name}-${object.bytes.length}"`;
  res.setHeader('ETag', etag);
  res.setHeader('Accept-Ranges', 'bytes');
  if (req.headers['if-none-match'] === etag) {
    res.status(304).end();
    return true;
  }
  let body = object.bytes;
  if (req.headers.range) {
    const range = parseRange(req.headers.range, body.length);
    if (range === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${body.length}`);
      sendProblem(res, 416, `range ${req.headers.range} is outside the object (${body.length} bytes)`);
      return true;
    }
    if (range) {
      res.status(206);
      res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${body.length}`);
      body = body.subarray(range.start, range.end + 1);
    }
  }
  res.setHeader('Content-Length', String(body.length));
  if (req.method === 'HEAD') res.end();
  else res.end(body);
  return true;
}

/** Mirrors, on this node, shows held by another node (src/cluster/hls-relay.ts). */
export interface LiveHlsFollower {
  /** Resolves once the mirror can answer (its snapshot is in) or after a moment; at once for a known mirror. */
  follow(playbackId: string): Promise<void>;
}

/**
 * Whether the rendition is served from memory: the show's own node once its window has a part (before that,
 * storage answers: 404 until the first playlist), a mirror once it holds a whole segment.
 */
function servesLive(windows: LiveHlsWindows, playbackId: string, show: LiveHlsShow, rendition: string): boolean {
  const window = show.windows.get(rendition);
  if (!window) return false;
  return windows.holds(playbackId) ? window.last !== undefined : window.lastClosed >= 0;
}

export function hlsOrigin(deps: { store: ObjectStore; logger: Logger; access: PlaybackAccess; windows?: LiveHlsWindows; relay?: LiveHlsFollower }): Router {
  const router = Router();

  router.options('/:playbackId/*path', (_req, res) => {
    cors(res);
    res.setHeader('Access-Control-Max-Age', '86400');
    res.status(204).end();
  });

  router.get('/:playbackId/*path', async (req, res) => {
    cors(res);
    const playbackId = String(req.params.playbackId);
    let parts = (req.params as unknown as { path: string[] }).path;
    // Private streams: /hls/<playbackId>/t/<token>/..., so relative URLs in playlists keep the token.
    let token: string | undefined;
    if (parts[0] === 't' && parts.length > 2) {
      token = parts[1];
      parts = parts.slice(2);
    }
    const key = `hls/${playbackId}/${parts.join('/')}`;
    try {
      if (!PLAYBACK_ID.test(playbackId)) throw new Error('bad playback id');
      assertSafeKey(key);
    } catch {
      return sendProblem(res, 404, 'no such HLS object');
    }
    const access = await deps.access.check(playbackId, token);
    if (access === 'token_required') return sendProblem(res, 403, 'this stream is private: play it with a playback token URL');
    // A live media playlist of a show held elsewhere: mirror it, so this and the next requests are answered from memory.
    if (parts.length === 2 && parts[1] === 'index.m3u8' && !deps.windows?.holds(playbackId) && deps.access.wasLive(playbackId))
      await deps.relay?.follow(playbackId);
    const show = deps.windows?.get(playbackId);
    if (show && parts.length === 2 && servesLive(deps.windows!, playbackId, show, parts[0]!)) {
      if (parts[1] === 'index.m3u8') return sendLivePlaylist(req, res, show, parts[0]!, token);
      if (await sendLiveObject(req, res, show, parts[0]!, parts[1]!, token)) return;
    }
    const info = await deps.store.head(key);
    if (!info) return sendProblem(res, 404, 'no such HLS object');

    res.setHeader('Content-Type', info.contentType);
    // A private stream's objects must not sit in shared caches without their token in the key.
    res.setHeader('Cache-Control', token ? info.cacheControl.replace('public', 'private') : info.cacheControl);
    res.setHeader('ETag', info.etag);
    res.setHeader('Last-Modified', info.lastModified.toUTCString());
    res.setHeader('Accept-Ranges', 'bytes');
    if (req.headers['if-none-match'] === info.etag) return void res.status(304).end();

    let range: ByteRange | undefined;
    if (req.headers.range) {
      const parsed = parseRange(req.headers.range, info.size);
      if (parsed === 'unsatisfiable') {
        res.setHeader('Content-Range', `bytes */${info.size}`);
        return sendProblem(res, 416, `range ${req.headers.range} is outside the object (${info.size} bytes)`);
      }
      range = parsed;
    }
    if (req.method === 'HEAD') {
      res.setHeader('Content-Length', String(info.size));
      return void res.status(200).end();
    }
    const object = await deps.store.get(key, range);
    if (!object) return sendProblem(res, 404, 'no such HLS object');
    if (object.range) {
      res.status(206);
      res.setHeader('Content-Range', `bytes ${object.range.start}-${object.range.end}/${info.size}`);
      res.setHeader('Content-Length', String(object.range.end - object.range.start + 1));
    } else {
      res.setHeader('Content-Length', String(object.size));
    }
    try {
      await pipeline(object.body, res);
    } catch (error) {
      deps.logger.debug({ err: error, key }, 'hls response aborted');
    }
  });

  return router;
}

// /hls/<playbackId>/...: serves live and recorded HLS from the object store, as a CDN origin would
// (cache headers from the store, ETag, byte ranges, CORS).
import { Router, type Response } from 'express';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../log.ts';
import { assertSafeKey, type ByteRange, type ObjectStore } from '../storage/object-store.ts';
import { sendProblem } from './problem.ts';
import type { PlaybackAccess } from '../security/playback-access.ts';

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

export function hlsOrigin(deps: { store: ObjectStore; logger: Logger; access: PlaybackAccess }): Router {
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

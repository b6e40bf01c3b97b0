// /v1/streams: create, list, read, delete streams and rotate their keys.
import { Router, type Request } from 'express';
import { badRequest, LivecueError, notFound } from '../errors.ts';
import type { SessionRegistry } from '../live/session-registry.ts';
import type { Logger } from '../log.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { StreamRow, StreamStore } from '../streams/stream-store.ts';
import { hlsUrls, type PublicUrls } from './urls.ts';
import type { PlaybackAccess } from '../security/playback-access.ts';
import { sessionView, type SessionView } from './session-view.ts';
import { createStreamBody, playbackTokenBody, updateStreamBody } from '../contract/streams.ts';
import { streamListQuery } from '../contract/shows.ts';
import { pageOf } from './cursor-page.ts';
import type { ShowSchedules } from '../shows/show-schedules.ts';

const STREAM_ID = /^str_[A-Za-z0-9]{16}$/;
/** Streams per page when a cursor comes without a limit. */
const DEFAULT_PAGE = 50;

export function streamsRouter(deps: {
  streams: StreamStore;
  registry: SessionRegistry;
  store: ObjectStore;
  urls: () => PublicUrls;
  logger: Logger;
  access: PlaybackAccess;
  /** This node's NODE_ID, named in the sessions it holds. */
  nodeId: string;
  /** The session of a show another node holds (absent: only this node's sessions are shown). */
  remoteSession?: (streamId: string) => Promise<SessionView | undefined>;
  /** Scheduled shows: the schedule fields of create and update, and the schedule in every answer. */
  shows: ShowSchedules;
}): Router {
  const router = Router();
  const { streams, registry } = deps;

  /** A live show's session: this node's, or asked of the node holding it (any api node shows it). */
  const sessionOf = async (stream: StreamRow): Promise<SessionView | undefined> => {
    const local = registry.get(stream.id);
    if (local) return sessionView(local, deps.nodeId);
    return stream.status === 'live' ? deps.remoteSession?.(stream.id) : undefined;
  };

  type ScheduleView = ReturnType<ShowSchedules['view']>;
  const view = (stream: StreamRow, session?: SessionView, schedule?: ScheduleView) => {
    const urls = deps.urls();
    return {
      id: stream.id,
      title: stream.title,
      status: stream.status,
      private: stream.private,
      playbackId: stream.playbackId,
      createdAt: stream.createdAt.toISOString(),
      ingest: { rtmpUrl: urls.rtmp, ...(urls.rtmps ? { rtmpsUrl: urls.rtmps } : {}), whipUrl: `${urls.api}/whip/${stream.id}` },
      playback: {
        ...hlsUrls(urls, stream.playbackId),
        whepUrl: `${urls.api}/whep/${stream.playbackId}`,
      },
      ...(session && { session }),
      ...(schedule && { schedule }),
    };
  };
  const viewWithSession = async (stream: StreamRow) => {
    const [session, schedules] = await Promise.all([sessionOf(stream), deps.shows.views([stream])]);
    return view(stream, session, schedules.get(stream.id));
  };

  const streamOf = async (req: Request) => {
    const id = String(req.params.id);
    if (!STREAM_ID.test(id)) throw badRequest(`"${id.slice(0, 40)}" is not a stream id (str_ followed by 16 letters or digits)`);
    const stream = await streams.get(id);
    if (!stream) throw notFound(`stream ${id}`);
    return stream;
  };

  router.post('/', async (req, res) => {
    if (!req.is('application/json')) throw new LivecueError('unsupported_media_type', 'send the body as application/json');
    const body = createStreamBody.parse(req.body ?? {});
    // The lineup is checked before the stream exists: a refused schedule leaves nothing behind.
    await deps.shows.check(body);
    const { stream, streamKey } = await streams.create(body.title, body.private ?? false);
    deps.logger.info({ streamId: stream.id }, 'stream created');
    await deps.shows.apply(stream, body);
    const created = view(stream, undefined, (await deps.shows.views([stream])).get(stream.id));
    res
      .status(201)
      .location(`/v1/streams/${stream.id}`)
      .json({ ...created, ingest: { ...created.ingest, streamKey } });
  });

  router.get('/', async (req, res) => {
    const query = streamListQuery.parse(req.query);
    // Neither limit nor cursor: every stream, as the list was before pages.
    const paged = query.limit !== undefined || query.cursor !== undefined;
    const page = await deps.shows.store.listStreams(query.status, paged ? pageOf(query, DEFAULT_PAGE) : {});
    const schedules = await deps.shows.views(page.streams);
    const listed = await Promise.all(page.streams.map(async (stream) => view(stream, await sessionOf(stream), schedules.get(stream.id))));
    res.json({ streams: listed, nextCursor: page.nextCursor });
  });

  router.get('/:id', async (req, res) => {
    res.json(await viewWithSession(await streamOf(req)));
  });

  router.delete('/:id', async (req, res) => {
    const stream = await streamOf(req);
    await registry.end(stream.id, 'stream_deleted');
    await streams.delete(stream.id);
    const keys = await deps.store.list(`hls/${stream.playbackId}/`);
    await deps.store.delete(keys);
    deps.logger.info({ streamId: stream.id, objects: keys.length }, 'stream deleted');
    res.status(204).end();
  });

  router.patch('/:id', async (req, res) => {
    if (!req.is('application/json')) throw new LivecueError('unsupported_media_type', 'send the body as application/json');
    const stream = await streamOf(req);
    const { title, private: isPrivate, ...schedule } = updateStreamBody.parse(req.body ?? {});
    const existing = await deps.shows.store.get(stream.id);
    await deps.shows.check(schedule, existing);
    const changes = { ...(title !== undefined && { title }), ...(isPrivate !== undefined && { private: isPrivate }) };
    const updated = await streams.update(stream.id, changes);
    await deps.shows.apply(updated!, schedule, existing);
    deps.access.forget(stream.playbackId);
    res.json(await viewWithSession(updated!));
  });

  /** A signed, expiring playback URL set for one viewer (needed for private streams). */
  router.post('/:id/playback-tokens', async (req, res) => {
    const stream = await streamOf(req);
    const { expiresInSeconds } = playbackTokenBody.parse(req.body ?? {});
    const expiresAt = new Date(Date.now() + expiresInSeconds * 1000);
    const token = deps.access.signer.issue(stream.playbackId, expiresAt);
    const urls = deps.urls();
    res.status(201).json({
      token,
      expiresAt: expiresAt.toISOString(),
      playback: {
        ...hlsUrls(urls, stream.playbackId, token),
        whepUrl: `${urls.api}/whep/${stream.playbackId}?token=${token}`,
        cuesUrl: `${urls.api}/live/${stream.playbackId}/cues?token=${token}`,
        eventsUrl: `${urls.api.replace(/^http/, 'ws')}/live/${stream.playbackId}/events?token=${token}`,
      },
    });
  });

  router.post('/:id/rotate-key', async (req, res) => {
    const stream = await streamOf(req);
    const streamKey = await streams.rotateKey(stream.id);
    if (!streamKey) throw notFound(`stream ${stream.id}`);
    deps.logger.info({ streamId: stream.id }, 'stream key rotated');
    res.json({ streamKey });
  });

  return router;
}

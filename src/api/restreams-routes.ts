// /v1/streams/:id/restreams: the other platforms (YouTube, Twitch, Facebook, any RTMP or RTMPS server)
// a stream's show is sent to while it is live. A target's stream key goes in and never comes back out.
import { Router, type Request } from 'express';
import { conflict, LivecueError, notFound } from '../errors.ts';
import type { Restreams } from '../restream/restreams.ts';
import type { Logger } from '../log.ts';
import { MAX_RESTREAMS_PER_STREAM, type RestreamStatus, type RestreamStore, type RestreamTargetRow } from '../restream/restream-store.ts';
import type { TargetState } from '../restream/restream-target.ts';
import { maskedUrl } from '../restream/target-url.ts';
import type { StreamRow, StreamStore } from '../streams/stream-store.ts';
import type { DestinationPolicy } from '../security/destinations.ts';
import { createRestreamBody, updateRestreamBody } from '../contract/restreams.ts';

const STREAM_ID = /^str_[A-Za-z0-9]{16}$/;
const RESTREAM_ID = /^rst_[A-Za-z0-9]{16}$/;

export function restreamsRouter(deps: {
  restreams: RestreamStore;
  streams: StreamStore;
  running: Restreams;
  logger: Logger;
  destinations: DestinationPolicy;
}): Router {
  /** A target on this machine or the private network is refused unless ALLOW_PRIVATE_DESTINATIONS. */
  const checkDestination = (url: string | undefined) => {
    const problem = url === undefined ? undefined : deps.destinations.hostProblem(new URL(url).hostname);
    if (problem) throw new LivecueError('validation_failed', `invalid request: url ${problem} (ALLOW_PRIVATE_DESTINATIONS is off)`);
  };
  const router = Router({ mergeParams: true });
  const { restreams } = deps;

  const streamOf = async (req: Request): Promise<StreamRow> => {
    const id = String(req.params.id);
    const stream = STREAM_ID.test(id) ? await deps.streams.get(id) : undefined;
    if (!stream) throw notFound(`stream ${id.slice(0, 40)}`);
    return stream;
  };
  const targetOf = async (req: Request, stream: StreamRow): Promise<RestreamTargetRow> => {
    const id = String(req.params.restreamId);
    const target = RESTREAM_ID.test(id) ? await restreams.get(stream.id, id) : undefined;
    if (!target) throw notFound(`restream target ${id.slice(0, 40)}`);
    return target;
  };
  /** Applies a change to the show now, when this node is sending it (other nodes follow within seconds). */
  const applyNow = (stream: StreamRow) => deps.running.of(stream.id)?.sync();

  const view = (stream: StreamRow, target: RestreamTargetRow) => {
    // The node sending the show knows best; otherwise what that node last wrote, while the show is live.
    const running: TargetState | undefined = deps.running.of(stream.id)?.target(target.id)?.state;
    const stored: TargetState = { status: target.status as RestreamStatus, lastError: target.lastError ?? undefined, since: target.statusSince };
    const state: TargetState = running ?? (target.enabled && stream.status === 'live' ? stored : { ...stored, status: 'idle' });
    return {
      id: target.id,
      name: target.name,
      url: target.url,
      enabled: target.enabled,
      status: state.status,
      lastError: state.lastError ?? null,
      since: state.since.toISOString(),
      createdAt: target.createdAt.toISOString(),
    };
  };

  router.post('/', async (req, res) => {
    if (!req.is('application/json')) throw new LivecueError('unsupported_media_type', 'send the body as application/json');
    const stream = await streamOf(req);
    const body = createRestreamBody.parse(req.body ?? {});
    checkDestination(body.url);
    if ((await restreams.count(stream.id)) >= MAX_RESTREAMS_PER_STREAM) {
      throw conflict(`a stream has at most ${MAX_RESTREAMS_PER_STREAM} restream targets; delete one first`);
    }
    const target = await restreams.create(stream.id, {
      url: body.url,
      streamKey: body.streamKey,
      name: body.name ?? new URL(body.url).hostname,
      enabled: body.enabled ?? true,
    });
    deps.logger.info({ streamId: stream.id, restreamId: target.id, target: maskedUrl(target.url) }, 'restream target added');
    await applyNow(stream);
    res.status(201).location(`/v1/streams/${stream.id}/restreams/${target.id}`).json(view(stream, target));
  });

  router.get('/', async (req, res) => {
    const stream = await streamOf(req);
    res.json({ restreams: (await restreams.list(stream.id)).map((target) => view(stream, target)) });
  });

  router.get('/:restreamId', async (req, res) => {
    const stream = await streamOf(req);
    res.json(view(stream, await targetOf(req, stream)));
  });

  router.patch('/:restreamId', async (req, res) => {
    if (!req.is('application/json')) throw new LivecueError('unsupported_media_type', 'send the body as application/json');
    const stream = await streamOf(req);
    const { id } = await targetOf(req, stream);
    const body = updateRestreamBody.parse(req.body ?? {});
    checkDestination(body.url);
    const target = await restreams.update(stream.id, id, body);
    if (!target) throw notFound(`restream target ${id}`);
    deps.logger.info({ streamId: stream.id, restreamId: id, changed: Object.keys(body) }, 'restream target changed');
    await applyNow(stream);
    res.json(view(stream, target));
  });

  router.delete('/:restreamId', async (req, res) => {
    const stream = await streamOf(req);
    const { id } = await targetOf(req, stream);
    await restreams.delete(stream.id, id);
    deps.logger.info({ streamId: stream.id, restreamId: id }, 'restream target deleted');
    await applyNow(stream);
    res.status(204).end();
  });

  return router;
}

// Commerce cues: placed by the shop's backend (/v1/streams/:id/cues, admin token) and read by
// players (/live/<playbackId>/cues, public like the playback URLs).
import { Router, type Request } from 'express';
import { cueStateAt } from '../contract/cue-fold.ts';
import type { CueMessage } from '../contract/cue-message.ts';
import { cueBody, cueStateQuery } from '../contract/cues.ts';
import type { CueService } from '../cues/cue-service.ts';
import { badRequest, LivecueError, notFound } from '../errors.ts';
import type { SessionRegistry } from '../live/session-registry.ts';
import type { StreamRow, StreamStore } from '../streams/stream-store.ts';
import { productView, type ProductStore } from '../products/product-store.ts';
import type { PlaybackAccess } from '../security/playback-access.ts';
import { playbackToken } from './admin-auth.ts';
import type { ForwardedResponse } from '../cluster/forward.ts';

/** The state of a show at a media time (default: now), from its cues. */
export function stateAt(registry: SessionRegistry, stream: StreamRow, cues: CueMessage[], mediaTimeParam: unknown) {
  const session = registry.get(stream.id);
  if (mediaTimeParam !== undefined) {
    const query = cueStateQuery.safeParse({ mediaTime: mediaTimeParam });
    if (!query.success || query.data.mediaTime === undefined) throw badRequest('mediaTime must be a number of seconds >= 0');
    const mediaTime = query.data.mediaTime;
    const wallClock =
      session?.timeline.wallClockAt(mediaTime, { extrapolate: true }) ??
      cues
        .filter((cue) => cue.mediaTime <= mediaTime)
        .map((cue) => Date.parse(cue.wallClock) + (mediaTime - cue.mediaTime) * 1000)
        .at(-1) ??
      Date.now();
    return cueStateAt(cues, { mediaTime, wallClock });
  }
  const now = session?.now() ?? { mediaTime: Number.POSITIVE_INFINITY, wallClock: Date.now() };
  return cueStateAt(cues, now);
}

export function cuesRouter(deps: {
  cues: CueService;
  streams: StreamStore;
  registry: SessionRegistry;
  /** Passes a cue for a show hosted on another node to that node. */
  forward?: (streamId: string, req: Request) => Promise<ForwardedResponse | undefined>;
}): Router {
  const router = Router({ mergeParams: true });
  const streamOf = async (req: Request) => {
    const id = String(req.params.id);
    const stream = /^str_[A-Za-z0-9]{16}$/.test(id) ? await deps.streams.get(id) : undefined;
    if (!stream) throw notFound(`stream ${id}`);
    return stream;
  };

  router.post('/', async (req, res) => {
    if (!req.is('application/json')) throw new LivecueError('unsupported_media_type', 'send the cue as application/json');
    const stream = await streamOf(req);
    const body = cueBody.parse(req.body ?? {});
    if (!deps.registry.get(stream.id) && deps.forward) {
      const forwarded = await deps.forward(stream.id, req);
      if (forwarded) {
        res.status(forwarded.status).type(forwarded.contentType).send(forwarded.body);
        return;
      }
    }
    const header = req.headers['idempotency-key'];
    const { cue, created } = await deps.cues.create(stream, body, typeof header === 'string' ? header : undefined);
    res.status(created ? 201 : 200).json(cue);
  });
  router.get('/', async (req, res) => {
    res.json({ cues: await deps.cues.list(await streamOf(req)) });
  });
  router.get('/state', async (req, res) => {
    const stream = await streamOf(req);
    res.json(stateAt(deps.registry, stream, await deps.cues.list(stream), req.query.mediaTime));
  });
  return router;
}

export function publicCuesRouter(deps: {
  cues: CueService;
  streams: StreamStore;
  registry: SessionRegistry;
  products: ProductStore;
  access: PlaybackAccess;
}): Router {
  const router = Router();
  const streamOf = async (req: Request) => {
    return deps.access.playableStream(String(req.params.playbackId), playbackToken(req));
  };
  router.use((_req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  router.get('/:playbackId/cues', async (req, res) => {
    res.json({ cues: await deps.cues.list(await streamOf(req)) });
  });
  router.get('/:playbackId/cues/state', async (req, res) => {
    const stream = await streamOf(req);
    res.json(stateAt(deps.registry, stream, await deps.cues.list(stream), req.query.mediaTime));
  });
  // What a product card shows; the catalogue is the shop's public information.
  router.get('/:playbackId/products/:productId', async (req, res) => {
    await streamOf(req);
    const id = String(req.params.productId);
    const product = /^prd_[A-Za-z0-9]{16}$/.test(id) ? await deps.products.get(id) : undefined;
    if (!product) throw notFound(`product ${id}`);
    const { createdAt: _created, updatedAt: _updated, ...card } = productView(product);
    res.setHeader('Cache-Control', 'public, max-age=5');
    res.json(card);
  });
  return router;
}

// Shoppable clips: cut one from a recording or from the live show's last seconds, read, list and delete them,
// and the public clip a page plays (/live/clips/:id).
import { Router, type Request, type Response } from 'express';
import { createClipBody, instantClipBody } from '../contract/clips.ts';
import type { CueMessage } from '../contract/cue-message.ts';
import { conflict, LivecueError, notFound } from '../errors.ts';
import type { ProductStore } from '../products/product-store.ts';
import type { PlaybackAccess } from '../security/playback-access.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { StreamStore } from '../streams/stream-store.ts';
import { offerOfSpan } from '../workers/clip-span.ts';
import type { ClipAssets, ClipRow, ClipStore } from '../workers/clip-store.ts';
import { clipView } from '../workers/clip-view.ts';
import type { RecordingStore } from '../workers/recording-store.ts';
import { playbackToken } from './admin-auth.ts';

export interface ClipRoutesDeps {
  clips: ClipStore;
  recordings: RecordingStore;
  streams: StreamStore;
  products: ProductStore;
  store: ObjectStore;
  access: PlaybackAccess;
  hlsBase: () => string;
  apiBase: () => string;
}

const requireJson = (req: Request) => {
  if (!req.is('application/json')) throw new LivecueError('unsupported_media_type', 'send the body as application/json');
};

export function clipsRouters(deps: ClipRoutesDeps) {
  const view = (row: ClipRow) => clipView(row, { hlsBase: deps.hlsBase(), pagesBase: deps.apiBase() });
  const queued = (res: Response, row: ClipRow) => res.status(202).setHeader('Location', `/v1/clips/${row.id}`).json({ id: row.id, status: 'queued' });
  const liveRecording = async (req: Request) => {
    const id = String((req.params as Record<string, string>).id);
    const row = await deps.recordings.get(id);
    // A deleted recording has no media left to cut: it is gone for clips.
    if (!row || row.status === 'deleted') throw notFound(`recording ${id}`);
    return row;
  };

  const byRecording = Router({ mergeParams: true });
  byRecording.post('/', async (req, res) => {
    requireJson(req);
    const recording = await liveRecording(req);
    const body = createClipBody.parse(req.body ?? {});
    const framing = { aspect: body.aspect, cropX: body.cropX };
    const row = body.cueId
      ? await deps.clips.fromPin(recording, body.cueId, framing)
      : await deps.clips.fromRange(recording, body.start ?? 0, body.end ?? 0, framing);
    queued(res, row);
  });
  byRecording.get('/', async (req, res) => {
    const recording = await liveRecording(req);
    res.json({ clips: (await deps.clips.ofRecording(recording.id)).map(view) });
  });

  const byStream = Router({ mergeParams: true });
  byStream.post('/', async (req, res) => {
    requireJson(req);
    const id = String((req.params as Record<string, string>).id);
    const stream = await deps.streams.get(id);
    if (!stream) throw notFound(`stream ${id}`);
    const body = instantClipBody.parse(req.body ?? {});
    const session = await deps.clips.openSession(stream.id);
    if (!session) throw conflict('the stream is not live: clip its recording instead (POST /v1/recordings/{id}/clips)');
    queued(res, await deps.clips.lastSeconds(session, body.lastSeconds, { aspect: body.aspect, cropX: body.cropX }));
  });

  const byId = Router();
  const clipOf = async (req: Request) => {
    const id = String(req.params.id);
    const row = await deps.clips.get(id);
    if (!row || row.status === 'deleted') throw notFound(`clip ${id}`);
    return row;
  };
  byId.get('/:id', async (req, res) => {
    res.json(view(await clipOf(req)));
  });
  byId.delete('/:id', async (req, res) => {
    const row = await clipOf(req);
    if (row.status === 'queued' || row.status === 'processing') throw conflict('the clip is being cut; delete it once it is ready or failed');
    await deps.clips.deleteMedia(row);
    res.status(204).end();
  });

  const publicClip = Router();
  publicClip.get('/clips/:id', async (req, res) => {
    const row = await deps.clips.get(String(req.params.id));
    if (!row || row.status !== 'ready') throw notFound('clip');
    const stream = await deps.streams.get(row.streamId);
    if (!stream) throw notFound('clip');
    const token = playbackToken(req);
    deps.access.requirePlay(stream, token);
    const assets = row.assets as ClipAssets;
    const own = `${deps.hlsBase()}/hls/${stream.playbackId}`;
    const base = stream.private ? `${own}/t/${token}` : own;
    const url = (key: string) => `${base}/${key.slice(`hls/${stream.playbackId}/`.length)}`;
    const stored = await deps.store.get(assets.cues);
    const cues = stored ? ((JSON.parse((await streamText(stored.body)) || '{}') as { cues?: CueMessage[] }).cues ?? []) : [];
    const product = row.productId ? await deps.products.get(row.productId) : undefined;
    const offer = offerOfSpan({ startMs: row.startMs, endMs: row.endMs }, await deps.clips.sessionCues(row.sessionId), row.productId);
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      id: row.id,
      title: stream.title,
      durationSeconds: (row.durationMs ?? row.endMs - row.startMs) / 1000,
      aspect: row.aspect,
      mp4Url: url(assets.mp4),
      hlsUrl: url(assets.hls),
      posterUrl: url(assets.poster),
      product: product
        ? {
            id: product.id,
            sku: product.sku,
            title: product.title,
            price: product.priceMinor / 100,
            currency: product.currency,
            imageUrl: product.imageUrl,
            productUrl: product.productUrl,
            inventory: product.inventory,
          }
        : null,
      offer: offer ? { ...offer, mediaTime: Math.max(0, Number((offer.mediaTime - row.startMs / 1000).toFixed(3))) } : null,
      cues,
    });
  });
  return { byRecording, byStream, byId, publicClip };
}

async function streamText(body: AsyncIterable<Buffer | string>): Promise<string> {
  let text = '';
  for await (const chunk of body) text += chunk.toString();
  return text;
}

// Recordings (replays) and webhook endpoints.
import { Router, type Request } from 'express';
import type { PlaybackAccess } from '../security/playback-access.ts';
import { playbackToken } from './admin-auth.ts';
import { LivecueError, notFound } from '../errors.ts';
import type { StreamStore } from '../streams/stream-store.ts';
import { recordingView } from '../workers/recording-view.ts';
import type { WebhookService } from '../workers/webhooks.ts';
import type { RecordingStore } from '../workers/recording-store.ts';
import { createWebhookBody } from '../contract/webhooks.ts';

export function recordingsRouters(deps: {
  recordings: RecordingStore;
  streams: StreamStore;
  webhooks: WebhookService;
  hlsBase: () => string;
  access: PlaybackAccess;
}) {
  const { recordings } = deps;
  const byStream = Router({ mergeParams: true });
  byStream.get('/', async (req, res) => {
    const stream = await deps.streams.get(String((req.params as Record<string, string>).id));
    if (!stream) throw notFound(`stream ${(req.params as Record<string, string>).id}`);
    const rows = await recordings.ofStream(stream.id);
    res.json({ recordings: rows.map((row) => recordingView(row, deps.hlsBase())) });
  });

  const byId = Router();
  const recordingOf = async (req: Request) => {
    const id = String(req.params.id);
    const row = await recordings.get(id);
    if (!row) throw notFound(`recording ${id}`);
    return row;
  };
  byId.get('/:id', async (req, res) => {
    res.json(recordingView(await recordingOf(req), deps.hlsBase()));
  });
  byId.delete('/:id', async (req, res) => {
    const row = await recordingOf(req);
    if (row.status === 'queued' || row.status === 'processing')
      throw new LivecueError('conflict', 'the recording is being built; delete it once it is ready or failed');
    await recordings.deleteMedia(row);
    res.status(204).end();
  });

  const webhooks = Router();
  const endpointView = (row: { id: string; url: string; events: unknown; createdAt: Date }) => ({
    id: row.id,
    url: row.url,
    events: row.events,
    createdAt: row.createdAt.toISOString(),
  });
  webhooks.post('/', async (req, res) => {
    if (!req.is('application/json')) throw new LivecueError('unsupported_media_type', 'send the body as application/json');
    const body = createWebhookBody.parse(req.body ?? {});
    const row = await deps.webhooks.create(body.url, body.events);
    // The secret is shown once, here; receivers verify Livecue-Signature with it.
    res.status(201).json({ ...endpointView(row), secret: row.secret });
  });
  webhooks.get('/', async (_req, res) => {
    res.json({ webhooks: (await deps.webhooks.list()).map(endpointView) });
  });
  webhooks.delete('/:id', async (req, res) => {
    if (!(await deps.webhooks.delete(String(req.params.id)))) throw notFound(`webhook ${req.params.id}`);
    res.status(204).end();
  });
  /** Public: the stream's newest ready replay, with URLs a viewer page can play (tokened if private). */
  const replay = Router();
  replay.get('/:playbackId/replay', async (req, res) => {
    const playbackId = String(req.params.playbackId);
    const token = playbackToken(req);
    const stream = await deps.access.playableStream(playbackId, token);
    const row = await recordings.newestReady(stream.id);
    if (!row) throw notFound('replay (none is ready yet)');
    const base = stream.private ? `${deps.hlsBase()}/hls/${playbackId}/t/${token}` : `${deps.hlsBase()}/hls/${playbackId}`;
    const view = recordingView(row, deps.hlsBase());
    const rebase = (url: string | null) => (url ? url.replace(`${deps.hlsBase()}/hls/${playbackId}`, base) : null);
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      recordingId: view.id,
      sessionId: view.sessionId,
      durationSeconds: view.durationSeconds,
      hlsUrl: rebase(view.playback.hlsUrl),
      posterUrl: rebase(view.playback.posterUrl),
      thumbnailsVttUrl: rebase(view.playback.thumbnailsVttUrl),
      cuesUrl: rebase(view.playback.cuesUrl),
      mp4Url: rebase(view.playback.mp4Url),
    });
  });
  return { byStream, byId, webhooks, replay };
}

// Recordings (replays) and webhook endpoints.
import { Router, type Request } from 'express';
import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { recordings } from '../db/schema.ts';
import { LivecueError, notFound } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { StreamStore } from '../streams/stream-store.ts';
import { WEBHOOK_EVENTS } from '../workers/queues.ts';
import { recordingView } from '../workers/recording-view.ts';
import type { WebhookService } from '../workers/webhooks.ts';
import { deleteRecordingMedia } from '../workers/worker-host.ts';

const createWebhookBody = z.strictObject({
  url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2048),
  events: z.array(z.enum(WEBHOOK_EVENTS as [string, ...string[]])).min(1).optional(),
});

export function recordingsRouters(deps: { db: Db; store: ObjectStore; streams: StreamStore; webhooks: WebhookService; hlsBase: () => string }) {
  const { db } = deps;
  const byStream = Router({ mergeParams: true });
  byStream.get('/', async (req, res) => {
    const stream = await deps.streams.get(String((req.params as Record<string, string>).id));
    if (!stream) throw notFound(`stream ${(req.params as Record<string, string>).id}`);
    const rows = await db.select().from(recordings).where(eq(recordings.streamId, stream.id)).orderBy(desc(recordings.createdAt));
    res.json({ recordings: rows.map((row) => recordingView(row, deps.hlsBase())) });
  });

  const byId = Router();
  const recordingOf = async (req: Request) => {
    const id = String(req.params.id);
    const [row] = /^rec_[A-Za-z0-9]{16}$/.test(id) ? await db.select().from(recordings).where(eq(recordings.id, id)) : [];
    if (!row) throw notFound(`recording ${id}`);
    return row;
  };
  byId.get('/:id', async (req, res) => {
    res.json(recordingView(await recordingOf(req), deps.hlsBase()));
  });
  byId.delete('/:id', async (req, res) => {
    const row = await recordingOf(req);
    if (row.status === 'queued' || row.status === 'processing') throw new LivecueError('conflict', 'the recording is being built; delete it once it is ready or failed');
    await deleteRecordingMedia(db, deps.store, row);
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
    const row = await deps.webhooks.create(body.url, body.events as never);
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
  return { byStream, byId, webhooks };
}

// Analytics: GET /v1/streams/:id/analytics (live and after the show), and the players' beats
// (POST /live/<playbackId>/beat) that count HLS and replay viewers.
import { Router, type Request } from 'express';
import { asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Analytics } from '../analytics/analytics.ts';
import type { Db } from '../db/database.ts';
import { offerClaims, offers } from '../db/schema.ts';
import { notFound } from '../errors.ts';
import type { StreamStore } from '../streams/stream-store.ts';

const beatBody = z.strictObject({
  viewerId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'an anonymous viewer id of 8-64 letters, digits, _ or -'),
  path: z.enum(['hls', 'replay']),
});

export function analyticsRouters(deps: { analytics: Analytics; streams: StreamStore; db: Db }) {
  const admin = Router({ mergeParams: true });
  admin.get('/', async (req: Request, res) => {
    const id = String((req.params as Record<string, string>).id);
    const stream = /^str_[A-Za-z0-9]{16}$/.test(id) ? await deps.streams.get(id) : undefined;
    if (!stream) throw notFound(`stream ${id}`);
    const [viewers, perMinute] = await Promise.all([deps.analytics.viewers(stream.id), deps.analytics.perMinute(stream.id)]);
    const offerRows = await deps.db
      .select({
        id: offers.id,
        productId: offers.productId,
        quantity: offers.quantity,
        remaining: offers.remaining,
        createdAt: offers.createdAt,
        claims: sql<number>`count(${offerClaims.id}) filter (where ${offerClaims.status} in ('reserved', 'confirmed', 'expired', 'cancelled'))`.mapWith(Number),
        confirmed: sql<number>`count(${offerClaims.id}) filter (where ${offerClaims.status} = 'confirmed')`.mapWith(Number),
        firstClaimAt: sql<string | null>`min(${offerClaims.createdAt})`,
      })
      .from(offers)
      .leftJoin(offerClaims, eq(offerClaims.offerId, offers.id))
      .where(eq(offers.streamId, stream.id))
      .groupBy(offers.id)
      .orderBy(asc(offers.createdAt));
    const total = (name: string) => perMinute.reduce((sum, row) => sum + (Number(row[name]) || 0), 0);
    res.json({
      streamId: stream.id,
      live: { viewers },
      perMinute,
      offers: offerRows.map((row) => ({
        id: row.id,
        productId: row.productId,
        quantity: row.quantity,
        remaining: row.remaining,
        claims: row.claims,
        confirmed: row.confirmed,
        conversion: row.claims > 0 ? Math.round((row.confirmed / row.claims) * 1000) / 1000 : null,
        secondsToFirstClaim: row.firstClaimAt ? (new Date(row.firstClaimAt).getTime() - row.createdAt.getTime()) / 1000 : null,
      })),
      summary: {
        peakViewers: Math.max(0, ...perMinute.map((row) => Number(row.peakViewers) || 0)),
        chatMessages: total('chat'),
        reactions: total('reactions'),
        votes: total('votes'),
        claims: total('claims'),
        cues: total('cues'),
      },
    });
  });

  const beats = Router();
  beats.post('/:playbackId/beat', async (req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    const playbackId = String(req.params.playbackId);
    const stream = /^[A-Za-z0-9]{8,64}$/.test(playbackId) ? await deps.streams.getByPlaybackId(playbackId) : undefined;
    if (!stream) throw notFound('stream');
    const body = beatBody.parse(req.body ?? {});
    await deps.analytics.beat(stream.id, body.viewerId, body.path);
    res.status(204).end();
  });
  return { admin, beats };
}

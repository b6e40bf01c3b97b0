// Analytics: GET /v1/streams/:id/analytics (live and after the show), the players' beats
// (POST /live/<playbackId>/beat) that count HLS and replay viewers and their watch time, and taps on
// the pinned product card (POST /live/<playbackId>/click; also {"type":"click"} on the viewers' socket).
import { Router, type Request, type Response } from 'express';
import type { Analytics } from '../analytics/analytics.ts';
import { pinReport, productReports, showSummary } from '../analytics/show-summary.ts';
import type { OfferService } from '../offers/offer-service.ts';
import { notFound } from '../errors.ts';
import type { StreamRow, StreamStore } from '../streams/stream-store.ts';
import { beatBody, clickBody } from '../contract/analytics.ts';

export function analyticsRouters(deps: { analytics: Analytics; streams: StreamStore; offers: OfferService }) {
  const admin = Router({ mergeParams: true });
  admin.get('/', async (req: Request, res) => {
    const id = String((req.params as Record<string, string>).id);
    const stream = /^str_[A-Za-z0-9]{16}$/.test(id) ? await deps.streams.get(id) : undefined;
    if (!stream) throw notFound(`stream ${id}`);
    const now = Date.now();
    const [viewers, perMinute, watchMs, pinStats, offerRows, liveSeconds] = await Promise.all([
      deps.analytics.viewers(stream.id, now),
      deps.analytics.perMinute(stream.id),
      deps.analytics.watchTime(stream.id),
      deps.analytics.pins(stream.id),
      deps.offers.claimReport(stream.id),
      deps.streams.liveSeconds(stream.id, now),
    ]);
    const pins = pinStats.map((pin) => pinReport(pin, now));
    const distinct = new Map<string, { views: number; clicks: number }>();
    for (const productId of new Set(pins.map((pin) => pin.productId))) {
      const cueIds = pins.filter((pin) => pin.productId === productId).map((pin) => pin.cueId);
      const [views, clicks] = await Promise.all([
        deps.analytics.distinct(stream.id, cueIds, 'viewers'),
        deps.analytics.distinct(stream.id, cueIds, 'clickers'),
      ]);
      distinct.set(productId, { views, clicks });
    }
    const offerClaimsByProduct = new Map<string, number>();
    for (const row of offerRows) offerClaimsByProduct.set(row.productId, (offerClaimsByProduct.get(row.productId) ?? 0) + row.claims);
    const products = productReports(pins, distinct, offerClaimsByProduct);
    const pinned = pinStats.find((pin) => pin.endedAt === null);
    res.json({
      streamId: stream.id,
      live: { viewers, pinned: pinned ? { cueId: pinned.cueId, productId: pinned.productId, since: new Date(pinned.pinnedAt).toISOString() } : null },
      perMinute,
      pins,
      products,
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
      summary: showSummary({ perMinute, watchMs, liveSeconds, pins, products }),
    });
  });

  const beats = Router();
  const publicStream = async (req: Request, res: Response): Promise<StreamRow> => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    const playbackId = String(req.params.playbackId);
    const stream = /^[A-Za-z0-9]{8,64}$/.test(playbackId) ? await deps.streams.getByPlaybackId(playbackId) : undefined;
    if (!stream) throw notFound('stream');
    return stream;
  };
  beats.options(['/:playbackId/beat', '/:playbackId/click'], (_req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
    res.status(204).end();
  });
  beats.post('/:playbackId/beat', async (req, res) => {
    const stream = await publicStream(req, res);
    const body = beatBody.parse(req.body ?? {});
    await deps.analytics.beat(stream.id, body.viewerId, body.path, { leaving: body.leaving });
    res.status(204).end();
  });
  beats.post('/:playbackId/click', async (req, res) => {
    const stream = await publicStream(req, res);
    const body = clickBody.parse(req.body ?? {});
    if (!(await deps.analytics.click(stream.id, body.viewerId, body))) throw notFound('pinned product');
    res.status(204).end();
  });
  return { admin, beats };
}

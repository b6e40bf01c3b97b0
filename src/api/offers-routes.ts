// Offers and claims: viewers claim a unit (POST /v1/offers/:id/claims with their viewer identity),
// the shop confirms or cancels the claim (API token with the write scope).
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { LivecueError, notFound } from '../errors.ts';
import { claimView, offerView, type OfferService } from '../offers/offer-service.ts';
import { viewerOf } from '../offers/viewer-identity.ts';
import { bearerToken } from './admin-auth.ts';
import type { Metrics } from '../metrics/metrics.ts';

/** The claims counter's outcomes (livecue_claims_total{outcome}): a small fixed set. */
const CLAIM_OUTCOMES = ['reserved', 'repeated', 'sold_out', 'offer_ended', 'refused', 'error'] as const;

function claimOutcome(error: unknown): (typeof CLAIM_OUTCOMES)[number] {
  const reason = error instanceof LivecueError ? error.extra.reason : undefined;
  if (reason === 'sold_out' || reason === 'offer_ended') return reason;
  const status = (error as { status?: number }).status ?? (error instanceof z.ZodError ? 400 : 500);
  return status < 500 ? 'refused' : 'error';
}

const claimBody = z.strictObject({
  viewerId: z.string().optional().describe('Anonymous viewer id (when no VIEWER_TOKEN_SECRET is set)'),
  idempotencyKey: z.string().min(1).max(128).optional(),
});

const idOf = (req: Request, prefix: string) => {
  const id = String(req.params.id);
  if (!new RegExp(`^${prefix}_[A-Za-z0-9]{16}$`).test(id)) throw notFound(`${prefix === 'cue' ? 'offer' : 'claim'} ${id.slice(0, 40)}`);
  return id;
};

export function offersRouters(deps: { offers: OfferService; viewerTokenSecret?: string; metrics?: Metrics }) {
  for (const outcome of CLAIM_OUTCOMES) deps.metrics?.claims.inc({ outcome }, 0);
  const offers = Router();
  offers.get('/:id', async (req, res) => {
    const offer = await deps.offers.get(idOf(req, 'cue'));
    if (!offer) throw notFound(`offer ${req.params.id}`);
    res.json(offerView(offer));
  });
  offers.post('/:id/claims', async (req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    try {
      await reserveClaim(req, res);
    } catch (error) {
      deps.metrics?.claims.inc({ outcome: claimOutcome(error) });
      throw error;
    }
  });
  const reserveClaim = async (req: Request, res: Response) => {
    const body = claimBody.parse(req.body ?? {});
    const viewer = viewerOf(deps.viewerTokenSecret, bearerToken(req.headers.authorization), body.viewerId);
    if (!viewer) {
      throw new LivecueError(
        'unauthorized',
        deps.viewerTokenSecret ? 'send the viewer token from the shop as Authorization: Bearer <token>' : 'send a viewerId (8-64 letters, digits, _ or -)',
      );
    }
    const header = req.headers['idempotency-key'];
    const { claim, offer, created } = await deps.offers.claim(idOf(req, 'cue'), viewer, body.idempotencyKey ?? (typeof header === 'string' ? header : undefined));
    deps.metrics?.claims.inc({ outcome: created ? 'reserved' : 'repeated' });
    res.status(created ? 201 : 200).json({ ...claimView(claim), remaining: offer.remaining, productId: offer.productId });
  };

  const claims = Router();
  claims.post('/:id/confirm', async (req, res) => {
    res.json(claimView(await deps.offers.confirm(idOf(req, 'clm'))));
  });
  claims.post('/:id/cancel', async (req, res) => {
    res.json(claimView(await deps.offers.cancel(idOf(req, 'clm'))));
  });
  return { offers, claims };
}

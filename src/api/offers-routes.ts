// Offers and claims for the shop (API token with the write scope): read an offer, confirm or cancel a
// claim. Viewers claim units through claims-endpoint.ts.
import { Router, type Request } from 'express';
import { notFound } from '../errors.ts';
import { claimView, offerView, type OfferService } from '../offers/offer-service.ts';

const idOf = (req: Request, prefix: string) => {
  const id = String(req.params.id);
  if (!new RegExp(`^${prefix}_[A-Za-z0-9]{16}$`).test(id)) throw notFound(`${prefix === 'cue' ? 'offer' : 'claim'} ${id.slice(0, 40)}`);
  return id;
};

export function offersRouters(deps: { offers: OfferService }) {
  const offers = Router();
  offers.get('/:id', async (req, res) => {
    const offer = await deps.offers.get(idOf(req, 'cue'));
    if (!offer) throw notFound(`offer ${req.params.id}`);
    res.json(offerView(offer));
  });
  const claims = Router();
  claims.post('/:id/confirm', async (req, res) => {
    res.json(claimView(await deps.offers.confirm(idOf(req, 'clm'))));
  });
  claims.post('/:id/cancel', async (req, res) => {
    res.json(claimView(await deps.offers.cancel(idOf(req, 'clm'))));
  });
  return { offers, claims };
}

// Offers with units and the viewers' claims on them: the shop reads offers and confirms or cancels claims;
// viewers claim over HTTP (served ahead of Express, src/api/claims-endpoint.ts) or on their socket.
import { z } from 'zod';
import { claimId, cueId, instant, productId, streamId } from './ids.ts';
import { API_PROBLEMS, type Operation } from './operation.ts';
import { idempotencyHeader } from './cues.ts';

export const claimBody = z.strictObject({
  idempotencyKey: z.string().min(1).max(128).optional(),
});

export const offerView = z.object({
  id: cueId.describe("The offer's id is its offer.start cue's"),
  streamId,
  productId,
  quantity: z.number().int(),
  remaining: z.number().int(),
  endsAt: instant.nullable(),
  closedAt: instant.nullable(),
});

export const claimView = z.object({
  id: claimId,
  offerId: cueId,
  viewerId: z.string(),
  status: z.enum(['reserved', 'confirmed', 'cancelled', 'expired']),
  expiresAt: instant,
  createdAt: instant,
});

/** A viewer's claim, with what is left of the offer. */
export const placedClaim = claimView.extend({ remaining: z.number().int(), productId });

export const offerOperations: Operation[] = [
  {
    method: 'get',
    path: '/v1/offers/{id}',
    summary: 'An offer: quantity and remaining units',
    access: 'read',
    params: { id: cueId },
    answers: { 200: { description: 'Offer', schema: offerView } },
    problems: [...API_PROBLEMS, 404],
  },
  {
    method: 'post',
    path: '/v1/offers/{id}/claims',
    access: 'public',
    params: { id: cueId },
    headers: idempotencyHeader,
    body: claimBody,
    summary:
      'A viewer claims one unit (Authorization: Bearer <viewer token>: one livecue issued, POST /live/viewers, or the shop\'s; Idempotency-Key honoured). The same claim can be sent on the viewers\' WebSocket as {"type":"claim","offerId","ref"}.',
    answers: { 201: { description: 'Reserved', schema: placedClaim }, 200: { description: 'The viewer already holds a claim', schema: placedClaim } },
    problems: [400, 401, 404, 409, 413, 415, 429, 503],
  },
  {
    method: 'post',
    path: '/v1/claims/{id}/confirm',
    summary: 'The shop confirms a reserved claim',
    access: 'write',
    params: { id: claimId },
    answers: { 200: { description: 'Confirmed', schema: claimView } },
    problems: [...API_PROBLEMS, 404, 409],
  },
  {
    method: 'post',
    path: '/v1/claims/{id}/cancel',
    summary: 'Cancel a claim; its unit returns',
    access: 'write',
    params: { id: claimId },
    answers: { 200: { description: 'Cancelled', schema: claimView } },
    problems: [...API_PROBLEMS, 404, 409],
  },
];

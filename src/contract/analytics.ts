// Analytics: the shop's report of a stream (live and after the show), and what players report to it:
// beats (viewer counts and watch time) and taps on the pinned product card.
import { z } from 'zod';
import { cueId, instant, playbackId, productId, streamId } from './ids.ts';
import { API_PROBLEMS, type Operation } from './operation.ts';

const viewerId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'an anonymous viewer id of 8-64 letters, digits, _ or -');

/** What a tap on a product card names: the pin (its cue id) or the product (its pin showing now, else its newest). Also taken on the viewers' socket. */
export const clickTarget = {
  cueId: z
    .string()
    .regex(/^cue_[A-Za-z0-9]{16}$/, 'the product.pin cue id (cue_...)')
    .optional(),
  productId: z
    .string()
    .regex(/^prd_[A-Za-z0-9]{16}$/, 'a product id (prd_...)')
    .optional(),
};

export const beatBody = z.strictObject({
  viewerId,
  path: z.enum(['hls', 'replay']),
  leaving: z.boolean().optional().describe('The player stops (page closed, switched path): its watch time up to now counts, then it no longer does.'),
});

export const clickBody = z
  .strictObject({ viewerId, ...clickTarget })
  .refine((body) => body.cueId || body.productId, 'name the pin (cueId) or the product (productId)');

const ratio = z.number().nullable();

export const streamAnalytics = z.object({
  streamId,
  live: z.object({
    viewers: z.looseObject({ webrtc: z.number(), hls: z.number(), replay: z.number(), total: z.number() }),
    pinned: z.object({ cueId, productId, since: instant }).nullable(),
  }),
  perMinute: z
    .array(z.looseObject({ minute: z.string(), peakViewers: z.number() }))
    .describe('Chat, reactions, votes, claims, taps and peak viewers per minute'),
  pins: z.array(
    z.looseObject({
      cueId,
      productId,
      pinnedAt: instant,
      unpinnedAt: instant.nullable(),
      views: z.number(),
      clicks: z.number(),
      claims: z.number(),
      conversion: ratio,
    }),
  ),
  products: z.array(z.looseObject({ productId, views: z.number(), clicks: z.number(), conversion: ratio, clickRate: ratio })),
  offers: z.array(
    z.object({
      id: cueId,
      productId,
      quantity: z.number().int(),
      remaining: z.number().int(),
      claims: z.number().int(),
      confirmed: z.number().int(),
      conversion: ratio,
      secondsToFirstClaim: z.number().nullable(),
    }),
  ),
  summary: z.looseObject({ peakViewers: z.number(), averageViewers: z.number().nullable(), liveSeconds: z.number() }),
});

const preflight = (path: string): Operation => ({
  method: 'options',
  path,
  summary: 'CORS preflight (any origin may report)',
  access: 'public',
  params: { playbackId },
  answers: { 204: { description: 'Allowed' } },
  problems: [],
});

export const analyticsOperations: Operation[] = [
  {
    method: 'get',
    path: '/v1/streams/{id}/analytics',
    access: 'read',
    params: { id: streamId },
    summary:
      'Viewers by path and watch time, per-minute engagement, per pin and per product views while pinned, clicks, claims and conversion, offers, the show summary',
    answers: { 200: { description: 'Analytics', schema: streamAnalytics } },
    problems: [...API_PROBLEMS, 404],
  },
  {
    method: 'post',
    path: '/live/{playbackId}/beat',
    summary: 'Public: a player is still watching: viewer counts and watch time',
    access: 'public',
    params: { playbackId },
    body: beatBody,
    answers: { 204: { description: 'Counted' } },
    problems: [400, 404, 413, 429],
  },
  preflight('/live/{playbackId}/beat'),
  {
    method: 'post',
    path: '/live/{playbackId}/click',
    summary: 'Public: a viewer tapped the pinned product card',
    access: 'public',
    params: { playbackId },
    body: clickBody,
    answers: { 204: { description: 'Counted' } },
    problems: [400, 404, 413, 429],
  },
  preflight('/live/{playbackId}/click'),
];

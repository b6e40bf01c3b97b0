// Commerce cues: the request that places one (validated per type), the cue every path delivers, and the
// state a late joiner needs.
import { z } from 'zod';
import { CUE_TYPES, type CueMessage } from './cue-message.ts';
import { cueId, instant, playbackId, POLL_ID, productId, streamId } from './ids.ts';
import { API_PROBLEMS, type Operation } from './operation.ts';

const when = z.union([
  z.strictObject({ mediaTime: z.number().nonnegative().describe("Seconds on the show's media timeline") }),
  z.strictObject({ wallClock: z.iso.datetime({ offset: true }).describe('An instant of the show (ISO 8601)') }),
]);
const common = {
  at: when.optional().describe('When the cue happens; default: now on the live media timeline'),
  idempotencyKey: z.string().min(1).max(128).optional(),
};

export const cueBody = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('product.pin'), productId, ...common }),
  z.strictObject({ type: z.literal('product.unpin'), productId: productId.optional(), ...common }),
  z
    .strictObject({
      type: z.literal('offer.start'),
      productId,
      discountPercent: z.number().gt(0).max(100).optional(),
      code: z.string().trim().min(1).max(64).optional(),
      offerPrice: z.number().nonnegative().optional(),
      deadline: z.iso.datetime({ offset: true }).optional().describe('When the offer ends'),
      durationSeconds: z.number().positive().max(86_400).optional().describe('Or how long it lasts'),
      quantity: z.number().int().positive().optional().describe('Units on offer (viewers claim them)'),
      claimSeconds: z.number().int().min(1).max(86_400).optional().describe('How long a claim holds a unit before it returns'),
      ...common,
    })
    .refine((offer) => offer.discountPercent !== undefined || offer.code !== undefined || offer.offerPrice !== undefined, {
      message: 'an offer needs a discountPercent, a code or an offerPrice',
    }),
  z.strictObject({ type: z.literal('offer.end'), productId: productId.optional(), ...common }),
  z.strictObject({
    type: z.literal('poll.open'),
    pollId: z.string().regex(POLL_ID).optional(),
    question: z.string().trim().min(1).max(300),
    options: z.array(z.string().trim().min(1).max(100)).min(2).max(10),
    durationSeconds: z.number().positive().max(86_400).optional(),
    ...common,
  }),
  z.strictObject({
    type: z.literal('poll.close'),
    pollId: z.string().regex(POLL_ID).optional(),
    results: z.array(z.number().int().nonnegative()).max(10).optional(),
    ...common,
  }),
  z.strictObject({ type: z.literal('announcement'), text: z.string().trim().min(1).max(500), ...common }),
  z.strictObject({ type: z.literal('custom'), data: z.json(), ...common }),
]);

export type CueBody = z.infer<typeof cueBody>;

export const cueMessage = z.object({
  id: cueId,
  seq: z.number().int().positive(),
  type: z.enum(CUE_TYPES),
  payload: z.record(z.string(), z.unknown()).describe("The request's fields without type, at and idempotencyKey"),
  mediaTime: z.number().nonnegative().describe("Seconds on the live session's media timeline (0 = first frame; reconnect gaps removed)"),
  wallClock: instant.describe('The instant of the video frame the cue belongs to, on the EXT-X-PROGRAM-DATE-TIME timeline'),
  duration: z.number().nonnegative().optional().describe('Seconds, for cues with a natural end (offers with a deadline, timed polls)'),
});
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// The wire schema and the type the player and server share (cue-message.ts) must not drift apart.
const cueMessageMatches: Same<z.infer<typeof cueMessage>, CueMessage> = true;
void cueMessageMatches;

export const cueList = z.object({ cues: z.array(cueMessage) });

export const cueState = z.object({
  asOf: z.object({
    mediaTime: z.number().nullable().describe('null when the stream is not live (every cue counts)'),
    wallClock: instant,
  }),
  pinnedProduct: z.looseObject({ productId: z.string(), cueId: z.string() }).nullable(),
  offer: z.looseObject({ productId: z.string(), cueId: z.string(), endsAt: instant.nullable(), secondsLeft: z.number().nullable() }).nullable(),
  poll: z.looseObject({ pollId: z.string(), cueId: z.string(), endsAt: instant.nullable() }).nullable(),
  lastAnnouncement: z.object({ text: z.string(), cueId: z.string(), wallClock: instant }).nullable(),
});

export type CueState = z.infer<typeof cueState>;

/** ?mediaTime=: the state at that moment of the show instead of now. */
export const cueStateQuery = z.object({ mediaTime: z.coerce.number<unknown>().nonnegative().optional() });

/** Idempotency-Key: a retried request with the same key gets the first one's answer (200) instead of acting twice. */
export const idempotencyHeader = {
  'Idempotency-Key': z.string().min(1).max(128).optional().describe('A retry with the same key answers what the first request did'),
};

/** ?token=: the playback token a private stream's public URLs carry. */
export const playbackTokenQuery = z.object({ token: z.string().optional().describe('Playback token (private streams)') });

const adminProblems = [...API_PROBLEMS, 404];
const publicProblems = [403, 404];

export const cueOperations: Operation[] = [
  {
    method: 'post',
    path: '/v1/streams/{id}/cues',
    summary: 'Place a commerce cue on the live timeline (Idempotency-Key honoured)',
    access: 'cues',
    params: { id: streamId },
    headers: idempotencyHeader,
    body: cueBody,
    answers: { 201: { description: 'Placed', schema: cueMessage }, 200: { description: 'Already placed (same idempotency key)', schema: cueMessage } },
    problems: [...adminProblems, 400, 409, 413, 415],
  },
  {
    method: 'get',
    path: '/v1/streams/{id}/cues',
    summary: "The cues of the stream's live (or last) show",
    access: 'cues',
    params: { id: streamId },
    answers: { 200: { description: 'Cues', schema: cueList } },
    problems: adminProblems,
  },
  {
    method: 'get',
    path: '/v1/streams/{id}/cues/state',
    summary: 'State a late joiner needs, now or at ?mediaTime=',
    access: 'cues',
    params: { id: streamId },
    query: cueStateQuery,
    answers: { 200: { description: 'State', schema: cueState } },
    problems: [...adminProblems, 400],
  },
  {
    method: 'get',
    path: '/live/{playbackId}/cues',
    summary: "Public: the show's cue track",
    access: 'public',
    params: { playbackId },
    query: playbackTokenQuery,
    answers: { 200: { description: 'Cues', schema: cueList } },
    problems: publicProblems,
  },
  {
    method: 'get',
    path: '/live/{playbackId}/cues/state',
    summary: 'Public: the late joiner state, now or at ?mediaTime=',
    access: 'public',
    params: { playbackId },
    query: cueStateQuery.extend(playbackTokenQuery.shape),
    answers: { 200: { description: 'State', schema: cueState } },
    problems: [400, ...publicProblems],
  },
  {
    method: 'get',
    path: '/live/{playbackId}/events',
    access: 'public',
    params: { playbackId },
    query: playbackTokenQuery,
    summary:
      'The viewers\' WebSocket (served ahead of Express): the state, then every cue as {"type":"cue","cue":…}, offer stock, chat, reactions and poll tallies; takes chat, reactions, votes and claims',
    answers: { 101: { description: 'Switching protocols' } },
    problems: [403, 404, 429],
  },
];

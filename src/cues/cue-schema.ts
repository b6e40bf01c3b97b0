// Commerce cue requests, validated per type, and the one message shape every path delivers.
import { z } from 'zod';

const productId = z.string().regex(/^prd_[A-Za-z0-9]{16}$/, 'a product id (prd_...)');
const when = z.union([
  z.strictObject({ mediaTime: z.number().nonnegative().describe('Seconds on the show\'s media timeline') }),
  z.strictObject({ wallClock: z.iso.datetime({ offset: true }).describe('An instant of the show (ISO 8601)') }),
]);
const common = {
  at: when.optional().describe('When the cue happens; default: now on the live media timeline'),
  idempotencyKey: z.string().min(1).max(128).optional(),
};

export const cueBody = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('product.pin'), productId, ...common }),
  z.strictObject({ type: z.literal('product.unpin'), productId: productId.optional(), ...common }),
  z.strictObject({
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
  }).refine((offer) => offer.discountPercent !== undefined || offer.code !== undefined || offer.offerPrice !== undefined, {
    message: 'an offer needs a discountPercent, a code or an offerPrice',
  }),
  z.strictObject({ type: z.literal('offer.end'), productId: productId.optional(), ...common }),
  z.strictObject({
    type: z.literal('poll.open'),
    pollId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
    question: z.string().trim().min(1).max(300),
    options: z.array(z.string().trim().min(1).max(100)).min(2).max(10),
    durationSeconds: z.number().positive().max(86_400).optional(),
    ...common,
  }),
  z.strictObject({
    type: z.literal('poll.close'),
    pollId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
    results: z.array(z.number().int().nonnegative()).max(10).optional(),
    ...common,
  }),
  z.strictObject({ type: z.literal('announcement'), text: z.string().trim().min(1).max(500), ...common }),
  z.strictObject({ type: z.literal('custom'), data: z.json(), ...common }),
]);

export type CueBody = z.infer<typeof cueBody>;
export type CueType = CueBody['type'];

/** What players receive on every path (HLS DATERANGE, data channel, WebSocket, replay track). */
export interface CueMessage {
  id: string;
  seq: number;
  type: CueType;
  payload: Record<string, unknown>;
  /** Seconds on the live session's media timeline (0 = first frame; reconnect gaps removed). */
  mediaTime: number;
  /** The instant of the video frame the cue belongs to, on the EXT-X-PROGRAM-DATE-TIME timeline. */
  wallClock: string;
  /** Seconds, for cues with a natural end (offers with a deadline, timed polls). */
  duration?: number;
}

/** Splits a request into the cue's payload and its timing fields. */
export function payloadOf(body: CueBody): Record<string, unknown> {
  const { type: _type, at: _at, idempotencyKey: _key, ...payload } = body as CueBody & Record<string, unknown>;
  return payload;
}

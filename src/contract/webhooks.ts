// Webhook endpoints: where livecue posts signed events (Livecue-Signature).
import { z } from 'zod';
import { instant } from './ids.ts';
import { API_PROBLEMS, type Operation } from './operation.ts';

/** Scheduled shows (issue #19): set or changed, starting in REMINDER_LEAD_MINUTES, gone live. */
const SHOW_EVENTS = ['show.scheduled', 'show.starting_soon', 'show.live'] as const;
/** Shoppable clips (issue #19): a clip is ready, or could not be cut. */
const CLIP_EVENTS = ['clip.ready', 'clip.failed'] as const;

export type WebhookEvent =
  | 'stream.live'
  | 'stream.ended'
  | 'recording.ready'
  | 'recording.failed'
  | 'offer.claimed'
  | 'offer.sold_out'
  | (typeof SHOW_EVENTS)[number]
  | (typeof CLIP_EVENTS)[number];
export const WEBHOOK_EVENTS: WebhookEvent[] = [
  'stream.live',
  'stream.ended',
  'recording.ready',
  'recording.failed',
  'offer.claimed',
  'offer.sold_out',
  ...SHOW_EVENTS,
  ...CLIP_EVENTS,
];

export const createWebhookBody = z.strictObject({
  url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2048),
  events: z
    .array(z.enum(WEBHOOK_EVENTS as [WebhookEvent, ...WebhookEvent[]]))
    .min(1)
    .optional(),
});

export const webhookView = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENTS as [WebhookEvent, ...WebhookEvent[]])),
  createdAt: instant,
});
export const createdWebhook = webhookView.extend({ secret: z.string().describe('Shown once: receivers verify Livecue-Signature with it') });
export const webhookList = z.object({ webhooks: z.array(webhookView) });

export const webhookOperations: Operation[] = [
  {
    method: 'post',
    path: '/v1/webhooks',
    summary: 'Add a webhook endpoint (its signing secret is answered once)',
    access: 'write',
    body: createWebhookBody,
    answers: { 201: { description: 'Created', schema: createdWebhook } },
    problems: [...API_PROBLEMS, 400, 413, 415],
  },
  {
    method: 'get',
    path: '/v1/webhooks',
    summary: 'List webhook endpoints',
    access: 'read',
    answers: { 200: { description: 'Endpoints', schema: webhookList } },
    problems: API_PROBLEMS,
  },
  {
    method: 'delete',
    path: '/v1/webhooks/{id}',
    summary: 'Remove a webhook endpoint',
    access: 'write',
    answers: { 204: { description: 'Removed' } },
    problems: [...API_PROBLEMS, 404],
  },
];

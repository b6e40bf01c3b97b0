// Scheduled shows: a stream's announced start, description, cover and lineup; the waiting room's public view of
// it, its calendar file, and the viewers who asked to be reminded.
import { z } from 'zod';
import { instant, playbackId, productId, streamId } from './ids.ts';
import { API_PROBLEMS, type Operation } from './operation.ts';
import { productCard } from './products.ts';

/** A show still not live this long after its start time is marked late. */
export const LATE_AFTER_MINUTES = 30;
/** How far ahead a show may be scheduled. */
export const MAX_SCHEDULE_DAYS = 366;
/** A start time this far in the past is still taken (a form submitted a moment late). */
const PAST_GRACE_MS = 60_000;
export const MAX_LINEUP = 50;

const startAt = z.iso
  .datetime({ offset: true, message: 'scheduledStartAt must be an ISO 8601 date-time with a zone, e.g. 2026-12-24T18:00:00Z' })
  .refine((text) => Number.isFinite(Date.parse(text)), 'scheduledStartAt is not a real date')
  .refine((text) => Date.parse(text) > Date.now() - PAST_GRACE_MS, 'scheduledStartAt is in the past')
  .refine((text) => Date.parse(text) < Date.now() + MAX_SCHEDULE_DAYS * 86_400_000, `scheduledStartAt is more than ${MAX_SCHEDULE_DAYS} days ahead`);

/** The schedule fields POST and PATCH /v1/streams take (PATCH: `scheduledStartAt: null` removes the schedule). */
export const scheduleFields = {
  scheduledStartAt: startAt.optional().describe('When the show starts (ISO 8601); makes the stream a scheduled show'),
  description: z.string().trim().max(5000, 'description is at most 5000 characters').optional(),
  coverImageUrl: z
    .url({ protocol: /^https$/, message: 'coverImageUrl must be an https URL' })
    .max(2048, 'coverImageUrl is at most 2048 characters')
    .optional(),
  products: z
    .array(productId)
    .max(MAX_LINEUP, `a lineup has at most ${MAX_LINEUP} products`)
    .refine((ids) => new Set(ids).size === ids.length, 'products lists a product twice')
    .optional()
    .describe('The lineup: catalogue product ids, in show order'),
};

export const scheduleView = z
  .object({
    startAt: instant,
    description: z.string().nullable(),
    coverImageUrl: z.string().nullable(),
    products: z.array(productId),
    /** Not live LATE_AFTER_MINUTES after its start time. */
    late: z.boolean().describe(`True when the show has not started ${LATE_AFTER_MINUTES} minutes after its time`),
    upcoming: z.boolean().describe('False once the scheduled show has gone live'),
    reminders: z.number().int().describe('Viewers who asked to be reminded'),
    watchUrl: z.url().describe('The waiting room, then the show'),
    calendarUrl: z.url().describe('iCalendar file of the show'),
  })
  .describe('Present when the stream is a scheduled show');

export const streamListQuery = z.strictObject({
  status: z.enum(['idle', 'live', 'ended', 'scheduled']).optional().describe('scheduled: upcoming shows, soonest first'),
  limit: z.coerce.number().int().min(1).max(100).optional().describe('Page size (with or without a cursor); without limit and cursor every stream is listed'),
  cursor: z.string().max(512).optional().describe('nextCursor of the previous page'),
});

/** What the waiting room reads (public, or with the playback token of a private stream). */
export const publicShow = z.object({
  playbackId,
  title: z.string(),
  status: z.enum(['idle', 'live', 'ended']),
  schedule: z
    .object({
      startAt: instant,
      description: z.string().nullable(),
      coverImageUrl: z.string().nullable(),
      late: z.boolean(),
      upcoming: z.boolean(),
      products: z.array(productCard),
      calendarUrl: z.string(),
    })
    .nullable(),
  reminded: z.boolean().describe('Whether the viewer of the Authorization bearer viewer token asked to be reminded'),
});

export const reminderView = z.object({ viewerId: z.string(), viewerName: z.string().nullable(), createdAt: instant });
export const reminderList = z.object({ reminders: z.array(reminderView), total: z.number().int(), nextCursor: z.string().nullable() });
export const reminderQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(512).optional(),
});
export const reminderAnswer = z.object({ reminded: z.literal(true), viewerId: z.string(), createdAt: instant });

const byPlaybackId = { playbackId };

export const showOperations: Operation[] = [
  {
    method: 'get',
    path: '/v1/streams/{id}/reminders',
    summary: "Viewers who asked to be reminded of the stream's scheduled show (oldest first, paginated)",
    access: 'read',
    params: { id: streamId },
    query: reminderQuery,
    answers: { 200: { description: 'Reminders', schema: reminderList } },
    problems: [...API_PROBLEMS, 400, 404],
  },
  {
    method: 'get',
    path: '/live/{playbackId}/show',
    summary: "The show as its waiting room shows it: title, schedule, lineup's product cards",
    access: 'public',
    params: byPlaybackId,
    answers: { 200: { description: 'The show', schema: publicShow } },
    problems: [400, 403, 404],
  },
  {
    method: 'get',
    path: '/live/{playbackId}/calendar.ics',
    summary: 'The scheduled show as an iCalendar event (RFC 5545)',
    access: 'public',
    params: byPlaybackId,
    answers: { 200: { description: 'The event', raw: { contentType: 'text/calendar', description: 'One VEVENT, times in UTC' } } },
    problems: [400, 403, 404],
  },
  {
    method: 'post',
    path: '/live/{playbackId}/reminders',
    summary: 'Remind me: stores the viewer of the bearer viewer token once (asking again answers 200)',
    access: 'public',
    params: byPlaybackId,
    answers: { 201: { description: 'Stored', schema: reminderAnswer }, 200: { description: 'Already stored', schema: reminderAnswer } },
    problems: [400, 401, 403, 404, 409],
  },
  {
    method: 'delete',
    path: '/live/{playbackId}/reminders',
    summary: "Removes the bearer viewer token's reminder",
    access: 'public',
    params: byPlaybackId,
    answers: { 204: { description: 'Removed (or there was none)' } },
    problems: [400, 401, 403, 404],
  },
];

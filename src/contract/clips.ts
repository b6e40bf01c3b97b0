// Shoppable clips: a pin's span (or any span) of a show cut into a short MP4 + HLS with its product and cues,
// from a recording or, while the show is live, from its last seconds.
import { z } from 'zod';
import { cueMessage, playbackTokenQuery } from './cues.ts';
import { clipId, cueId, instant, productId, recordingId, streamId } from './ids.ts';
import { API_PROBLEMS, type Operation } from './operation.ts';
import { productCard } from './products.ts';

const link = z.string().nullable();
const page = { contentType: 'text/html', description: 'The clip page' };

const framing = {
  aspect: z.enum(['source', '9:16']).optional().describe('9:16: a portrait crop, re-encoded (default: the source picture)'),
  cropX: z.number().min(0).max(1).optional().describe('Where the 9:16 crop sits across the picture: 0 left, 0.5 centre (default), 1 right'),
};

/** A pin's span (cueId) or a range (start and end): one object, so a wrong field gets its own clear message. */
export const createClipBody = z
  .strictObject({
    cueId: cueId.optional().describe('A product.pin cue: the clip runs from the pin to its unpin or the next pin (CLIP_MAX_SECONDS at most)'),
    start: z.number().nonnegative().optional().describe('Media seconds of the recording'),
    end: z.number().positive().optional().describe('Media seconds of the recording'),
    ...framing,
  })
  .superRefine((body, ctx) => {
    const range = body.start !== undefined || body.end !== undefined;
    if (body.cueId !== undefined && range) ctx.addIssue({ code: 'custom', path: ['cueId'], message: 'give either a cueId or start and end, not both' });
    else if (body.cueId === undefined && (body.start === undefined || body.end === undefined))
      ctx.addIssue({ code: 'custom', path: [body.start === undefined ? 'start' : 'end'], message: 'give a cueId, or start and end (media seconds)' });
    else if (body.start !== undefined && body.end !== undefined && body.end <= body.start)
      ctx.addIssue({ code: 'custom', path: ['end'], message: 'end must come after start' });
  });
export type CreateClipBody = z.infer<typeof createClipBody>;

export const instantClipBody = z.strictObject({
  lastSeconds: z.number().min(1).max(600).describe('Cut the last this many seconds of the live show'),
  ...framing,
});

export const clipStatus = z.enum(['queued', 'processing', 'ready', 'failed']);
export const queuedClip = z.object({ id: clipId, status: z.literal('queued') });

export const clipView = z.object({
  id: clipId,
  status: clipStatus,
  recordingId: recordingId.nullable().describe('Null for an instant clip cut while the show was live'),
  streamId,
  sessionId: z.string(),
  startSeconds: z.number(),
  endSeconds: z.number(),
  durationSeconds: z.number().nullable(),
  productId: productId.nullable(),
  cueId: cueId.nullable(),
  aspect: z.enum(['source', '9:16']),
  cropX: z.number(),
  failureReason: z.string().nullable(),
  createdAt: instant,
  readyAt: instant.nullable(),
  playback: z.object({ mp4Url: link, hlsUrl: link, posterUrl: link, cuesUrl: link, pageUrl: z.string() }),
});
export const clipList = z.object({ clips: z.array(clipView) });

/** What the clip page shows: no ids of sessions or recordings, no failure reasons. */
export const publicClip = z.object({
  id: clipId,
  title: z.string(),
  durationSeconds: z.number(),
  aspect: z.enum(['source', '9:16']),
  mp4Url: z.string(),
  hlsUrl: z.string(),
  posterUrl: link,
  product: productCard.nullable(),
  offer: cueMessage.nullable().describe('The offer.start cue of the product that ran in the clip, if any'),
  cues: z.array(cueMessage).describe("The cues inside the clip, their mediaTime on the clip's own time"),
});

export const clipOperations: Operation[] = [
  {
    method: 'post',
    path: '/v1/recordings/{id}/clips',
    summary: "Cut a clip of a recording: a pin's span (cueId) or start/end media seconds",
    access: 'write',
    params: { id: recordingId },
    body: createClipBody,
    answers: { 202: { description: 'Queued', schema: queuedClip } },
    problems: [...API_PROBLEMS, 400, 404, 409, 413, 415],
  },
  {
    method: 'get',
    path: '/v1/recordings/{id}/clips',
    summary: "A recording's clips",
    access: 'read',
    params: { id: recordingId },
    answers: { 200: { description: 'Clips', schema: clipList } },
    problems: [...API_PROBLEMS, 404],
  },
  {
    method: 'post',
    path: '/v1/streams/{id}/clips',
    summary: 'Instant clip: the last N seconds of the live show',
    access: 'write',
    params: { id: streamId },
    body: instantClipBody,
    answers: { 202: { description: 'Queued', schema: queuedClip } },
    problems: [...API_PROBLEMS, 400, 404, 409, 413, 415],
  },
  {
    method: 'get',
    path: '/v1/clips/{id}',
    summary: 'A clip: status, duration, product, playback URLs',
    access: 'read',
    params: { id: clipId },
    answers: { 200: { description: 'The clip', schema: clipView } },
    problems: [...API_PROBLEMS, 404],
  },
  {
    method: 'delete',
    path: '/v1/clips/{id}',
    summary: 'Delete a clip and its media',
    access: 'write',
    params: { id: clipId },
    answers: { 204: { description: 'Deleted' } },
    problems: [...API_PROBLEMS, 404, 409],
  },
  {
    method: 'get',
    path: '/live/clips/{id}',
    summary: 'Public: a ready clip as its page plays it (video, product, offer, cues)',
    access: 'public',
    params: { id: clipId },
    query: playbackTokenQuery,
    answers: { 200: { description: 'Clip', schema: publicClip } },
    problems: [403, 404],
  },
  {
    method: 'get',
    path: '/clip/{id}',
    summary: "A clip's page: the video, its product card and cues (embeddable)",
    access: 'public',
    params: { id: clipId },
    answers: { 200: { description: 'HTML', raw: page }, 503: { description: 'Pages not built', raw: page } },
    problems: [404],
  },
];

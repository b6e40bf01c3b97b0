// Streams: what the shop creates, reads and changes, and the playback tokens of private streams.
import { z } from 'zod';
import { MAX_TOKEN_SECONDS } from '../security/playback-tokens.ts';
import { instant, playbackId, streamId } from './ids.ts';
import { API_PROBLEMS, type Operation } from './operation.ts';
import { scheduleFields, scheduleView, streamListQuery } from './shows.ts';

const title = z.string().trim().min(1, 'title must not be empty').max(200, 'title is at most 200 characters');

export const createStreamBody = z.strictObject({
  title,
  private: z.boolean().optional().describe('Play only with signed playback tokens'),
  ...scheduleFields,
});
export const updateStreamBody = z.strictObject({
  title: title.optional(),
  private: z.boolean().optional(),
  ...scheduleFields,
  scheduledStartAt: scheduleFields.scheduledStartAt.unwrap().nullable().optional().describe('A new start time; null removes the schedule'),
});
export const playbackTokenBody = z.strictObject({
  expiresInSeconds: z.number().int().min(10).max(MAX_TOKEN_SECONDS).default(3600),
});

export const rendition = z.object({
  name: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  videoBitrate: z.number(),
  frameRate: z.number(),
  passthrough: z.boolean(),
});

export const sessionView = z
  .object({
    id: z.string(),
    encoderConnected: z.boolean(),
    reconnects: z.number().int(),
    playable: z.boolean(),
    mediaSeconds: z.number(),
    renditions: z.array(rendition),
    nodeId: z.string().describe('The node holding the show (its NODE_ID)'),
  })
  .describe('Present while the stream is live');

export const streamView = z.object({
  id: streamId,
  title: z.string(),
  status: z.enum(['idle', 'live', 'ended']),
  private: z.boolean(),
  playbackId: playbackId.describe('Public id of the playback URLs; reveals nothing about the key'),
  createdAt: instant,
  ingest: z.object({
    rtmpUrl: z.string().describe('OBS "Server"; publish to rtmpUrl + "/" + streamKey'),
    rtmpsUrl: z.string().optional().describe('The same over TLS (RTMPS); present when RTMPS_PORT is set'),
    whipUrl: z.url(),
    streamKey: z.string().optional().describe('Only in the answers of POST /v1/streams'),
  }),
  playback: z.object({
    hlsUrl: z.url().describe('Low-Latency HLS while live (players without LL-HLS play the same URL as plain HLS)'),
    dvrHlsUrl: z.url().describe("Rewind while live: an EVENT playlist from the show's first segment to now, with the cues"),
    whepUrl: z.url(),
  }),
  session: sessionView.optional(),
  schedule: scheduleView.optional(),
});

/** POST /v1/streams answers the key, once. */
export const createdStream = streamView.extend({ ingest: streamView.shape.ingest.extend({ streamKey: z.string() }) });
export const streamList = z.object({
  streams: z.array(streamView),
  nextCursor: z.string().nullable().describe('Pass as ?cursor= for the next page; null on the last'),
});
export const rotatedKey = z.object({ streamKey: z.string() });
export const playbackToken = z.object({
  token: z.string(),
  expiresAt: instant,
  playback: z.object({
    hlsUrl: z.url(),
    dvrHlsUrl: z.url().describe("Rewind while live: an EVENT playlist from the show's first segment to now, with the cues"),
    whepUrl: z.url(),
    cuesUrl: z.url(),
    eventsUrl: z.string().describe("ws(s):// URL of the viewers' socket"),
  }),
});

const byId = { id: streamId };
const problems = (...own: number[]) => [...API_PROBLEMS, ...own];

export const streamOperations: Operation[] = [
  {
    method: 'post',
    path: '/v1/streams',
    summary: 'Create a stream (answers its stream key, once)',
    access: 'write',
    body: createStreamBody,
    answers: { 201: { description: 'Created', schema: createdStream } },
    problems: problems(400, 413, 415),
  },
  {
    method: 'get',
    path: '/v1/streams',
    summary: 'List streams (newest first, or ?status=scheduled: upcoming shows, soonest first), paginated with a cursor',
    access: 'read',
    query: streamListQuery,
    answers: { 200: { description: 'Streams', schema: streamList } },
    problems: problems(400),
  },
  {
    method: 'get',
    path: '/v1/streams/{id}',
    summary: 'Read a stream (never its key)',
    access: 'read',
    params: byId,
    answers: { 200: { description: 'The stream', schema: streamView } },
    problems: problems(400, 404),
  },
  {
    method: 'patch',
    path: '/v1/streams/{id}',
    summary: 'Rename a stream, make it private or public, or set its schedule',
    access: 'write',
    params: byId,
    body: updateStreamBody,
    answers: { 200: { description: 'The changed stream', schema: streamView } },
    problems: problems(400, 404, 413, 415),
  },
  {
    method: 'delete',
    path: '/v1/streams/{id}',
    summary: 'Delete a stream, ending its show and removing its media',
    access: 'write',
    params: byId,
    answers: { 204: { description: 'Deleted' } },
    problems: problems(400, 404),
  },
  {
    method: 'post',
    path: '/v1/streams/{id}/rotate-key',
    summary: 'Issue a new stream key; the old one stops working at once',
    access: 'write',
    params: byId,
    answers: { 200: { description: 'The new key', schema: rotatedKey } },
    problems: problems(400, 404),
  },
  {
    method: 'post',
    path: '/v1/streams/{id}/playback-tokens',
    summary: 'A signed, expiring playback URL set (private streams)',
    access: 'write',
    params: byId,
    body: playbackTokenBody,
    answers: { 201: { description: 'Token and URLs', schema: playbackToken } },
    problems: problems(400, 404),
  },
];

// Recordings (a show's replay, built when it ends) and the public replay a viewer page plays.
import { z } from 'zod';
import { instant, playbackId, recordingId, streamId } from './ids.ts';
import { API_PROBLEMS, type Operation } from './operation.ts';
import { playbackTokenQuery } from './cues.ts';

const link = z.string().nullable();

export const recordingView = z.object({
  id: recordingId,
  streamId,
  sessionId: z.string(),
  status: z.enum(['queued', 'processing', 'ready', 'failed']),
  durationSeconds: z.number().nullable(),
  bytes: z.number().nullable(),
  renditions: z.array(z.unknown()),
  failureReason: z.string().nullable(),
  attempts: z.number().int(),
  createdAt: instant,
  readyAt: instant.nullable(),
  playback: z.object({ hlsUrl: link, posterUrl: link, thumbnailsVttUrl: link, cuesUrl: link, mp4Url: link }),
});
export const recordingList = z.object({ recordings: z.array(recordingView) });

/** URLs carry the playback token when the stream is private. */
export const replay = z.object({
  recordingId,
  sessionId: z.string(),
  durationSeconds: z.number().nullable(),
  hlsUrl: link,
  posterUrl: link,
  thumbnailsVttUrl: link,
  cuesUrl: link,
  mp4Url: link,
});

export const recordingOperations: Operation[] = [
  {
    method: 'get',
    path: '/v1/streams/{id}/recordings',
    summary: "The stream's recordings",
    access: 'read',
    params: { id: streamId },
    answers: { 200: { description: 'Recordings', schema: recordingList } },
    problems: [...API_PROBLEMS, 404],
  },
  {
    method: 'get',
    path: '/v1/recordings/{id}',
    summary: 'A recording: status, duration, playback URLs',
    access: 'read',
    params: { id: recordingId },
    answers: { 200: { description: 'The recording', schema: recordingView } },
    problems: [...API_PROBLEMS, 404],
  },
  {
    method: 'delete',
    path: '/v1/recordings/{id}',
    summary: "Delete a recording and its show's media",
    access: 'write',
    params: { id: recordingId },
    answers: { 204: { description: 'Deleted' } },
    problems: [...API_PROBLEMS, 404, 409],
  },
  {
    method: 'get',
    path: '/live/{playbackId}/replay',
    summary: "Public: the stream's newest ready replay (URLs)",
    access: 'public',
    params: { playbackId },
    query: playbackTokenQuery,
    answers: { 200: { description: 'Replay', schema: replay } },
    problems: [403, 404],
  },
];

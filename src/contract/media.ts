// The media endpoints: WHIP ingest and WHEP playback (RFC 9725, SDP bodies) and the HLS origin.
import { z } from 'zod';
import { playbackId, streamId } from './ids.ts';
import type { Operation, RawBody } from './operation.ts';

const sdpOffer: RawBody = { contentType: 'application/sdp', description: 'The SDP offer' };
const sdpAnswer: RawBody = { contentType: 'application/sdp', description: 'The SDP answer (Location: the session URL; ETag)' };
const fragment: RawBody = { contentType: 'application/trickle-ice-sdpfrag', description: 'Trickle ICE candidates, or new ICE credentials (an ICE restart)' };
const sessionId = z.string().describe('From the Location of the 201');

function webRtcOperations(base: '/whip/{streamId}' | '/whep/{playbackId}', what: { post: string; auth: string; problems: number[]; end: string }): Operation[] {
  const params: Record<string, z.ZodType> = base.startsWith('/whip') ? { streamId } : { playbackId };
  const session = `${base}/sessions/{sessionId}`;
  const preflight = (path: string): Operation => ({
    method: 'options',
    path,
    summary: 'CORS preflight',
    access: 'public',
    params: { ...params, sessionId },
    answers: { 204: { description: 'Allowed' } },
    problems: [],
  });
  return [
    {
      method: 'post',
      path: base,
      summary: `${what.post}; ${what.auth}`,
      access: 'public',
      params,
      body: sdpOffer,
      answers: { 201: { description: 'Answered', raw: sdpAnswer } },
      problems: what.problems,
    },
    {
      method: 'patch',
      path: session,
      summary: 'Trickle ICE candidates (204) or an ICE restart (200, our new credentials; RFC 9725 4.3)',
      access: 'public',
      params: { ...params, sessionId },
      body: fragment,
      answers: { 200: { description: 'ICE restarted (new ETag)', raw: fragment }, 204: { description: 'Candidates taken' } },
      problems: [400, 404, 412, 415, 428],
    },
    {
      method: 'delete',
      path: session,
      summary: what.end,
      access: 'public',
      params: { ...params, sessionId },
      answers: { 200: { description: 'Ended' } },
      problems: [404],
    },
    preflight(base),
    preflight(session),
  ];
}

export const mediaOperations: Operation[] = [
  ...webRtcOperations('/whip/{streamId}', {
    post: 'WHIP ingest (RFC 9725): SDP offer in, 201 + answer + Location',
    auth: 'Authorization: Bearer <streamKey>',
    problems: [400, 401, 404, 406, 409, 413, 415, 429, 503],
    end: 'End a WHIP session',
  }),
  ...webRtcOperations('/whep/{playbackId}', {
    post: 'WHEP playback: recvonly SDP offer in, 201 + answer + Location (Link names the cue data channel)',
    auth: '?token= for private streams',
    problems: [400, 403, 404, 406, 413, 415, 429, 503],
    end: 'Leave',
  }),
  {
    method: 'get',
    path: '/hls/{playbackId}/{path}',
    summary:
      'HLS origin: master.m3u8, <rendition>/index.m3u8 and segments (CORS, byte ranges, cache headers; /hls/{playbackId}/t/{token}/… for private streams)',
    access: 'public',
    params: { playbackId, path: z.string().describe('The object under the stream, e.g. master.m3u8 or 720p/index.m3u8') },
    answers: {
      200: {
        description: 'The object',
        raw: { contentType: 'application/vnd.apple.mpegurl', description: 'A playlist, or a segment (video/mp4, video/iso.segment)' },
      },
      206: { description: 'A byte range' },
      304: { description: 'Not modified (If-None-Match)' },
    },
    problems: [403, 404, 416],
  },
  {
    method: 'options',
    path: '/hls/{playbackId}/{path}',
    summary: 'CORS preflight',
    access: 'public',
    params: { playbackId, path: z.string() },
    answers: { 204: { description: 'Allowed' } },
    problems: [],
  },
];

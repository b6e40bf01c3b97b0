// Restream targets: other platforms (YouTube, Twitch, any RTMP or RTMPS server) a stream's show is sent
// to while it is live. A target's stream key goes in and never comes back out.
import { z } from 'zod';
import { targetUrlProblem } from '../restream/target-url.ts';
import { instant, restreamId, streamId } from './ids.ts';
import { API_PROBLEMS, type Operation } from './operation.ts';

const targetUrl = z
  .string()
  .trim()
  .max(2048, 'is at most 2048 characters')
  .superRefine((value, context) => {
    const problem = targetUrlProblem(value);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  });
// Messages never repeat the key: a problem+json body must not carry it.
const targetKey = z
  .string()
  .min(1, 'must not be empty')
  .max(1024, 'is at most 1024 characters')
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (copy it from the platform as it is)');
const targetName = z.string().trim().min(1, 'must not be empty').max(100, 'is at most 100 characters');

export const createRestreamBody = z.strictObject({
  url: targetUrl,
  streamKey: targetKey,
  name: targetName.optional(),
  enabled: z.boolean().optional(),
});

export const updateRestreamBody = z
  .strictObject({ url: targetUrl.optional(), streamKey: targetKey.optional(), name: targetName.optional(), enabled: z.boolean().optional() })
  .refine((body) => Object.keys(body).length > 0, 'send at least one of enabled, name, url, streamKey');

export const restreamView = z.object({
  id: restreamId,
  name: z.string(),
  url: z.string().describe('The server URL, without the key'),
  enabled: z.boolean(),
  status: z.string().describe('idle, connecting, live, retrying, failed or unsupported'),
  lastError: z.string().nullable(),
  since: instant,
  createdAt: instant,
});
export const restreamList = z.object({ restreams: z.array(restreamView) });

const byStream = { id: streamId };
const byTarget = { id: streamId, restreamId };

export const restreamOperations: Operation[] = [
  {
    method: 'post',
    path: '/v1/streams/{id}/restreams',
    summary: 'Send the show to another platform (RTMP/RTMPS URL and key; the key is stored sealed)',
    access: 'write',
    params: byStream,
    body: createRestreamBody,
    answers: { 201: { description: 'Created', schema: restreamView } },
    problems: [...API_PROBLEMS, 400, 404, 409, 413, 415],
  },
  {
    method: 'get',
    path: '/v1/streams/{id}/restreams',
    summary: 'Restream targets with their live status',
    access: 'read',
    params: byStream,
    answers: { 200: { description: 'Targets', schema: restreamList } },
    problems: [...API_PROBLEMS, 404],
  },
  {
    method: 'get',
    path: '/v1/streams/{id}/restreams/{restreamId}',
    summary: 'A restream target',
    access: 'read',
    params: byTarget,
    answers: { 200: { description: 'Target', schema: restreamView } },
    problems: [...API_PROBLEMS, 404],
  },
  {
    method: 'patch',
    path: '/v1/streams/{id}/restreams/{restreamId}',
    summary: 'Enable, disable or change a target',
    access: 'write',
    params: byTarget,
    body: updateRestreamBody,
    answers: { 200: { description: 'Changed', schema: restreamView } },
    problems: [...API_PROBLEMS, 400, 404, 413, 415],
  },
  {
    method: 'delete',
    path: '/v1/streams/{id}/restreams/{restreamId}',
    summary: 'Remove a target (its FFmpeg stops)',
    access: 'write',
    params: byTarget,
    answers: { 204: { description: 'Removed' } },
    problems: [...API_PROBLEMS, 404],
  },
];

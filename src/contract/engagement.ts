// Chat moderation, Q&A and poll tallies for the host, and the anonymous viewer identity chat, votes and
// claims take.
import { z } from 'zod';
import { instant, messageId, pollId, streamId } from './ids.ts';
import { API_PROBLEMS, type Operation } from './operation.ts';

export const muteBody = z.strictObject({ viewerId: z.string().min(1).max(128) });
export const chatSettingsBody = z.strictObject({ slowModeSeconds: z.number().int().min(0).max(3600) });
export const chatSettings = z.object({ slowModeSeconds: z.number().int() });

export const question = z.object({
  id: z.string(),
  viewer: z.object({ id: z.string(), name: z.string().nullable() }),
  text: z.string(),
  upvotes: z.number().int(),
  answered: z.boolean(),
  at: instant,
});
export const questionList = z.object({ questions: z.array(question) });
export const pollTally = z.object({ pollId: z.string(), tally: z.record(z.string(), z.number().int()).describe('Votes per option index') });

export const viewerIdentity = z.object({
  viewerId: z.string(),
  viewerToken: z.string().describe('What chat, votes and claims take'),
  expiresAt: instant,
});

const byStream = { id: streamId };
const problems = [...API_PROBLEMS, 404];

export const engagementOperations: Operation[] = [
  {
    method: 'post',
    path: '/v1/streams/{id}/mutes',
    summary: 'Mute a viewer in the chat',
    access: 'write',
    params: byStream,
    body: muteBody,
    answers: { 204: { description: 'Muted' } },
    problems: [...problems, 400, 413],
  },
  {
    method: 'delete',
    path: '/v1/streams/{id}/chat/{messageId}',
    summary: 'Delete a chat message for everyone',
    access: 'write',
    params: { ...byStream, messageId },
    answers: { 204: { description: 'Deleted' } },
    problems,
  },
  {
    method: 'put',
    path: '/v1/streams/{id}/chat-settings',
    summary: 'Slow mode: seconds each viewer waits between chat messages (0: off)',
    access: 'write',
    params: byStream,
    body: chatSettingsBody,
    answers: { 200: { description: 'The settings', schema: chatSettings } },
    problems: [...problems, 400, 413],
  },
  {
    method: 'get',
    path: '/v1/streams/{id}/questions',
    summary: "The viewers' questions (Q&A): open ones first, most upvoted first",
    access: 'read',
    params: byStream,
    answers: { 200: { description: 'Questions', schema: questionList } },
    problems,
  },
  {
    method: 'post',
    path: '/v1/streams/{id}/questions/{questionId}/answered',
    summary: 'Mark a question answered (viewers see it)',
    access: 'write',
    params: byStream,
    answers: { 204: { description: 'Marked' } },
    problems,
  },
  {
    method: 'get',
    path: '/v1/streams/{id}/polls/{pollId}',
    summary: "A poll's votes per option",
    access: 'read',
    params: { ...byStream, pollId },
    answers: { 200: { description: 'Tally', schema: pollTally } },
    problems,
  },
  {
    method: 'post',
    path: '/live/viewers',
    summary: 'Public: a new anonymous viewer; its token is what chat, votes and claims take',
    access: 'public',
    answers: { 201: { description: 'Issued', schema: viewerIdentity } },
    problems: [409, 429],
  },
];

// Host moderation of a stream's chat: mute, delete, slow mode, Q&A (answered), poll tallies.
import { Router, type Request } from 'express';
import type { EngagementService } from '../engagement/engagement-service.ts';
import { notFound } from '../errors.ts';
import type { StreamStore } from '../streams/stream-store.ts';
import { chatSettingsBody, muteBody } from '../contract/engagement.ts';

export function moderationRouter(deps: { streams: StreamStore; engagement: EngagementService }): Router {
  const router = Router({ mergeParams: true });
  const streamOf = async (req: Request) => {
    const id = String((req.params as Record<string, string>).id);
    const stream = /^str_[A-Za-z0-9]{16}$/.test(id) ? await deps.streams.get(id) : undefined;
    if (!stream) throw notFound(`stream ${id}`);
    return stream;
  };
  router.post('/mutes', async (req, res) => {
    const stream = await streamOf(req);
    const { viewerId } = muteBody.parse(req.body ?? {});
    await deps.engagement.mute(stream.id, viewerId);
    res.status(204).end();
  });
  router.delete('/chat/:messageId', async (req, res) => {
    const stream = await streamOf(req);
    const messageId = String(req.params.messageId);
    if (!/^msg_[A-Za-z0-9]{12}$/.test(messageId)) throw notFound(`message ${messageId}`);
    await deps.engagement.deleteMessage(stream.playbackId, messageId);
    res.status(204).end();
  });
  router.put('/chat-settings', async (req, res) => {
    const stream = await streamOf(req);
    const { slowModeSeconds } = chatSettingsBody.parse(req.body ?? {});
    await deps.engagement.setSlowMode(stream.id, slowModeSeconds);
    res.json({ slowModeSeconds });
  });
  router.get('/questions', async (req, res) => {
    const stream = await streamOf(req);
    res.json({ questions: await deps.engagement.questions(stream.id) });
  });
  router.post('/questions/:questionId/answered', async (req, res) => {
    const stream = await streamOf(req);
    if (!(await deps.engagement.markAnswered(stream.id, stream.playbackId, String(req.params.questionId)))) throw notFound(`question ${req.params.questionId}`);
    res.status(204).end();
  });
  router.get('/polls/:pollId', async (req, res) => {
    await streamOf(req);
    res.json({ pollId: req.params.pollId, tally: await deps.engagement.tally(String(req.params.pollId)) });
  });
  return router;
}

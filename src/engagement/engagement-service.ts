// Live engagement on the viewers' socket: chat, reactions (aggregated per second), poll votes (one
// per viewer, live tallies), Q&A, taps on the pinned product (analytics). Everything fans out to
// every node through the hub (Redis pub/sub); state that must be shared (mutes, votes) lives in Redis.
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { CueHub } from '../cues/cue-hub.ts';
import type { Logger } from '../log.ts';
import type { Viewer } from '../offers/viewer-identity.ts';
import { RateLimiter } from '../rate-limit.ts';
import type { Analytics } from '../analytics/analytics.ts';
import { clickTarget } from '../contract/analytics.ts';
import { randomBase62 } from '../streams/stream-keys.ts';
import type { CueMessage } from '../contract/cue-message.ts';

export const REACTIONS = ['❤️', '🔥', '😂', '😮', '👏', '🛍️'] as const;

const incoming = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('chat'), text: z.string().trim().min(1).max(500) }),
  z.strictObject({ type: z.literal('reaction'), emoji: z.enum(REACTIONS) }),
  z.strictObject({ type: z.literal('vote'), pollId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), option: z.number().int().min(0).max(9) }),
  z.strictObject({ type: z.literal('question'), text: z.string().trim().min(1).max(300) }),
  z.strictObject({ type: z.literal('upvote'), questionId: z.string().regex(/^q_[A-Za-z0-9]{12}$/) }),
  // A tap on the pinned product's card: the pin's cue id, or the product (its pin showing now).
  z.strictObject({ type: z.literal('click'), ...clickTarget }),
]);

export interface Question {
  id: string;
  viewer: { id: string; name: string | null };
  text: string;
  upvotes: number;
  answered: boolean;
  at: string;
}

/** What a message did: nothing to say, an error for the sender, or a reason to close the socket. */
export type Outcome = { ok: true } | { ok: false; error: string; close?: { code: number; reason: string } };

const FLOOD_STRIKES = 5;
const REACTION_FLUSH_MS = 1000;
/** A poll's votes and voters are kept this long after it opens (results stay readable after the show). */
const POLL_KEEP_SECONDS = 7 * 86_400;

export class EngagementService {
  #chatLimit = new RateLimiter(1, 5);
  #reactionLimit = new RateLimiter(20, 40);
  #voteLimit = new RateLimiter(2, 5);
  /** Polls with new votes since the last flush, and the show each belongs to: tallies go out once a second. */
  #tallies = new Map<string, string>();
  #strikes = new Map<string, number>();
  #reactions = new Map<string, Map<string, number>>();
  #flush: NodeJS.Timeout;
  #blocked: RegExp | undefined;

  constructor(private readonly deps: { redis: Redis; hub: CueHub; logger: Logger; blockedWords: string[]; analytics?: Analytics }) {
    const words = deps.blockedWords
      .map((word) => word.trim())
      .filter(Boolean)
      .map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.#blocked = words.length > 0 ? new RegExp(`\\b(${words.join('|')})\\b`, 'i') : undefined;
    this.#flush = setInterval(() => this.#flushReactions(), REACTION_FLUSH_MS);
    this.#flush.unref();
  }

  close(): void {
    clearInterval(this.#flush);
  }

  /** One message a viewer sent on the socket (parsed JSON). */
  async handle(playbackId: string, streamId: string, viewer: Viewer | undefined, data: unknown): Promise<Outcome> {
    const parsed = incoming.safeParse(data);
    if (!parsed.success) return this.#strike(playbackId, viewer, `invalid message: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
    if (!viewer) return { ok: false, error: 'identify first: connect with ?viewerToken=<token> (get one with POST /live/viewers)' };
    const message = parsed.data;
    const key = `${playbackId}:${viewer.id}`;
    switch (message.type) {
      case 'chat': {
        if (this.#chatLimit.take(key) > 0) return this.#strike(playbackId, viewer, 'slow down');
        // One round trip for both lookups: on a busy node each await can cost a whole turn of the event loop.
        const [muted, slowMode] = await Promise.all([this.deps.redis.sismember(`mutes:${streamId}`, viewer.id), this.deps.redis.get(`slowmode:${streamId}`)]);
        if (muted) return { ok: false, error: 'you are muted in this chat' };
        if (this.#blocked?.test(message.text)) return { ok: false, error: 'message refused by the chat rules' };
        const slowSeconds = Number(slowMode ?? 0);
        if (slowSeconds > 0) {
          const allowed = await this.deps.redis.set(`slow:${streamId}:${viewer.id}`, '1', 'EX', slowSeconds, 'NX');
          if (!allowed) return { ok: false, error: `slow mode: one message every ${slowSeconds} s` };
        }
        await this.deps.hub.publishEvent(playbackId, {
          type: 'chat',
          id: `msg_${randomBase62(12)}`,
          viewer: { id: viewer.id, name: viewer.name ?? null },
          text: message.text,
          at: new Date().toISOString(),
        });
        break;
      }
      case 'reaction': {
        if (this.#reactionLimit.take(key) > 0) return this.#strike(playbackId, viewer, 'slow down');
        const counts = this.#reactions.get(playbackId) ?? new Map<string, number>();
        counts.set(message.emoji, (counts.get(message.emoji) ?? 0) + 1);
        this.#reactions.set(playbackId, counts);
        break;
      }
      case 'vote': {
        if (this.#voteLimit.take(key) > 0) return this.#strike(playbackId, viewer, 'slow down');
        // Only a poll the show has open takes votes, and only for one of its options.
        const open = await this.deps.redis.get(`poll:${message.pollId}:open`);
        if (!open || !open.startsWith(`${streamId}:`)) return { ok: false, error: 'no such open poll in this show' };
        if (message.option >= Number(open.slice(streamId.length + 1))) return { ok: false, error: 'no such option in this poll' };
        const first = await this.deps.redis.hsetnx(`poll:${message.pollId}:voters`, viewer.id, String(message.option));
        if (!first) return { ok: false, error: 'you have voted in this poll already' };
        await this.deps.redis
          .multi()
          .hincrby(`poll:${message.pollId}:tally`, String(message.option), 1)
          .expire(`poll:${message.pollId}:tally`, POLL_KEEP_SECONDS)
          .expire(`poll:${message.pollId}:voters`, POLL_KEEP_SECONDS)
          .exec();
        this.#tallies.set(message.pollId, playbackId);
        break;
      }
      case 'question': {
        if (this.#chatLimit.take(key) > 0) return this.#strike(playbackId, viewer, 'slow down');
        if (this.#blocked?.test(message.text)) return { ok: false, error: 'question refused by the chat rules' };
        const question: Question = {
          id: `q_${randomBase62(12)}`,
          viewer: { id: viewer.id, name: viewer.name ?? null },
          text: message.text,
          upvotes: 0,
          answered: false,
          at: new Date().toISOString(),
        };
        await this.deps.redis.hset(`qa:${streamId}`, question.id, JSON.stringify(question));
        await this.deps.hub.publishEvent(playbackId, { type: 'question', question });
        break;
      }
      case 'upvote': {
        const stored = await this.deps.redis.hget(`qa:${streamId}`, message.questionId);
        if (!stored) return { ok: false, error: 'no such question' };
        if (!(await this.deps.redis.sadd(`qa:${streamId}:${message.questionId}:voters`, viewer.id)))
          return { ok: false, error: 'you have upvoted this question already' };
        const upvotes = await this.deps.redis.hincrby(`qa:${streamId}:upvotes`, message.questionId, 1);
        await this.deps.hub.publishEvent(playbackId, { type: 'question.updated', id: message.questionId, upvotes });
        break;
      }
      case 'click': {
        if (this.#reactionLimit.take(key) > 0) return this.#strike(playbackId, viewer, 'slow down');
        if (!message.cueId && !message.productId) return { ok: false, error: 'name the pin (cueId) or the product (productId)' };
        if (!(await this.deps.analytics?.click(streamId, viewer.id, message))) return { ok: false, error: 'no such pinned product' };
        break;
      }
    }
    this.#strikes.delete(key);
    const counter = message.type === 'reaction' ? 'reactions' : message.type === 'vote' ? 'votes' : message.type === 'chat' ? 'chat' : undefined;
    if (counter) void this.deps.analytics?.count(streamId, counter).catch(() => {});
    return { ok: true };
  }

  /** The option the viewer voted for in the poll, if any. */
  async voteOf(pollId: string, viewerId: string): Promise<number | undefined> {
    const option = await this.deps.redis.hget(`poll:${pollId}:voters`, viewerId);
    return option === null ? undefined : Number(option);
  }

  /** Votes per option, index -> count. */
  async tally(pollId: string): Promise<Record<string, number>> {
    const raw = await this.deps.redis.hgetall(`poll:${pollId}:tally`);
    return Object.fromEntries(Object.entries(raw).map(([option, count]) => [option, Number(count)]));
  }

  /** The show's questions, most upvoted first, answered last. */
  async questions(streamId: string): Promise<Question[]> {
    const [stored, upvotes] = await Promise.all([this.deps.redis.hgetall(`qa:${streamId}`), this.deps.redis.hgetall(`qa:${streamId}:upvotes`)]);
    return Object.values(stored)
      .map((text) => JSON.parse(text) as Question)
      .map((question) => ({ ...question, upvotes: Number(upvotes[question.id] ?? 0) }))
      .sort((a, b) => Number(a.answered) - Number(b.answered) || b.upvotes - a.upvotes || a.at.localeCompare(b.at));
  }

  async markAnswered(streamId: string, playbackId: string, questionId: string): Promise<boolean> {
    const stored = await this.deps.redis.hget(`qa:${streamId}`, questionId);
    if (!stored) return false;
    await this.deps.redis.hset(`qa:${streamId}`, questionId, JSON.stringify({ ...(JSON.parse(stored) as Question), answered: true }));
    await this.deps.hub.publishEvent(playbackId, { type: 'question.updated', id: questionId, answered: true });
    return true;
  }

  /** 0 turns slow mode off. */
  async setSlowMode(streamId: string, seconds: number): Promise<void> {
    if (seconds > 0) await this.deps.redis.set(`slowmode:${streamId}`, String(seconds));
    else await this.deps.redis.del(`slowmode:${streamId}`);
  }

  async mute(streamId: string, viewerId: string): Promise<void> {
    await this.deps.redis.sadd(`mutes:${streamId}`, viewerId);
  }

  async deleteMessage(playbackId: string, messageId: string): Promise<void> {
    await this.deps.hub.publishEvent(playbackId, { type: 'chat.deleted', id: messageId });
  }

  /** Repeated bad or too fast messages close the connection; the others carry on. */
  #strike(playbackId: string, viewer: Viewer | undefined, error: string): Outcome {
    const key = `${playbackId}:${viewer?.id ?? 'anonymous'}`;
    const strikes = (this.#strikes.get(key) ?? 0) + 1;
    this.#strikes.set(key, strikes);
    if (strikes >= FLOOD_STRIKES) {
      this.#strikes.delete(key);
      return { ok: false, error, close: { code: 1008, reason: 'flooding' } };
    }
    return { ok: false, error };
  }

  /** A poll.open cue makes its poll take votes (as many options as it lists); poll.close stops it. */
  async cuePlaced(streamId: string, cue: CueMessage): Promise<void> {
    const current = `poll:stream:${streamId}`;
    if (cue.type === 'poll.open') {
      const pollId = String(cue.payload.pollId ?? cue.id);
      const options = Array.isArray(cue.payload.options) ? cue.payload.options.length : 0;
      await this.deps.redis
        .multi()
        .set(`poll:${pollId}:open`, `${streamId}:${options}`, 'EX', POLL_KEEP_SECONDS)
        .set(current, pollId, 'EX', POLL_KEEP_SECONDS)
        .exec();
    } else if (cue.type === 'poll.close') {
      const pollId = typeof cue.payload.pollId === 'string' ? cue.payload.pollId : await this.deps.redis.get(current);
      if (pollId) await this.deps.redis.del(`poll:${pollId}:open`);
    }
  }

  #flushReactions(): void {
    for (const [pollId, playbackId] of this.#tallies) {
      void this.tally(pollId)
        .then((tally) => this.deps.hub.publishEvent(playbackId, { type: 'poll.tally', pollId, tally }))
        .catch((error: Error) => this.deps.logger.warn({ err: error }, 'cannot publish a poll tally'));
    }
    this.#tallies.clear();
    for (const [playbackId, counts] of this.#reactions) {
      void this.deps.hub
        .publishEvent(playbackId, { type: 'reactions', counts: Object.fromEntries(counts), at: new Date().toISOString() })
        .catch((error: Error) => this.deps.logger.warn({ err: error }, 'cannot publish reactions'));
    }
    this.#reactions.clear();
  }
}

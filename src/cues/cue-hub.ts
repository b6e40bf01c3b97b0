// Fans cues out across livecue nodes through Redis pub/sub, so a viewer's WebSocket on any node
// hears every cue of its show.
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import { TypedEmitter } from '../contract/typed-emitter.ts';
import type { CueMessage } from '../contract/cue-message.ts';

/** What else rides the viewers' event channel: offer stock as it changes. */
export interface OfferStock {
  id: string;
  quantity: number;
  remaining: number;
}

export type CueHubEvents = {
  cue: [playbackId: string, cue: CueMessage];
  offer: [playbackId: string, offer: OfferStock];
  /** Engagement messages (chat, reactions, poll tallies), sent to viewers as they are. */
  event: [playbackId: string, event: Record<string, unknown>];
  /**
   * The subscription came back after Redis was unreachable (restarted, failed over): messages
   * published meanwhile are gone, so listeners send their viewers the current state again.
   */
  resync: [];
};

/** Pub/sub has no replay: give the resubscription a moment to land before listeners read the state. */
const RESYNC_DELAY_MS = 500;

export class CueHub extends TypedEmitter<CueHubEvents> {
  #subscriber: Redis;
  #channelPrefix: string;

  private constructor(
    private readonly publisher: Redis,
    subscriber: Redis,
    prefix: string,
    private readonly logger: Logger,
  ) {
    super((error) => logger.error({ err: error }, 'cue hub listener threw'));
    this.#subscriber = subscriber;
    this.#channelPrefix = `${prefix}:cues:`;
  }

  static async start(redis: Redis, prefix: string, logger: Logger): Promise<CueHub> {
    const subscriber = redis.duplicate();
    const hub = new CueHub(redis, subscriber, prefix, logger);
    let connectedBefore = false;
    subscriber.on('error', (error) => logger.warn({ err: error }, 'cue hub subscriber: redis error'));
    subscriber.on('ready', () => {
      if (connectedBefore) {
        logger.info('cue hub subscription restored; resyncing viewers');
        setTimeout(() => hub.emit('resync'), RESYNC_DELAY_MS).unref();
      }
      connectedBefore = true;
    });
    subscriber.on('pmessage', (_pattern, channel, message) => {
      try {
        const playbackId = channel.slice(hub.#channelPrefix.length);
        const parsed = JSON.parse(message) as { kind?: string; offer?: OfferStock } & CueMessage;
        if (parsed.kind === 'offer' && parsed.offer) hub.emit('offer', playbackId, parsed.offer);
        else if (parsed.kind === 'event') hub.emit('event', playbackId, (parsed as unknown as { event: Record<string, unknown> }).event);
        else hub.emit('cue', playbackId, parsed);
      } catch (error) {
        logger.warn({ err: error }, 'malformed cue on the hub');
      }
    });
    await subscriber.psubscribe(`${hub.#channelPrefix}*`);
    return hub;
  }

  async publish(playbackId: string, cue: CueMessage): Promise<void> {
    await this.publisher.publish(`${this.#channelPrefix}${playbackId}`, JSON.stringify(cue));
  }

  async publishOffer(playbackId: string, offer: OfferStock): Promise<void> {
    await this.publisher.publish(`${this.#channelPrefix}${playbackId}`, JSON.stringify({ kind: 'offer', offer }));
  }

  async publishEvent(playbackId: string, event: Record<string, unknown>): Promise<void> {
    await this.publisher.publish(`${this.#channelPrefix}${playbackId}`, JSON.stringify({ kind: 'event', event }));
  }

  async close(): Promise<void> {
    await this.#subscriber.quit().catch(() => this.#subscriber.disconnect());
  }
}

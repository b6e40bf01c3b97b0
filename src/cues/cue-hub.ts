// Fans cues out across livecue nodes through Redis pub/sub, so a viewer's WebSocket on any node
// hears every cue of its show.
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import { TypedEmitter } from '../typed-emitter.ts';
import type { CueMessage } from './cue-schema.ts';

export type CueHubEvents = { cue: [playbackId: string, cue: CueMessage] };

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
    subscriber.on('pmessage', (_pattern, channel, message) => {
      try {
        hub.emit('cue', channel.slice(hub.#channelPrefix.length), JSON.parse(message) as CueMessage);
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

  async close(): Promise<void> {
    await this.#subscriber.quit().catch(() => this.#subscriber.disconnect());
  }
}

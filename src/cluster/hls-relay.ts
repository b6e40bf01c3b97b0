// Low-Latency HLS across nodes: the node that holds a show publishes its live HLS events (parts with their
// bytes, segment closes, inits, cues) on the show's Redis channel; a node asked for the show's playlists or
// parts that does not hold it subscribes and keeps a mirror of the show's live window, so it answers blocking
// reloads and parts from memory as the origin does, and learns of each part the moment it exists: it never
// polls storage. A new mirror asks for a snapshot on the relay's sync channel: the node that holds the show
// answers it alone with the show's live edge (its start, cues, inits and the parts of its last segments), and
// the request that made the mirror waits a moment for it, so even a node's first answer is Low-Latency. Should
// the snapshot not come, the origin also announces the show again with every segment and the mirror joins at
// the next one (its node serves the stored playlist until then). A mirror nobody asked for in a while is dropped
// and unsubscribed.
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { LiveHlsEvent, LiveHlsMessage } from '../transcode/live-hls-events.ts';
import type { LiveHlsWindows } from '../transcode/live-hls-windows.ts';

/** A mirror is dropped once no request asked for its show for this long. */
const IDLE_MS = 30_000;
const SWEEP_MS = 5_000;
/** At most this many shows mirrored at once: a client naming made-up shows cannot make a node subscribe without end. */
const MAX_MIRRORS = 1000;
/** How long the request that makes a mirror (of a live show) waits for its snapshot before the stored playlist answers it. */
const SNAPSHOT_WAIT_MS = 1000;
const EVENT_TYPES = new Set<LiveHlsEvent['type']>(['started', 'init', 'part', 'segment', 'cues', 'ended']);

interface RelayedMessage extends LiveHlsMessage {
  /** The publishing node: a node ignores its own messages (it applied them already). */
  from: string;
  /** A snapshot's messages are for the mirror that asked: the other nodes ignore them. */
  to?: string;
  /** The snapshot's last message. */
  last?: boolean;
}

/** A mirror's request for a show's snapshot, on the sync channel. */
interface SnapshotRequest {
  playbackId: string;
  from: string;
}

/** One message on the wire: a 4-byte header length, the JSON header (the message without bytes), the bytes. */
export function encodeRelayed(message: RelayedMessage): Buffer {
  const { event } = message;
  const bytes = 'bytes' in event ? event.bytes : undefined;
  const header = Buffer.from(JSON.stringify({ ...message, event: { ...event, bytes: undefined } }));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(header.length);
  return Buffer.concat([length, header, ...(bytes ? [bytes] : [])]);
}

/** The message, or undefined for anything that is not one (a relay never trusts the wire). */
export function decodeRelayed(frame: Buffer): RelayedMessage | undefined {
  if (frame.length < 4) return undefined;
  const headerLength = frame.readUInt32BE(0);
  if (headerLength > frame.length - 4) return undefined;
  let message: RelayedMessage;
  try {
    message = JSON.parse(frame.subarray(4, 4 + headerLength).toString('utf8')) as RelayedMessage;
  } catch {
    return undefined;
  }
  if (typeof message?.from !== 'string' || typeof message.playbackId !== 'string' || typeof message.sessionTag !== 'string') return undefined;
  if ((message.to !== undefined && typeof message.to !== 'string') || (message.last !== undefined && typeof message.last !== 'boolean')) return undefined;
  if (!message.event || !EVENT_TYPES.has(message.event.type)) return undefined;
  const event = message.event as LiveHlsEvent & { bytes?: Buffer };
  if (event.type === 'init' || event.type === 'part') event.bytes = Buffer.from(frame.subarray(4 + headerLength));
  return message;
}

/** What the origin announces again with every segment, so a mirror that joins late can start. */
interface Announcement {
  started: LiveHlsMessage;
  inits: Map<string, LiveHlsMessage>;
  cues?: LiveHlsMessage;
}

export class HlsRelay {
  /** Shows this node mirrors, with when a request last asked for each. */
  readonly #mirrors = new Map<string, number>();
  readonly #announcements = new Map<string, Announcement>();
  /** Mirrors waiting for their snapshot: resolves the request that made each. */
  readonly #syncing = new Map<string, () => void>();
  readonly #sweeper: NodeJS.Timeout;

  private constructor(
    private readonly deps: {
      publisher: Redis;
      subscriber: Redis;
      prefix: string;
      syncChannel: string;
      nodeId: string;
      windows: LiveHlsWindows;
      logger: Logger;
    },
  ) {
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweeper.unref();
  }

  static start(deps: { redis: Redis; prefix: string; nodeId: string; windows: LiveHlsWindows; logger: Logger }): HlsRelay {
    const subscriber = deps.redis.duplicate();
    const relay = new HlsRelay({
      publisher: deps.redis,
      subscriber,
      prefix: `${deps.prefix}:llhls:`,
      syncChannel: `${deps.prefix}:llhls-sync`,
      nodeId: deps.nodeId,
      windows: deps.windows,
      logger: deps.logger,
    });
    subscriber.on('error', (error) => deps.logger.warn({ err: error }, 'hls relay subscriber: redis error'));
    subscriber.on('messageBuffer', (channel: Buffer, frame: Buffer) => {
      if (channel.toString() === relay.deps.syncChannel) relay.#snapshotAsked(frame);
      else relay.#received(frame);
    });
    subscriber.subscribe(relay.deps.syncChannel).catch((error: Error) => deps.logger.warn({ err: error }, 'hls relay: cannot subscribe to snapshot requests'));
    deps.windows.onPublished((message) => relay.#publish(message));
    return relay;
  }

  /** How many shows this node mirrors. */
  get mirrors(): number {
    return this.#mirrors.size;
  }

  /**
   * A request asked for a show this node does not hold: mirror it. The first time, subscribe and ask for its
   * snapshot; the promise resolves once the snapshot is applied or after a moment (a show held nowhere, an
   * ended one, a slow answer). Later requests resolve at once.
   */
  follow(playbackId: string): Promise<void> {
    if (this.deps.windows.holds(playbackId)) return Promise.resolve();
    const known = this.#mirrors.has(playbackId);
    if (!known && this.#mirrors.size >= MAX_MIRRORS) return Promise.resolve();
    this.#mirrors.set(playbackId, Date.now());
    if (known) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, SNAPSHOT_WAIT_MS);
      const syncing = this.#syncing;
      function done() {
        clearTimeout(timer);
        if (syncing.get(playbackId) === done) syncing.delete(playbackId);
        resolve();
      }
      syncing.set(playbackId, done);
      this.deps.subscriber
        .subscribe(this.#channel(playbackId))
        .then(() => this.deps.publisher.publish(this.deps.syncChannel, JSON.stringify({ playbackId, from: this.deps.nodeId } satisfies SnapshotRequest)))
        .catch((error: Error) => {
          this.#mirrors.delete(playbackId);
          this.deps.logger.warn({ err: error, playbackId }, 'cannot subscribe to a show to mirror its LL-HLS');
          done();
        });
    });
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    for (const done of [...this.#syncing.values()]) done();
    await this.deps.subscriber.quit().catch(() => this.deps.subscriber.disconnect());
  }

  #channel(playbackId: string): string {
    return `${this.deps.prefix}${playbackId}`;
  }

  /** An event of a show this node holds goes out to the mirrors; each segment announces the show again. */
  #publish(message: LiveHlsMessage): void {
    const { playbackId, event } = message;
    const send = (outgoing: LiveHlsMessage) => {
      this.deps.publisher.publish(this.#channel(playbackId), encodeRelayed({ ...outgoing, from: this.deps.nodeId })).catch((error: Error) => {
        this.deps.logger.debug({ err: error, playbackId }, 'hls relay publish failed');
      });
    };
    send(message);
    if (event.type === 'started') this.#announcements.set(playbackId, { started: message, inits: new Map() });
    const announcement = this.#announcements.get(playbackId);
    if (!announcement || announcement.started.sessionTag !== message.sessionTag) return;
    if (event.type === 'init') announcement.inits.set(event.rendition, message);
    else if (event.type === 'cues') announcement.cues = message;
    else if (event.type === 'ended') this.#announcements.delete(playbackId);
    else if (event.type === 'segment' && announcement.started.event.type === 'started' && event.rendition === announcement.started.event.renditions.at(-1)) {
      // Once every rendition has closed its segment: a mirror that joins now starts with the next ones.
      for (const again of [announcement.started, ...announcement.inits.values(), ...(announcement.cues ? [announcement.cues] : [])]) send(again);
    }
  }

  /** A mirror asked for a show's snapshot: the node that holds it sends it, to that mirror alone, in order. */
  #snapshotAsked(frame: Buffer): void {
    let request: Partial<SnapshotRequest> | undefined;
    try {
      request = JSON.parse(frame.toString('utf8')) as Partial<SnapshotRequest>;
    } catch {
      request = undefined;
    }
    if (typeof request?.playbackId !== 'string' || typeof request.from !== 'string') {
      return void this.deps.logger.warn({ bytes: frame.length }, 'malformed snapshot request on the hls relay');
    }
    if (request.from === this.deps.nodeId) return;
    const messages = this.deps.windows.snapshot(request.playbackId);
    if (!messages) return;
    for (const [index, message] of messages.entries()) {
      const relayed: RelayedMessage = { ...message, from: this.deps.nodeId, to: request.from, last: index === messages.length - 1 };
      this.deps.publisher.publish(this.#channel(request.playbackId), encodeRelayed(relayed)).catch((error: Error) => {
        this.deps.logger.debug({ err: error, playbackId: request.playbackId }, 'hls relay snapshot publish failed');
      });
    }
  }

  #received(frame: Buffer): void {
    const message = decodeRelayed(frame);
    if (!message) return void this.deps.logger.warn({ bytes: frame.length }, 'malformed message on the hls relay');
    if (message.from === this.deps.nodeId || !this.#mirrors.has(message.playbackId)) return;
    if (message.to !== undefined && message.to !== this.deps.nodeId) return;
    const { from: _from, to: _to, last, ...relayed } = message;
    try {
      this.deps.windows.apply(relayed);
    } catch (error) {
      this.deps.logger.warn({ err: error, playbackId: message.playbackId }, 'hls relay message not applied');
    }
    if (last) this.#syncing.get(message.playbackId)?.();
  }

  #sweep(): void {
    const now = Date.now();
    for (const [playbackId, askedAt] of this.#mirrors) {
      if (now - askedAt < IDLE_MS) continue;
      this.#mirrors.delete(playbackId);
      this.deps.windows.drop(playbackId);
      this.deps.subscriber.unsubscribe(this.#channel(playbackId)).catch(() => {});
    }
  }
}

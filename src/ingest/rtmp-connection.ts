// One RTMP connection, spoken with node-media-server's RTMP protocol engine. The connection holds
// every packet back while livecue decides on the publish, so a refused publish forwards nothing.
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { Logger } from '../log.ts';
import { flvTag } from '../media/flv-tag.ts';
import type { IngestPacket, IngestPacketKind } from '../media/ingest-packet.ts';
import type { SourceInfo } from '../media/source-info.ts';
import { TypedEmitter } from '../contract/typed-emitter.ts';
import type { IngestConnection, IngestConnectionEvents } from './ingest-connection.ts';

const require = createRequire(import.meta.url);

interface NmsAvPacket {
  codec_id: number;
  codec_type: number;
  flags: number;
  dts: number;
  pts: number;
  size: number;
  data: Buffer;
}

interface NmsChunkStream {
  header: { length: number };
}

interface NmsRtmp {
  /** Chunk stream id -> the message being assembled on it (its payload buffer sized by the declared length). */
  inPackets: Map<number, NmsChunkStream>;
  streamApp: string;
  streamName: string;
  onConnectCallback: (req: unknown) => void;
  onPlayCallback: () => void;
  onPushCallback: () => void;
  onOutputCallback: (buffer: Buffer) => void;
  onPacketCallback: (packet: NmsAvPacket) => void;
  parserData(data: Buffer): string | null;
}

const Rtmp = require('node-media-server/src/protocol/rtmp.js') as new () => NmsRtmp;
const { decodeAmf0Data } = require('node-media-server/src/protocol/amf.js') as {
  decodeAmf0Data(data: Buffer): { cmd?: string; dataObj?: Record<string, unknown> | null };
};

/** nms packet flags: 0 audio header, 1 audio, 2 video header, 3 keyframe, 4 inter frame, 5 metadata. */
const KIND_BY_FLAG: Record<number, IngestPacketKind> = {
  0: 'audio-header',
  1: 'audio',
  2: 'video-header',
  3: 'video-key',
  4: 'video',
  5: 'metadata',
};

/** The only RTMP application livecue accepts: rtmp://host/live/<streamKey>. */
export const RTMP_APP = 'live';
/** Packets held while a publish is being decided (a DB lookup; normally a few milliseconds). */
const MAX_HELD_PACKETS = 2000;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const IDLE_TIMEOUT_MS = 15_000;
/** What a client may send before its publish is asked for (handshake, connect, createStream, publish: ~4 KB). */
const MAX_BYTES_BEFORE_PUBLISH = 64 * 1024;
/** Chunk streams one connection may use (encoders use 3 to 6: control, commands, audio, video). */
const MAX_CHUNK_STREAMS = 16;
/** Largest RTMP message: a keyframe of a 4K source fits; the parser allocates what a header declares. */
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/** Before it asks to publish a client sends only small commands (connect, createStream, publish). */
const MAX_MESSAGE_BYTES_BEFORE_PUBLISH = 16 * 1024;

/**
 * node-media-server's parser allocates, per chunk stream, the message length a chunk header declares (up to
 * 16 MiB, on up to 65,599 streams) before any key check: one connection could ask for terabytes. This map
 * bounds both, throwing inside the parser (which the connection reports as a protocol error).
 */
class BoundedChunkStreams extends Map<number, NmsChunkStream> {
  constructor(private readonly maxMessageBytes: () => number) {
    super();
  }

  override set(cid: number, stream: NmsChunkStream): this {
    if (!this.has(cid)) {
      if (this.size >= MAX_CHUNK_STREAMS) throw new Error(`more than ${MAX_CHUNK_STREAMS} RTMP chunk streams`);
      const header = stream.header;
      let length = header.length;
      const limit = this.maxMessageBytes;
      Object.defineProperty(header, 'length', {
        get: () => length,
        set: (value: number) => {
          if (value > limit()) throw new Error(`an RTMP message of ${value} bytes is larger than allowed (${limit()})`);
          length = value;
        },
      });
    }
    return super.set(cid, stream);
  }
}

export type PublishRequest = { app: string; streamKey: string; connection: RtmpConnection };

export class RtmpConnection extends TypedEmitter<IngestConnectionEvents> implements IngestConnection {
  readonly protocol = 'rtmp' as const;
  readonly remoteAddress: string;
  readonly sourceHint: Partial<SourceInfo> = {};
  #rtmp: NmsRtmp;
  #state: 'handshake' | 'deciding' | 'accepted' | 'closed' = 'handshake';
  #held: IngestPacket[] = [];
  #bytes = 0;

  constructor(
    private readonly socket: Socket,
    private readonly logger: Logger,
    private readonly onPublish: (request: PublishRequest) => void,
  ) {
    super((error, event) => logger.error({ err: error, event }, 'rtmp listener threw'));
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    this.#rtmp = new Rtmp();
    this.#rtmp.inPackets = new BoundedChunkStreams(() => (this.#state === 'handshake' ? MAX_MESSAGE_BYTES_BEFORE_PUBLISH : MAX_MESSAGE_BYTES));
    this.#rtmp.onConnectCallback = () => {};
    this.#rtmp.onOutputCallback = (buffer) => {
      if (!socket.destroyed) socket.write(buffer);
    };
    this.#rtmp.onPlayCallback = () => this.disconnect('playback over RTMP is not offered; use HLS or WHEP');
    this.#rtmp.onPushCallback = () => this.#publishRequested();
    this.#rtmp.onPacketCallback = (packet) => this.#packet(packet);
    socket.setNoDelay(true);
    // A silent peer (half-open, or garbage that never completes a handshake) is dropped.
    socket.setTimeout(HANDSHAKE_TIMEOUT_MS, () => this.disconnect('timed out'));
    // And one that trickles bytes to stay clear of the idle timeout still has to publish within the same time.
    const handshakeDeadline = setTimeout(() => {
      if (this.#state === 'handshake') this.disconnect('no publish within the handshake time');
    }, HANDSHAKE_TIMEOUT_MS);
    handshakeDeadline.unref();
    socket.once('close', () => clearTimeout(handshakeDeadline));
    socket.on('data', (data: Buffer) => this.#data(data));
    socket.on('error', (error) => logger.debug({ err: error }, 'rtmp socket error'));
    socket.on('close', () => this.#closed());
  }

  get bytesReceived(): number {
    return this.#bytes;
  }

  /** Called once the publish is accepted: replays what was held, then streams live. */
  accept(): void {
    // The encoder left while its publish was being decided: the session sees it leave at once.
    if (this.#state === 'closed') return this.emit('closed');
    if (this.#state !== 'deciding') return;
    this.#state = 'accepted';
    this.socket.setTimeout(IDLE_TIMEOUT_MS);
    const held = this.#held;
    this.#held = [];
    for (const packet of held) this.emit('packet', packet);
  }

  /** Refuses the publish: what was held is discarded, the encoder is disconnected. */
  refuse(reason: string): void {
    this.#held = [];
    this.disconnect(reason);
  }

  disconnect(reason: string): void {
    if (this.#state === 'closed') return;
    this.logger.info({ reason }, 'closing rtmp connection');
    this.#held = [];
    this.socket.destroy();
  }

  #data(data: Buffer): void {
    this.#bytes += data.length;
    if (this.#state === 'handshake' && this.#bytes > MAX_BYTES_BEFORE_PUBLISH) return this.disconnect('too much data before a publish');
    let error: string | null;
    try {
      error = this.#rtmp.parserData(data);
    } catch (thrown) {
      error = (thrown as Error).message;
    }
    if (error) {
      this.logger.warn({ error }, 'rtmp protocol error');
      this.disconnect('protocol error');
    }
  }

  #publishRequested(): void {
    if (this.#state !== 'handshake') return this.disconnect('second publish on one connection');
    this.#state = 'deciding';
    this.onPublish({ app: this.#rtmp.streamApp, streamKey: this.#rtmp.streamName, connection: this });
  }

  #packet(packet: NmsAvPacket): void {
    const kind = KIND_BY_FLAG[packet.flags];
    if (!kind || this.#state === 'closed' || this.#state === 'handshake') return;
    if (kind === 'metadata') this.#readMetadata(packet);
    const ingestPacket: IngestPacket = {
      kind,
      tag: flvTag(packet.codec_type, packet.dts, packet.data.subarray(0, packet.size)),
      dts: packet.dts,
      codecId: packet.codec_id,
    };
    if (this.#state === 'deciding') {
      if (this.#held.length < MAX_HELD_PACKETS) this.#held.push(ingestPacket);
      return;
    }
    this.emit('packet', ingestPacket);
  }

  #readMetadata(packet: NmsAvPacket): void {
    try {
      const metadata = decodeAmf0Data(packet.data).dataObj;
      if (!metadata) return;
      const number = (key: string) => (typeof metadata[key] === 'number' ? metadata[key] : undefined);
      this.sourceHint.width = number('width');
      this.sourceHint.height = number('height');
      this.sourceHint.frameRate = number('framerate') ?? number('fps');
    } catch {
      // Metadata is advisory; the bitstream is authoritative.
    }
  }

  #closed(): void {
    if (this.#state === 'closed') return;
    const wasAccepted = this.#state === 'accepted';
    this.#state = 'closed';
    this.#held = [];
    if (wasAccepted) this.emit('closed');
  }
}

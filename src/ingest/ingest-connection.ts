// What every ingest (RTMP now, WHIP later) hands to a live session: a stream of packets and an end.
import type { Logger } from '../log.ts';
import type { IngestPacket } from '../media/ingest-packet.ts';
import type { SourceInfo } from '../media/source-info.ts';
import type { TypedEmitter } from '../contract/typed-emitter.ts';

export type IngestConnectionEvents = {
  packet: [IngestPacket];
  /** The encoder is gone (disconnected, timed out, or dropped by livecue). */
  closed: [];
};

export interface IngestConnection extends TypedEmitter<IngestConnectionEvents> {
  readonly protocol: 'rtmp' | 'whip';
  readonly remoteAddress: string;
  /** What the encoder announced about its video (metadata), used when the bitstream says less. */
  readonly sourceHint: Partial<SourceInfo>;
  readonly bytesReceived: number;
  disconnect(reason: string): void;
}

/**
 * What decides a publish, as ingest sees it: the live session registry (src/live) starts or resumes the show,
 * or refuses with a reason. Ingest only hands the connection over.
 */
export interface PublishGate {
  publish(
    streamKey: string,
    ingest: IngestConnection,
  ): Promise<{ accepted: true; resumed: boolean; session: { logger: Logger } } | { accepted: false; reason: string }>;
}

// The unit of media every ingest hands to a live session: one FLV tag, classified. The SFU bridge,
// the transcoder and the restreams all feed these tags to FFmpeg (src/media/flv-tag.ts builds and reads them).

export type IngestPacketKind = 'audio-header' | 'audio' | 'video-header' | 'video-key' | 'video' | 'metadata';

export interface IngestPacket {
  kind: IngestPacketKind;
  /** A complete FLV tag (11-byte header, body, 4-byte previous-tag-size). */
  tag: Buffer;
  /** Decode timestamp in milliseconds, on the encoder's clock. */
  dts: number;
  /** FLV codec id (7 = H.264, 10 = AAC, ...). */
  codecId: number;
}

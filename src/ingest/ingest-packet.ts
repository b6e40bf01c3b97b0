// The unit of media every ingest hands to a live session: one FLV tag, classified.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { parseH264Sps } = require('node-media-server/src/protocol/sps_info.js') as {
  parseH264Sps(sps: Buffer): { width: number; height: number } | null;
};

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

/** The 13-byte FLV file header that precedes the tags written to FFmpeg. */
export function flvFileHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  const header = Buffer.from([0x46, 0x4c, 0x56, 0x01, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00]);
  header[4] = (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0);
  return header;
}

export interface VideoHeaderInfo {
  width: number;
  height: number;
}

/** Reads width and height from an FLV AVC sequence header tag (AVCDecoderConfigurationRecord). */
export function parseAvcSequenceHeader(tag: Buffer): VideoHeaderInfo | undefined {
  // tag: 11-byte FLV tag header, then frame/codec byte, AVCPacketType, 3-byte CTS, then the record.
  const record = tag.subarray(11 + 5);
  if (record.length < 8 || record[0] !== 1) return undefined;
  const spsCount = record[5]! & 0x1f;
  if (spsCount < 1) return undefined;
  const spsLength = record.readUInt16BE(6);
  const sps = record.subarray(8, 8 + spsLength);
  if (sps.length !== spsLength) return undefined;
  return parseH264Sps(sps) ?? undefined;
}

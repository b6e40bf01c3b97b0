// The one place FLV tags are built and read: the RTMP ingest wraps each message in a tag, and the
// SFU bridge, the transcoder and the restreams write those tags to FFmpeg after a file header and
// the show's sequence headers, reading sizes, profiles and timestamps out of them on the way.
import { createRequire } from 'node:module';
import type { IngestPacket } from './ingest-packet.ts';

const require = createRequire(import.meta.url);
const { parseH264Sps } = require('node-media-server/src/protocol/sps_info.js') as {
  parseH264Sps(sps: Buffer): { width: number; height: number } | null;
};

/** The header every FLV tag starts with: type, body size, timestamp, stream id. */
export const FLV_TAG_HEADER_BYTES = 11;
/** FLV video codec id of H.264 (AVC). */
export const FLV_CODEC_H264 = 7;
/** The AVC body's own header: frame type and codec, AVCPacketType, 3-byte composition time offset. */
const AVC_BODY_HEADER_BYTES = 5;

/** One complete FLV tag (header, body, previous-tag-size) of `type` (8 audio, 9 video, 18 script data). */
export function flvTag(type: number, timestamp: number, body: Buffer): Buffer {
  const tag = Buffer.alloc(FLV_TAG_HEADER_BYTES + body.length + 4);
  tag[0] = type;
  tag.writeUIntBE(body.length, 1, 3);
  // The timestamp's low 24 bits, then its high 8 bits (TimestampExtended); stream id stays 0.
  tag[4] = (timestamp >> 16) & 0xff;
  tag[5] = (timestamp >> 8) & 0xff;
  tag[6] = timestamp & 0xff;
  tag[7] = (timestamp >> 24) & 0xff;
  body.copy(tag, FLV_TAG_HEADER_BYTES);
  tag.writeUInt32BE(FLV_TAG_HEADER_BYTES + body.length, FLV_TAG_HEADER_BYTES + body.length);
  return tag;
}

/** The 13-byte FLV file header that precedes the tags written to FFmpeg. */
export function flvFileHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  const header = Buffer.from([0x46, 0x4c, 0x56, 0x01, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00]);
  header[4] = (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0);
  return header;
}

/** The sequence headers of a show, which every new FFmpeg needs before its first keyframe. */
export interface SequenceHeaders {
  audio?: Buffer;
  video?: Buffer;
}

/** What an FFmpeg reading FLV on stdin is given first: the file header, the sequence headers, the keyframe it starts on. */
export function flvStreamStart(headers: SequenceHeaders, keyframe: Buffer, hasAudio: boolean): Buffer[] {
  const start = [flvFileHeader(hasAudio, true)];
  if (hasAudio && headers.audio) start.push(headers.audio);
  if (headers.video) start.push(headers.video);
  start.push(keyframe);
  return start;
}

/** The composition time offset (ms) of an FLV AVC video tag: non-zero means B-frames (pts != dts). */
export function compositionTimeOffset(tag: Buffer): number {
  if (tag.length < FLV_TAG_HEADER_BYTES + AVC_BODY_HEADER_BYTES) return 0;
  const cts = tag.readUIntBE(FLV_TAG_HEADER_BYTES + 2, 3);
  return cts & 0x800000 ? cts - 0x1000000 : cts;
}

/** A video packet's presentation time (ms): its decode time plus the FLV composition offset. */
export function presentationTime(packet: IngestPacket): number {
  if (packet.codecId !== FLV_CODEC_H264) return packet.dts;
  return packet.dts + compositionTimeOffset(packet.tag);
}

export interface AvcConfiguration {
  /** profile_idc, constraint flags and level_idc as the record's own header copies them (6 hex digits). */
  recordProfileLevelId: string;
  /** The first SPS NAL unit, when the record holds a complete one. */
  sps?: Buffer;
}

/** The AVCDecoderConfigurationRecord of an FLV AVC sequence header tag, or undefined if it is not one. */
export function avcConfiguration(tag: Buffer): AvcConfiguration | undefined {
  const record = tag.subarray(FLV_TAG_HEADER_BYTES + AVC_BODY_HEADER_BYTES);
  if (record.length < 4 || record[0] !== 1) return undefined;
  const hex = (value: number) => value.toString(16).padStart(2, '0');
  const recordProfileLevelId = `${hex(record[1]!)}${hex(record[2]!)}${hex(record[3]!)}`;
  if (record.length < 8 || (record[5]! & 0x1f) < 1) return { recordProfileLevelId };
  const spsLength = record.readUInt16BE(6);
  const sps = record.subarray(8, 8 + spsLength);
  return sps.length === spsLength ? { recordProfileLevelId, sps } : { recordProfileLevelId };
}

/** Reads width and height from an FLV AVC sequence header tag (from its SPS). */
export function parseAvcSequenceHeader(tag: Buffer): { width: number; height: number } | undefined {
  const sps = avcConfiguration(tag)?.sps;
  return sps ? (parseH264Sps(sps) ?? undefined) : undefined;
}

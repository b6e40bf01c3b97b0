// A show's stored segments as local files FFmpeg can decode, whatever their format: an MPEG-TS segment
// decodes alone; a CMAF (fMP4) segment is moof+mdat only and decodes behind its run's init segment.
// The workers (replay, thumbnails, MP4 download, clips) read segments through this and nothing else.
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { segments } from '../db/schema.ts';
import { ffmpegJobTimeoutMs, runFfmpegJob } from '../ffmpeg/ffmpeg-job.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { avc1CodecOfSegment } from '../transcode/playlist.ts';
import { parseInit } from '../media/fmp4.ts';

export type SegmentRow = typeof segments.$inferSelect;

/** A local file FFmpeg can open, and (for fMP4) how long its media runs, which FFmpeg's concat cannot tell alone. */
export interface DecodableFile {
  file: string;
  /** Seconds; set for fMP4 files, whose demuxed duration counts from the run's zero, not the file's first frame. */
  seconds?: number;
}

/** RFC 6381 codec string of the H.264 track of an fMP4 init segment (src/media/fmp4.ts reads it from avcC). */
function videoCodecOfInit(init: Buffer): string | undefined {
  try {
    return parseInit(init).videoCodec;
  } catch {
    return undefined;
  }
}

export class SegmentFiles {
  #inits = new Map<string, Buffer>();
  #files = new Map<string, string>();
  #count = 0;

  /** Files are written under `dir`, which the caller owns and removes. */
  constructor(private readonly deps: { store: ObjectStore; dir: string; ffmpegPath: string }) {}

  /** One segment as a file that decodes alone: the TS segment itself, or its run's init followed by the fMP4 segment. */
  async file(row: SegmentRow): Promise<string> {
    const known = this.#files.get(row.objectKey);
    if (known) return known;
    const file = await this.#write([row], row.initKey ? 'mp4' : 'ts');
    this.#files.set(row.objectKey, file);
    return file;
  }

  /**
   * Consecutive segments as MPEG-TS files, for cuts joined by stream copy: each TS segment as it is, each run of
   * fMP4 segments remuxed once (no re-encode), so a long clip costs one FFmpeg per run, not one per segment.
   */
  async mpegts(rows: SegmentRow[]): Promise<string[]> {
    const out: string[] = [];
    for (const { file, seconds } of await this.files(rows)) {
      if (seconds === undefined) {
        out.push(file);
        continue;
      }
      const ts = this.#next('ts');
      const args = ['-v', 'error', '-y', '-i', file, '-map', '0', '-c', 'copy', '-f', 'mpegts', ts];
      await runFfmpegJob({ ffmpegPath: this.deps.ffmpegPath, what: 'segment remux', args, timeoutMs: ffmpegJobTimeoutMs(seconds) });
      out.push(ts);
    }
    return out;
  }

  /**
   * Consecutive segments as few decodable files, in order: each TS segment alone, and each run of fMP4 segments
   * as one fragmented MP4 (the run's init, then its segments byte for byte), so a run plays without seams.
   */
  async files(rows: SegmentRow[]): Promise<DecodableFile[]> {
    const out: DecodableFile[] = [];
    for (let start = 0; start < rows.length;) {
      const first = rows[start]!;
      if (!first.initKey) {
        out.push({ file: await this.file(first) });
        start++;
        continue;
      }
      let end = start + 1;
      while (end < rows.length && rows[end]!.initKey === first.initKey && rows[end]!.discontinuity === 0) end++;
      const run = rows.slice(start, end);
      out.push({ file: await this.#write(run, 'mp4'), seconds: run.reduce((sum, row) => sum + row.durationMs, 0) / 1000 });
      start = end;
    }
    return out;
  }

  /** An FFmpeg concat list of the files; fMP4 files carry their duration so the next one starts where this one ends. */
  async concatList(files: DecodableFile[]): Promise<string> {
    const list = this.#next('txt');
    const lines = files.flatMap(({ file, seconds }) => [`file '${file}'`, ...(seconds === undefined ? [] : [`duration ${seconds.toFixed(3)}`])]);
    await writeFile(list, `${lines.join('\n')}\n`);
    return list;
  }

  /** RFC 6381 codec string of the segment's video: from the init's avcC for fMP4, from the first SPS for TS. */
  async videoCodec(row: SegmentRow): Promise<string | undefined> {
    if (row.initKey) return videoCodecOfInit(await this.#init(row.initKey));
    return avc1CodecOfSegment(await readFile(await this.file(row)));
  }

  async #write(rows: SegmentRow[], extension: string): Promise<string> {
    const file = this.#next(extension);
    const initKey = rows[0]!.initKey;
    await writeFile(file, initKey ? await this.#init(initKey) : Buffer.alloc(0));
    for (const row of rows) {
      const object = await this.deps.store.get(row.objectKey);
      if (!object) throw new Error(`segment ${row.objectKey} is missing from storage`);
      await pipeline(object.body, createWriteStream(file, { flags: 'a' }));
    }
    return file;
  }

  /** A run's init segment, fetched once (a few hundred bytes to a few kB). */
  async #init(key: string): Promise<Buffer> {
    const known = this.#inits.get(key);
    if (known) return known;
    const object = await this.deps.store.get(key);
    if (!object) throw new Error(`init segment ${key} is missing from storage`);
    const chunks: Buffer[] = [];
    for await (const chunk of object.body) chunks.push(chunk as Buffer);
    const init = Buffer.concat(chunks);
    this.#inits.set(key, init);
    return init;
  }

  #next(extension: string): string {
    return path.join(this.deps.dir, `segment-${String(this.#count++).padStart(6, '0')}.${extension}`);
  }
}

// Cuts a clip from the show's segments already in storage (the tallest rendition): segments inside the span
// are stream-copied, the first one is re-encoded from the cut only when the cut misses its keyframe (segments
// start on keyframes), the last one is copied up to the cut. A 9:16 clip is cropped and re-encoded whole.
// Out: an MP4 (faststart), an HLS playlist with the cues inside as DATERANGEs on the clip's own time, a poster
// and cues.json, under the clip's prefix. Sources may be MPEG-TS or fMP4 segments: the cut works on MPEG-TS
// (an fMP4 segment is remuxed first, through SegmentFiles), so the clip's own HLS stays MPEG-TS either way.
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { and, asc, eq, gt, lt, sql } from 'drizzle-orm';
import type { Config } from '../config/schema.ts';
import type { Db } from '../db/database.ts';
import { renditions, segments as segmentsTable, streams } from '../db/schema.ts';
import { ffmpegJobTimeoutMs, runFfmpegJob } from '../ffmpeg/ffmpeg-job.ts';
import type { Logger } from '../log.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { cueDateRange, PLAYLIST_CONTENT_TYPE, SEGMENT_CACHE_CONTROL } from '../transcode/hls-packager.ts';
import { parseMediaPlaylist, renderMediaPlaylist } from '../transcode/playlist.ts';
import { cuesInClip } from './clip-span.ts';
import { clipPrefix, type ClipAssets, type ClipRow, type ClipStore } from './clip-store.ts';
import { SegmentFiles, type DecodableFile, type SegmentRow } from './segment-files.ts';

/** A cut this close to a segment's start counts as on its keyframe (under one frame at 30 fps). */
const KEYFRAME_SLACK_MS = 30;
/** The clip's own HLS segments. */
const CLIP_SEGMENT_SECONDS = 2;
/** Portrait renditions are encoded with x264 at this preset (fast enough for clips in seconds). */
const PORTRAIT_PRESET = 'veryfast';

export class ClipCutter {
  constructor(private readonly deps: { db: Db; store: ObjectStore; clips: ClipStore; config: Config; logger: Logger }) {}

  /** Cuts the clip; its row ends ready (returned) or the error is thrown for the queue to retry. */
  async cut(clipId: string): Promise<ClipRow | undefined> {
    const { db, clips, logger } = this.deps;
    const clip = await clips.get(clipId);
    if (!clip || clip.status === 'deleted') return undefined;
    await clips.markProcessing(clip.id);
    const [stream] = await db.select().from(streams).where(eq(streams.id, clip.streamId));
    if (!stream) throw new Error(`stream ${clip.streamId} does not exist`);
    const top = await clips.topRendition(clip.sessionId);
    if (!top) throw new Error('the show has no renditions');
    const [rendition] = await db
      .select()
      .from(renditions)
      .where(and(eq(renditions.sessionId, clip.sessionId), eq(renditions.name, top)));
    const rows = await db
      .select()
      .from(segmentsTable)
      .where(
        and(
          eq(segmentsTable.sessionId, clip.sessionId),
          eq(segmentsTable.rendition, top),
          gt(sql`${segmentsTable.mediaStartMs} + ${segmentsTable.durationMs}`, clip.startMs),
          lt(segmentsTable.mediaStartMs, clip.endMs),
        ),
      )
      .orderBy(asc(segmentsTable.sequence));
    if (rows.length === 0) throw new Error('no stored segments cover the clip');

    const prefix = clipPrefix(stream.playbackId, clip);
    const work = await mkdtemp(path.join(tmpdir(), 'livecue-clip-'));
    const files = new SegmentFiles({ store: this.deps.store, dir: work, ffmpegPath: this.deps.config.FFMPEG_PATH });
    try {
      const body = path.join(work, 'clip.ts');
      const seconds = (clip.endMs - clip.startMs) / 1000;
      if (clip.aspect === '9:16') await this.#portrait(files, rows, clip, body);
      else await this.#copyCut(work, files, rows, clip, rendition?.videoBitrate, body);
      const mp4 = path.join(work, 'clip.mp4');
      await this.#ffmpeg('clip mp4', ['-v', 'error', '-y', '-i', body, '-c', 'copy', '-bsf:a', 'aac_adtstoasc', '-movflags', '+faststart', mp4], seconds);
      const poster = path.join(work, 'poster.jpg');
      const posterAt = Math.min(1, seconds / 2).toFixed(3);
      await this.#ffmpeg('clip poster', ['-v', 'error', '-y', '-i', body, '-ss', posterAt, '-frames:v', '1', '-q:v', '3', poster], seconds);

      const first = rows[0]!;
      const clipStart = new Date(first.programDateTime.getTime() + (clip.startMs - first.mediaStartMs));
      const span = { startMs: clip.startMs, endMs: clip.endMs };
      const cues = cuesInClip(span, await clips.sessionCues(clip.sessionId), clipStart);
      const hls = await this.#hls(work, body, prefix, clipStart, cues, seconds);

      const assets: ClipAssets = { mp4: `${prefix}/clip.mp4`, hls: `${prefix}/index.m3u8`, poster: `${prefix}/poster.jpg`, cues: `${prefix}/cues.json` };
      const immutable = { cacheControl: SEGMENT_CACHE_CONTROL };
      await this.deps.store.putFile(assets.mp4, mp4, { contentType: 'video/mp4', ...immutable });
      await this.deps.store.put(assets.poster, await readFile(poster), { contentType: 'image/jpeg', ...immutable });
      await this.deps.store.put(assets.cues, Buffer.from(JSON.stringify({ clipId: clip.id, cues }, null, 1)), {
        contentType: 'application/json',
        ...immutable,
      });
      await this.deps.store.put(assets.hls, Buffer.from(hls.playlist), { contentType: PLAYLIST_CONTENT_TYPE, ...immutable });
      const ready = await clips.markReady(clip.id, Math.round(hls.seconds * 1000), assets);
      logger.info({ clipId: clip.id, seconds: hls.seconds, aspect: clip.aspect, segments: rows.length }, 'clip ready');
      return ready;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Stream copy of the span; only a head that does not start on a keyframe is re-encoded. */
  async #copyCut(work: string, files: SegmentFiles, rows: SegmentRow[], clip: ClipRow, videoBitrate: number | undefined, out: string): Promise<void> {
    const parts: DecodableFile[] = [];
    // Whole segments inside the span are gathered and read together (an fMP4 run is remuxed once).
    let whole: SegmentRow[] = [];
    const flushWhole = async () => {
      for (const file of await files.mpegts(whole)) parts.push({ file });
      whole = [];
    };
    for (const [index, row] of rows.entries()) {
      const from = Math.max(0, clip.startMs - row.mediaStartMs);
      const to = Math.min(row.durationMs, clip.endMs - row.mediaStartMs);
      if (from <= KEYFRAME_SLACK_MS && to >= row.durationMs - KEYFRAME_SLACK_MS) {
        whole.push(row);
        continue;
      }
      await flushWhole();
      const source = (await files.mpegts([row]))[0]!;
      const part = path.join(work, `part-${String(index).padStart(5, '0')}.ts`);
      const length = ((to - from) / 1000).toFixed(3);
      if (from <= KEYFRAME_SLACK_MS) {
        // Starts on the segment's keyframe: copied up to the cut.
        await this.#ffmpeg('clip tail', ['-v', 'error', '-y', '-i', source, '-t', length, '-c', 'copy', '-f', 'mpegts', part], row.durationMs / 1000);
      } else {
        // The cut misses the keyframe: this edge alone is re-encoded, as the ladder encodes (same preset and bitrate).
        const rate = videoBitrate
          ? [
              '-b:v',
              `${Math.round(videoBitrate / 1000)}k`,
              '-maxrate',
              `${Math.round((videoBitrate * 1.5) / 1000)}k`,
              '-bufsize',
              `${Math.round((videoBitrate * 3) / 1000)}k`,
            ]
          : [];
        const args = ['-v', 'error', '-y', '-i', source, '-ss', (from / 1000).toFixed(3), '-t', length];
        args.push(
          '-c:v',
          'libx264',
          '-preset',
          this.deps.config.X264_PRESET,
          '-tune',
          'zerolatency',
          ...rate,
          '-pix_fmt',
          'yuv420p',
          '-c:a',
          'copy',
          '-f',
          'mpegts',
          part,
        );
        await this.#ffmpeg('clip head', args, row.durationMs / 1000);
      }
      parts.push({ file: part });
    }
    await flushWhole();
    await this.#concat(files, parts, ['-c', 'copy'], out, (clip.endMs - clip.startMs) / 1000);
  }

  /** A centred (or cropX-placed) 9:16 crop of the span, re-encoded (x264 veryfast). */
  async #portrait(files: SegmentFiles, rows: SegmentRow[], clip: ClipRow, out: string): Promise<void> {
    const sources = await files.files(rows);
    const offset = Math.max(0, clip.startMs - rows[0]!.mediaStartMs) / 1000;
    const seconds = (clip.endMs - clip.startMs) / 1000;
    const crop = `crop=trunc(ih*9/16/2)*2:ih:(iw-trunc(ih*9/16/2)*2)*${clip.cropX.toFixed(4)}:0,setsar=1`;
    const encode = ['-ss', offset.toFixed(3), '-t', seconds.toFixed(3), '-vf', crop, '-c:v', 'libx264', '-preset', PORTRAIT_PRESET, '-crf', '23'];
    encode.push('-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k', '-ar', '48000');
    await this.#concat(files, sources, encode, out, seconds * 4);
  }

  async #concat(files: SegmentFiles, inputs: DecodableFile[], codec: string[], out: string, mediaSeconds: number): Promise<void> {
    const list = await files.concatList(inputs);
    await this.#ffmpeg('clip cut', ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, ...codec, '-f', 'mpegts', out], mediaSeconds);
  }

  /** The clip's own HLS: its segments (copied from the body), dated from the clip's start, with its cues. */
  async #hls(work: string, body: string, prefix: string, clipStart: Date, cues: ReturnType<typeof cuesInClip>, seconds: number) {
    const dir = path.join(work, 'hls');
    const args = ['-v', 'error', '-y', '-i', body, '-c', 'copy', '-f', 'hls', '-hls_time', String(CLIP_SEGMENT_SECONDS), '-hls_list_size', '0'];
    args.push('-hls_segment_type', 'mpegts', '-hls_segment_filename', path.join(dir, 'seg_%04d.ts'), path.join(dir, 'ffmpeg.m3u8'));
    await mkdir(dir, { recursive: true });
    await this.#ffmpeg('clip hls', args, seconds);
    const parsed = parseMediaPlaylist(await readFile(path.join(dir, 'ffmpeg.m3u8'), 'utf8'));
    let at = clipStart.getTime();
    const segments = parsed.segments.map((segment, index) => {
      const dated = { sequence: index, uri: segment.uri, duration: segment.duration, programDateTime: new Date(at), discontinuity: false };
      at += Math.round(segment.duration * 1000);
      return dated;
    });
    for (const name of (await readdir(dir)).filter((file) => file.endsWith('.ts'))) {
      await this.deps.store.putFile(`${prefix}/${name}`, path.join(dir, name), { contentType: 'video/mp2t', cacheControl: SEGMENT_CACHE_CONTROL });
    }
    const playlist = renderMediaPlaylist({
      targetDuration: Math.max(1, ...segments.map((segment) => Math.ceil(segment.duration))),
      segments,
      discontinuitySequence: 0,
      ended: true,
      playlistType: 'VOD',
      dateRanges: cues.map(cueDateRange),
    });
    return { playlist, seconds: segments.reduce((sum, segment) => sum + segment.duration, 0) };
  }

  #ffmpeg(what: string, args: string[], mediaSeconds: number): Promise<void> {
    return runFfmpegJob({ ffmpegPath: this.deps.config.FFMPEG_PATH, what, args, timeoutMs: ffmpegJobTimeoutMs(mediaSeconds) });
  }
}

// Turns a finished live session into a replay, from the segments already in storage (nothing is
// re-encoded): VOD playlists with discontinuities and the show's cues, a master playlist, a poster,
// a thumbnail sprite with its WebVTT track, the cue track as JSON and an optional MP4 remux. Segments may be
// MPEG-TS or CMAF (fMP4, with an init segment per transcoder run), row by row; SegmentFiles reads both.
// Running it twice gives the same result: every output is written under the recording's own keys.
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Config } from '../config/schema.ts';
import { cueMessage } from '../cues/cue-store.ts';
import type { Db } from '../db/database.ts';
import { ffmpegJobTimeoutMs, runFfmpegJob } from '../ffmpeg/ffmpeg-job.ts';
import { cues as cuesTable, liveSessions, recordings, renditions as renditionsTable, segments as segmentsTable, streams } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { randomBase62 } from '../streams/stream-keys.ts';
import { cueDateRange, PLAYLIST_CONTENT_TYPE, SEGMENT_CACHE_CONTROL } from '../transcode/hls-packager.ts';
import { renderMasterPlaylist, renderMediaPlaylist, type MediaSegment } from '../transcode/playlist.ts';
import { SegmentFiles, type SegmentRow } from './segment-files.ts';

const IMMUTABLE = SEGMENT_CACHE_CONTROL;
const THUMB_WIDTH = 160;
const SPRITE_COLUMNS = 10;

export type RecordingRow = typeof recordings.$inferSelect;

export interface RecordingAssets {
  master: string;
  renditions: Record<string, string>;
  poster?: string;
  sprite?: string;
  thumbnailsVtt?: string;
  cues: string;
  mp4?: string;
}

const vttTime = (seconds: number) => {
  const ms = Math.round(seconds * 1000);
  const hh = String(Math.floor(ms / 3_600_000)).padStart(2, '0');
  const mm = String(Math.floor((ms % 3_600_000) / 60_000)).padStart(2, '0');
  const ss = String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0');
  return `${hh}:${mm}:${ss}.${String(ms % 1000).padStart(3, '0')}`;
};

export class RecordingBuilder {
  constructor(private readonly deps: { db: Db; store: ObjectStore; config: Config; logger: Logger }) {}

  /** The recording row of a session, created `queued` if it does not exist yet. */
  async ensureRow(sessionId: string, streamId: string): Promise<RecordingRow> {
    await this.deps.db
      .insert(recordings)
      .values({ id: `rec_${randomBase62(16)}`, streamId, sessionId })
      .onConflictDoNothing({ target: recordings.sessionId });
    const [row] = await this.deps.db.select().from(recordings).where(eq(recordings.sessionId, sessionId));
    return row!;
  }

  async markFailed(sessionId: string, reason: string): Promise<RecordingRow | undefined> {
    const [row] = await this.deps.db
      .update(recordings)
      .set({ status: 'failed', failureReason: reason.slice(0, 500) })
      .where(eq(recordings.sessionId, sessionId))
      .returning();
    return row;
  }

  async build(sessionId: string): Promise<RecordingRow> {
    const { db, store, config, logger } = this.deps;
    const [session] = await db.select().from(liveSessions).where(eq(liveSessions.id, sessionId));
    if (!session) throw new Error(`session ${sessionId} does not exist (stream deleted?)`);
    if (!session.endedAt) throw new Error(`session ${sessionId} is still live`);
    const [stream] = await db.select().from(streams).where(eq(streams.id, session.streamId));
    if (!stream) throw new Error(`stream ${session.streamId} does not exist`);
    const recording = await this.ensureRow(sessionId, stream.id);
    if (recording.status === 'deleted') return recording;
    await db
      .update(recordings)
      .set({ status: 'processing', attempts: sql`${recordings.attempts} + 1`, failureReason: null })
      .where(eq(recordings.id, recording.id));

    const segmentRows = await db.select().from(segmentsTable).where(eq(segmentsTable.sessionId, sessionId)).orderBy(asc(segmentsTable.sequence));
    const renditionRows = await db.select().from(renditionsTable).where(eq(renditionsTable.sessionId, sessionId));
    const cueRows = await db
      .select()
      .from(cuesTable)
      .where(and(eq(cuesTable.sessionId, sessionId)))
      .orderBy(asc(cuesTable.seq));
    if (segmentRows.length === 0 || renditionRows.length === 0) throw new Error('the session has no stored segments');
    const cues = cueRows.map(cueMessage);

    // Renditions top first; each with its segments in order.
    const ladder = [...renditionRows].sort((a, b) => b.height - a.height);
    const byRendition = new Map(ladder.map((rendition) => [rendition.name, segmentRows.filter((row) => row.rendition === rendition.name)]));
    const prefix = `hls/${stream.playbackId}/recordings/${recording.id}`;
    const assets: RecordingAssets = { master: `${prefix}/master.m3u8`, renditions: {}, cues: `${prefix}/cues.json` };
    const work = await mkdtemp(path.join(tmpdir(), 'livecue-recording-'));
    const files = new SegmentFiles({ store, dir: work, ffmpegPath: config.FFMPEG_PATH });
    try {
      const variants = [];
      for (const rendition of ladder) {
        const rows = byRendition.get(rendition.name) ?? [];
        if (rows.length === 0) continue;
        // The replay points at the show's own segments (and fMP4 init segments): nothing is copied.
        const showRelative = (key: string) => `../../../${key.slice(`hls/${stream.playbackId}/`.length)}`;
        const media: MediaSegment[] = rows.map((row) => ({
          sequence: row.sequence,
          uri: showRelative(row.objectKey),
          duration: row.durationMs / 1000,
          programDateTime: row.programDateTime,
          discontinuity: row.discontinuity === 1,
          ...(row.initKey ? { map: showRelative(row.initKey) } : {}),
        }));
        const playlist = renderMediaPlaylist({
          targetDuration: Math.max(1, ...media.map((segment) => Math.ceil(segment.duration))),
          segments: media,
          discontinuitySequence: 0,
          ended: true,
          playlistType: 'VOD',
          dateRanges: cues.map(cueDateRange),
        });
        const key = `${prefix}/${rendition.name}/index.m3u8`;
        await store.put(key, Buffer.from(playlist), { contentType: PLAYLIST_CONTENT_TYPE, cacheControl: IMMUTABLE });
        assets.renditions[rendition.name] = key;
        const codecs = (await files.videoCodec(rows[0]!)) ?? 'avc1.64001F';
        const bytes = rows.reduce((sum, row) => sum + row.bytes, 0);
        const seconds = rows.reduce((sum, row) => sum + row.durationMs, 0) / 1000;
        const measured = Math.round((bytes * 8) / Math.max(seconds, 1));
        variants.push({
          uri: `${rendition.name}/index.m3u8`,
          bandwidth: Math.max(measured, rendition.videoBitrate + rendition.audioBitrate),
          averageBandwidth: measured,
          width: rendition.width,
          height: rendition.height,
          frameRate: rendition.frameRate,
          codecs: rendition.audioBitrate > 0 ? `${codecs},mp4a.40.2` : codecs,
        });
      }
      await store.put(assets.master, Buffer.from(renderMasterPlaylist(variants)), { contentType: PLAYLIST_CONTENT_TYPE, cacheControl: IMMUTABLE });

      const top = byRendition.get(ladder[0]!.name)!;
      const smallest = ladder.at(-1)!;
      const durationMs = top.reduce((sum, row) => sum + row.durationMs, 0);
      await this.#pictures(work, files, prefix, byRendition.get(smallest.name)!, top, smallest, durationMs / 1000, assets);
      await store.put(assets.cues, Buffer.from(JSON.stringify({ recordingId: recording.id, cues }, null, 1)), {
        contentType: 'application/json',
        cacheControl: IMMUTABLE,
      });
      if (config.RECORDING_MP4) assets.mp4 = await this.#mp4(work, files, prefix, top);

      const [ready] = await db
        .update(recordings)
        .set({
          status: 'ready',
          durationMs,
          bytes: segmentRows.reduce((sum, row) => sum + row.bytes, 0),
          renditions: ladder.map(({ name, width, height, videoBitrate, frameRate }) => ({ name, width, height, videoBitrate, frameRate })),
          assets,
          readyAt: new Date(),
        })
        .where(eq(recordings.id, recording.id))
        .returning();
      logger.info({ recordingId: recording.id, sessionId, seconds: durationMs / 1000, renditions: ladder.length }, 'recording ready');
      return ready!;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Poster from the top rendition; one thumbnail every THUMBNAIL_INTERVAL_SECONDS from the smallest, tiled. */
  async #pictures(
    work: string,
    files: SegmentFiles,
    prefix: string,
    small: SegmentRow[],
    top: SegmentRow[],
    smallest: { width: number; height: number },
    durationSeconds: number,
    assets: RecordingAssets,
  ): Promise<void> {
    const { config, store } = this.deps;
    const at = (rows: typeof small, seconds: number) => {
      const row = rows.find((candidate) => seconds < (candidate.mediaStartMs + candidate.durationMs) / 1000) ?? rows.at(-1)!;
      return { row, offset: Math.max(0, Math.min(seconds - row.mediaStartMs / 1000, row.durationMs / 1000 - 0.05)) };
    };

    const poster = at(top, Math.min(durationSeconds * 0.1, 5));
    const posterSegment = await files.file(poster.row);
    const posterFile = path.join(work, 'poster.jpg');
    // Output seeking (after -i): input seeking into a segment that starts mid-timeline can yield nothing.
    const posterArgs = ['-v', 'error', '-y', '-i', posterSegment, '-ss', poster.offset.toFixed(3), '-frames:v', '1', '-q:v', '3', posterFile];
    await this.#ffmpeg('poster', posterArgs, poster.row.durationMs / 1000);
    assets.poster = `${prefix}/poster.jpg`;
    await store.put(assets.poster, await readFile(posterFile), { contentType: 'image/jpeg', cacheControl: IMMUTABLE });

    const interval = config.THUMBNAIL_INTERVAL_SECONDS;
    const thumbHeight = Math.max(2, Math.round((THUMB_WIDTH * smallest.height) / smallest.width / 2) * 2);
    const times: number[] = [];
    for (let t = 0; t < durationSeconds; t += interval) times.push(t);
    const thumbsDir = path.join(work, 'thumbs');
    await mkdir(thumbsDir, { recursive: true });
    for (const [index, t] of times.entries()) {
      const { row, offset } = at(small, t);
      const file = await files.file(row);
      const thumbFile = path.join(thumbsDir, `t${String(index).padStart(5, '0')}.jpg`);
      await this.#ffmpeg(
        'thumbnail',
        ['-v', 'error', '-y', '-i', file, '-ss', offset.toFixed(3), '-frames:v', '1', '-vf', `scale=${THUMB_WIDTH}:${thumbHeight}`, thumbFile],
        row.durationMs / 1000,
      );
    }
    const thumbs = (await readdir(thumbsDir)).filter((name) => name.endsWith('.jpg')).sort();
    const columns = Math.min(SPRITE_COLUMNS, thumbs.length);
    const rows = Math.ceil(thumbs.length / columns);
    const spriteFile = path.join(work, 'sprite.jpg');
    const spriteArgs = [
      '-v',
      'error',
      '-y',
      '-framerate',
      '1',
      '-i',
      path.join(thumbsDir, 't%05d.jpg'),
      '-vf',
      `tile=${columns}x${rows}`,
      '-frames:v',
      '1',
      '-q:v',
      '4',
      spriteFile,
    ];
    await this.#ffmpeg('thumbnail sprite', spriteArgs, thumbs.length);
    assets.sprite = `${prefix}/thumbnails.jpg`;
    await store.put(assets.sprite, await readFile(spriteFile), { contentType: 'image/jpeg', cacheControl: IMMUTABLE });

    const vtt = ['WEBVTT', ''];
    times.forEach((t, index) => {
      const x = (index % columns) * THUMB_WIDTH;
      const y = Math.floor(index / columns) * thumbHeight;
      vtt.push(`${vttTime(t)} --> ${vttTime(Math.min(t + interval, durationSeconds))}`, `thumbnails.jpg#xywh=${x},${y},${THUMB_WIDTH},${thumbHeight}`, '');
    });
    assets.thumbnailsVtt = `${prefix}/thumbnails.vtt`;
    await store.put(assets.thumbnailsVtt, Buffer.from(vtt.join('\n')), { contentType: 'text/vtt', cacheControl: IMMUTABLE });
  }

  /** One FFmpeg job, killed with its process group if it outlasts its media's time: the build then fails and is retried. */
  #ffmpeg(what: string, args: string[], mediaSeconds: number, maxBuffer?: number): Promise<void> {
    return runFfmpegJob({ ffmpegPath: this.deps.config.FFMPEG_PATH, what, args, timeoutMs: ffmpegJobTimeoutMs(mediaSeconds), maxBuffer });
  }

  /** One MP4 of the top rendition, remuxed (stream copy) across its discontinuities. */
  async #mp4(work: string, files: SegmentFiles, prefix: string, top: SegmentRow[]): Promise<string> {
    const list = await files.concatList(await files.files(top));
    const output = path.join(work, 'show.mp4');
    const remuxArgs = [
      '-v',
      'error',
      '-y',
      '-f',
      'concat',
      '-safe',
      '0',
      '-i',
      list,
      '-c',
      'copy',
      '-bsf:a',
      'aac_adtstoasc',
      '-movflags',
      '+faststart',
      output,
    ];
    await this.#ffmpeg('mp4', remuxArgs, top.reduce((sum, row) => sum + row.durationMs, 0) / 1000, 16 * 1024 * 1024);
    const key = `${prefix}/show.mp4`;
    await this.deps.store.putFile(key, output, { contentType: 'video/mp4', cacheControl: IMMUTABLE });
    return key;
  }
}

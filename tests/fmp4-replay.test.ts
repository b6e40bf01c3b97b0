// Everything downstream of the live segments with CMAF (fMP4) segments: a show stored as fMP4 (an init per
// transcoder run, moof+mdat segments, two runs with a discontinuity) becomes a replay whose playlists
// name the inits with EXT-X-MAP (read by hls.js's parser), an MP4 download, a poster and thumbnails, and clips (instant, copied with a
// re-encoded head across the runs' seam, 9:16), all decoding at the right size and length.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveSessions, renditions, segments } from '../src/db/schema.ts';
import { randomBase62 } from '../src/streams/stream-keys.ts';
import { parseMediaPlaylist } from '../src/transcode/playlist.ts';
import { RecordingBuilder } from '../src/workers/recording-builder.ts';
import { queueRecording } from '../src/workers/queues.ts';
import { QUIET_FFMPEG, toneInput, x264Args } from './helpers/encoder-args.ts';
import { clipReady, createStream, startTestNode, waitFor, type TestNode, type TestStream } from './helpers/harness.ts';
import { decodeVideo, decodeVideoFrames, probe } from './helpers/media.ts';
import { hlsJsMediaParser, type HlsJsLevelDetails } from './helpers/hls-parser.ts';

const run = promisify(execFile);
/** Two transcoder runs (a reconnect between them): 8 s, then 6 s, in 2 s segments. */
const RUN_SECONDS = [8, 6];
const SHOW_SECONDS = 14;
const LADDER = [
  { name: '720p', width: 1280, height: 720, videoBitrate: 2_500_000 },
  { name: '360p', width: 640, height: 360, videoBitrate: 800_000 },
];

let parseWithHlsJs: (playlist: string, url: string) => HlsJsLevelDetails;
let node: TestNode;
let work: string;
let stream: TestStream;
const sessionId = `ses_${randomBase62(16)}`;
const sessionTag = sessionId.slice(-8);

/** Only the moof and mdat boxes of FFmpeg's fMP4 segment (it adds styp and sidx): what livecue's packager stores. */
function moofMdatOnly(segment: Buffer): Buffer {
  const kept: Buffer[] = [];
  for (let at = 0; at + 8 <= segment.length;) {
    const size = segment.readUInt32BE(at);
    const type = segment.toString('latin1', at + 4, at + 8);
    if (size < 8) throw new Error(`unexpected box size ${size}`);
    if (type === 'moof' || type === 'mdat') kept.push(segment.subarray(at, at + size));
    at += size;
  }
  return Buffer.concat(kept);
}

/** One run of one rendition, encoded as OBS sends it (x264 veryfast, High, B-frames, 2 s GOP, AAC 48 kHz), cut into fMP4 HLS by FFmpeg. */
async function encodeRun(rendition: (typeof LADDER)[number], runIndex: number): Promise<{ init: Buffer; segments: { body: Buffer; duration: number }[] }> {
  const dir = path.join(work, `${rendition.name}-${runIndex}`);
  await mkdir(dir, { recursive: true });
  const seconds = RUN_SECONDS[runIndex]!;
  const video = ['-f', 'lavfi', '-i', `testsrc2=size=${rendition.width}x${rendition.height}:rate=30`];
  const args = [...QUIET_FFMPEG, ...video, ...toneInput(), '-t', String(seconds), ...x264Args({ preset: 'veryfast', profile: 'high', tune: null }, 60)];
  args.push('-c:a', 'aac', '-b:a', '128k', '-ar', '48000', '-f', 'hls', '-hls_time', '2', '-hls_list_size', '0', '-hls_segment_type', 'fmp4');
  args.push('-hls_fmp4_init_filename', 'init.mp4', '-hls_segment_filename', path.join(dir, 'seg-%d.m4s'), path.join(dir, 'index.m3u8'));
  await run('ffmpeg', args, { timeout: 120_000 });
  const playlist = parseMediaPlaylist(await readFile(path.join(dir, 'index.m3u8'), 'utf8'));
  return {
    init: await readFile(path.join(dir, 'init.mp4')),
    segments: await Promise.all(playlist.segments.map(async (s) => ({ body: moofMdatOnly(await readFile(path.join(dir, s.uri))), duration: s.duration }))),
  };
}

/** A show as the live path stores fMP4: objects under the contract's keys, a session with its renditions and segment rows. */
async function storeShow(): Promise<void> {
  const { db } = node.lc.database;
  const startedAt = new Date(Date.now() - 60_000);
  await db.insert(liveSessions).values({ id: sessionId, streamId: stream.id, nodeId: node.lc.config.NODE_ID ?? 'test', ingestProtocol: 'rtmp', startedAt });
  for (const rendition of LADDER) {
    await db.insert(renditions).values({ id: `rnd_${randomBase62(16)}`, sessionId, ...rendition, audioBitrate: 128_000, frameRate: 30 });
    const prefix = `hls/${stream.playbackId}/${rendition.name}`;
    let sequence = 0;
    let mediaStartMs = 0;
    for (const runIndex of RUN_SECONDS.keys()) {
      const encoded = await encodeRun(rendition, runIndex);
      const initKey = `${prefix}/${sessionTag}-init-${runIndex}.mp4`;
      await node.lc.store.put(initKey, encoded.init, { contentType: 'video/mp4', cacheControl: 'public, max-age=31536000, immutable' });
      for (const [index, segment] of encoded.segments.entries()) {
        const objectKey = `${prefix}/${sessionTag}-${sequence}.m4s`;
        await node.lc.store.put(objectKey, segment.body, { contentType: 'video/mp4', cacheControl: 'public, max-age=31536000, immutable' });
        const durationMs = Math.round(segment.duration * 1000);
        await db.insert(segments).values({
          sessionId,
          rendition: rendition.name,
          sequence,
          run: runIndex,
          discontinuity: runIndex > 0 && index === 0 ? 1 : 0,
          mediaStartMs,
          durationMs,
          // A reconnect gap of 3 s in wall-clock time between the runs.
          programDateTime: new Date(startedAt.getTime() + mediaStartMs + runIndex * 3000),
          objectKey,
          bytes: segment.body.length,
          initKey,
        });
        sequence++;
        mediaStartMs += durationMs;
      }
    }
  }
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'livecue-fmp4-'));
  parseWithHlsJs = await hlsJsMediaParser();
  node = await startTestNode({ THUMBNAIL_INTERVAL_SECONDS: 2, CLIP_MAX_SECONDS: 60, LADDER: '720,360' });
  stream = await createStream(node, 'fMP4 show');
  await storeShow();
}, 240_000);

afterAll(async () => {
  await node?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** What the test reads of hls.js's fragments: the URL, the discontinuity counter and the init (EXT-X-MAP). */
interface HlsJsFragment {
  url: string;
  cc: number;
  initSegment: { url: string } | null;
}

const fetchBytes = async (url: string) => {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
};

describe('a show stored as fMP4 segments', () => {
  let recording: { id: string; durationSeconds: number; playback: { hlsUrl: string; mp4Url: string; posterUrl: string; thumbnailsVttUrl: string } };

  it('cuts an instant clip of its last seconds while it is live', async () => {
    const instant = await node.api('POST', `/v1/streams/${stream.id}/clips`, { lastSeconds: 4 });
    expect(instant.status).toBe(202);
    const clip = await clipReady(node, instant.body.id, 90_000);
    expect(Math.abs(clip.durationSeconds - 4)).toBeLessThan(1);
    const mp4 = await probe(clip.playback.mp4Url);
    expect(Math.abs(mp4.duration - 4)).toBeLessThan(1);
    expect(mp4.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    const video = await decodeVideo(clip.playback.mp4Url);
    expect(video).toMatchObject({ width: 1280, height: 720 });
    expect(Math.abs(video.frames - 120)).toBeLessThan(30);
  });

  it('becomes a replay whose playlists name each run’s init segment (EXT-X-MAP) over the show’s own segments', async () => {
    await node.lc.database.db.update(liveSessions).set({ endedAt: new Date(), endReason: 'ended' }).where(eq(liveSessions.id, sessionId));
    const rows = new RecordingBuilder({ db: node.lc.database.db, store: node.lc.store, config: node.lc.config, logger: node.lc.logger });
    await queueRecording(node.lc.queues, rows, { sessionId, streamId: stream.id });
    recording = await waitFor(
      'recording ready',
      async () => {
        const { body } = await node.api('GET', `/v1/streams/${stream.id}/recordings`);
        const found = body.recordings[0];
        if (found?.status === 'failed') throw new Error(`recording failed: ${found.failureReason}`);
        return found?.status === 'ready' ? found : undefined;
      },
      120_000,
    );
    expect(Math.abs(recording.durationSeconds - SHOW_SECONDS)).toBeLessThan(0.5);

    const master = await (await fetch(recording.playback.hlsUrl)).text();
    expect(master.match(/#EXT-X-STREAM-INF/g)).toHaveLength(2);
    // The codec string comes from the init's avcC: x264 High at level 3.1 (720p30) and 3.0 (360p).
    expect(master).toMatch(/RESOLUTION=1280x720,CODECS="avc1\.64001F,mp4a\.40\.2"/);

    const vodUrl = recording.playback.hlsUrl.replace('master.m3u8', '720p/index.m3u8');
    const vod = await (await fetch(vodUrl)).text();
    expect(vod).toMatch(/#EXT-X-VERSION:([6-9])\n/);
    expect(vod).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    const maps = [...vod.matchAll(/#EXT-X-MAP:URI="([^"]+)"/g)].map((m) => m[1]!);
    expect(maps).toEqual([`../../../720p/${sessionTag}-init-0.mp4`, `../../../720p/${sessionTag}-init-1.mp4`]);
    expect(vod).toMatch(/#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="[^"]+init-1\.mp4"\n/);
    expect(vod.match(/\.m4s$/gm)).toHaveLength(7);
    // The replay reads the live objects where they are, as video/mp4: the init and a segment through the origin.
    for (const uri of [maps[1]!, `../../../720p/${sessionTag}-5.m4s`]) {
      const response = await fetch(new URL(uri, vodUrl));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('video/mp4');
      await response.arrayBuffer();
    }
    // hls.js reads two discontinuities' worth of fragments, each run with its own init; what it would fetch
    // (each run's init, then its fragments) decodes: 8 s and 6 s at 30 fps.
    const fragments: HlsJsFragment[] = parseWithHlsJs(vod, vodUrl).fragments;
    expect(fragments.map((f) => [f.cc, f.initSegment?.url.replace(/^.*\//, '')])).toEqual([
      ...Array.from({ length: 4 }, () => [0, `${sessionTag}-init-0.mp4`]),
      ...Array.from({ length: 3 }, () => [1, `${sessionTag}-init-1.mp4`]),
    ]);
    for (const [cc, seconds] of RUN_SECONDS.entries()) {
      const ofRun = fragments.filter((f) => f.cc === cc);
      const file = path.join(work, `replay-run-${cc}.mp4`);
      await writeFile(file, Buffer.concat(await Promise.all([ofRun[0]!.initSegment!.url, ...ofRun.map((f) => f.url)].map(fetchBytes))));
      expect(Math.abs((await decodeVideoFrames(file)) - seconds * 30)).toBeLessThan(10);
    }
  });

  it('has an MP4 download, a poster and thumbnails', async () => {
    const mp4 = await probe(recording.playback.mp4Url);
    expect(Math.abs(mp4.duration - SHOW_SECONDS)).toBeLessThan(0.6);
    const video = await decodeVideo(recording.playback.mp4Url);
    expect(video).toMatchObject({ width: 1280, height: 720, profile: 'High' });
    expect(Math.abs(video.frames - SHOW_SECONDS * 30)).toBeLessThan(20);

    const poster = await probe(recording.playback.posterUrl);
    expect(poster.streams[0]).toMatchObject({ codec_name: 'mjpeg', width: 1280, height: 720 });
    // One thumbnail every 2 s of the 360p rendition, tiled 7 across.
    const sprite = await probe(recording.playback.hlsUrl.replace('master.m3u8', 'thumbnails.jpg'));
    expect(sprite.streams[0]).toMatchObject({ codec_name: 'mjpeg', width: 7 * 160, height: 90 });
    const vtt = await (await fetch(recording.playback.thumbnailsVttUrl)).text();
    expect(vtt.match(/-->/g)).toHaveLength(7);
    expect(vtt).toContain('00:00:12.000 --> 00:00:14.000\nthumbnails.jpg#xywh=960,0,160,90');
  });

  it('cuts clips from the replay: across the runs’ seam with a head off the keyframe, on keyframes, and 9:16', async () => {
    // 3 s is mid-GOP (keyframes every 2 s), so the head is re-encoded; 9 s lies in the second run.
    const source = await node.api('POST', `/v1/recordings/${recording.id}/clips`, { start: 3, end: 9 });
    expect(source.status).toBe(202);
    const portrait = await node.api('POST', `/v1/recordings/${recording.id}/clips`, { start: 5, end: 11, aspect: '9:16' });
    expect(portrait.status).toBe(202);
    // On keyframes at both ends, whole segments of both runs: copied with no re-encode.
    const seam = await node.api('POST', `/v1/recordings/${recording.id}/clips`, { start: 4, end: 12 });
    expect(seam.status).toBe(202);

    const clip = await clipReady(node, source.body.id, 90_000);
    expect(Math.abs(clip.durationSeconds - 6)).toBeLessThan(1);
    const clipMp4 = await probe(clip.playback.mp4Url);
    expect(Math.abs(clipMp4.duration - 6)).toBeLessThan(1);
    const clipVideo = await decodeVideo(clip.playback.mp4Url);
    expect(clipVideo).toMatchObject({ width: 1280, height: 720 });
    expect(Math.abs(clipVideo.frames - 180)).toBeLessThan(30);
    const clipHls = await (await fetch(clip.playback.hlsUrl)).text();
    expect(clipHls.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(Math.abs((await decodeVideoFrames(clip.playback.hlsUrl)) - 180)).toBeLessThan(30);

    const seamClip = await clipReady(node, seam.body.id, 90_000);
    expect(Math.abs((await probe(seamClip.playback.mp4Url)).duration - 8)).toBeLessThan(1);
    const seamVideo = await decodeVideo(seamClip.playback.mp4Url);
    expect(seamVideo).toMatchObject({ width: 1280, height: 720, profile: 'High' });
    expect(Math.abs(seamVideo.frames - 240)).toBeLessThan(10);

    const tall = await clipReady(node, portrait.body.id, 90_000);
    const tallVideo = await decodeVideo(tall.playback.mp4Url);
    expect(tallVideo).toMatchObject({ width: 404, height: 720 });
    expect(Math.abs((await probe(tall.playback.mp4Url)).duration - 6)).toBeLessThan(1);
  });

  it('deletes the runs’ init segments with the recording', async () => {
    const initKey = `hls/${stream.playbackId}/720p/${sessionTag}-init-0.mp4`;
    expect(await node.lc.store.head(initKey)).toBeDefined();
    expect((await node.api('DELETE', `/v1/recordings/${recording.id}`)).status).toBe(204);
    // The show's segments and inits are gone from both renditions.
    for (const rendition of LADDER) expect(await node.lc.store.list(`hls/${stream.playbackId}/${rendition.name}/`)).toEqual([]);
  });
});

// A finished live show in storage without waiting for it live: the ladder of a test source is encoded
// offline with livecue's own FFmpeg arguments, then written into a livecue node the way its
// HlsPackager and LiveSession would have left it (rows in live_sessions, renditions, segments, cues;
// segments in the object store under hls/<playbackId>/<rendition>/<tag>-<sequence>.m4s, each run's init next to them).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Livecue } from '../../src/app.ts';
import { cues, liveSessions, renditions as renditionsTable, segments as segmentsTable, streams } from '../../src/db/schema.ts';
import { randomBase62 } from '../../src/streams/stream-keys.ts';
import { FIRST_OUTPUT_FD, ladderArgs } from '../../src/transcode/ffmpeg-args.ts';
import { Fmp4Reader } from '../../src/media/fmp4.ts';
import { SEGMENT_CACHE_CONTROL, SEGMENT_CONTENT_TYPE } from '../../src/transcode/hls-packager.ts';
import { parseLadderHeights, renditionLadder, type Rendition } from '../../src/transcode/ladder.ts';
import { clockTicks } from './cpu.ts';

export interface LadderSpec {
  /** Media seconds of the whole show, split evenly over the runs. */
  seconds: number;
  /** Transcoder runs: 2 = one reconnect in the middle (a discontinuity). */
  runs: number;
  width: number;
  height: number;
  fps: number;
  segmentSeconds: number;
  preset: string;
  ladder: string;
}

export interface GeneratedRun {
  run: number;
  /** Per rendition, the segment files FFmpeg wrote, in order, with their #EXTINF durations. */
  segments: Record<string, { file: string; duration: number }[]>;
  /** Per rendition, the run's init segment file. */
  inits: Record<string, string>;
}

export interface GeneratedLadder {
  spec: LadderSpec;
  renditions: Rendition[];
  runs: GeneratedRun[];
  /** Wall time and CPU (user + system, of the FFmpeg children) the encoding took; 0 when reused. */
  encodeSeconds: number;
  encodeCpuSeconds: number;
  reused: boolean;
}

const MANIFEST = 'ladder.json';

/** Cuts a fragmented MP4 file into an init segment and segments as the packager does (at keyframes, every `segmentSeconds`). */
async function cutSegments(file: string, dir: string, segmentSeconds: number): Promise<{ init: string; segments: { file: string; duration: number }[] }> {
  const init = path.join(dir, 'init.mp4');
  const segments: { file: string; duration: number; parts: Buffer[] }[] = [];
  const reader = new Fmp4Reader({
    init: (bytes) => void writeFile(init, bytes.bytes),
    fragment: (fragment) => {
      const open = segments.at(-1);
      if (!open || (fragment.independent && open.duration >= segmentSeconds - 0.2)) {
        segments.push({ file: path.join(dir, `seg_${segments.length}.m4s`), duration: 0, parts: [] });
      }
      segments.at(-1)!.parts.push(fragment.bytes);
      segments.at(-1)!.duration += fragment.duration;
    },
  });
  reader.push(await readFile(file));
  for (const segment of segments) await writeFile(segment.file, Buffer.concat(segment.parts));
  return { init, segments: segments.map(({ file: segmentFile, duration }) => ({ file: segmentFile, duration })) };
}

function runFfmpeg(args: string[]): Promise<void> {
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${stderr.trim().slice(-300)}`))));
  });
}

/**
 * Encodes the show's ladder into `dir`: one FFmpeg run per transcoder run, each with livecue's
 * `ladderArgs` (same split/scale/x264/AAC/HLS options, keyframes on segment boundaries) on a lavfi
 * testsrc2 + sine input instead of FLV on stdin, and with the playlist listing every segment. Each run's
 * timestamps start again, as after a real reconnect. A `dir` that already holds the same spec is reused.
 */
export async function generateLadder(dir: string, spec: LadderSpec): Promise<GeneratedLadder> {
  const renditions = renditionLadder(
    { width: spec.width, height: spec.height, frameRate: spec.fps, videoCodec: 'h264' },
    { heights: parseLadderHeights(spec.ladder), passthrough: false },
  );
  const manifestFile = path.join(dir, MANIFEST);
  if (existsSync(manifestFile)) {
    const saved = JSON.parse(await readFile(manifestFile, 'utf8')) as GeneratedLadder;
    if (JSON.stringify(saved.spec) === JSON.stringify(spec)) return { ...saved, encodeSeconds: 0, encodeCpuSeconds: 0, reused: true };
  }
  const started = performance.now();
  const cpuBefore = childrenCpuSeconds();
  const runs: GeneratedRun[] = [];
  const runSeconds = spec.seconds / spec.runs;
  for (let run = 0; run < spec.runs; run++) {
    const outDir = path.join(dir, `run-${run}`);
    for (const rendition of renditions) await mkdir(path.join(outDir, rendition.name), { recursive: true });
    const input = [
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${spec.width}x${spec.height}:rate=${spec.fps}:duration=${runSeconds}[out0];sine=frequency=440:sample_rate=48000:duration=${runSeconds}[out1]`,
    ];
    // Live, each rendition's fragmented MP4 goes to a pipe; here to a file each, cut into segments afterwards.
    const args = ladderArgs({ renditions, hasAudio: true, segmentSeconds: spec.segmentSeconds, partSeconds: 1 / 3, preset: spec.preset, input }).map((arg) =>
      arg.startsWith('pipe:') && arg !== 'pipe:1' ? path.join(outDir, `${renditions[Number(arg.slice(5)) - FIRST_OUTPUT_FD]!.name}.mp4`) : arg,
    );
    await runFfmpeg(args);
    const segments: GeneratedRun['segments'] = {};
    const inits: GeneratedRun['inits'] = {};
    for (const rendition of renditions) {
      const cut = await cutSegments(path.join(outDir, `${rendition.name}.mp4`), path.join(outDir, rendition.name), spec.segmentSeconds);
      segments[rendition.name] = cut.segments;
      inits[rendition.name] = cut.init;
    }
    runs.push({ run, segments, inits });
  }
  const result: GeneratedLadder = {
    spec,
    renditions,
    runs,
    encodeSeconds: (performance.now() - started) / 1000,
    encodeCpuSeconds: childrenCpuSeconds() - cpuBefore,
    reused: false,
  };
  await writeFile(manifestFile, JSON.stringify(result, null, 1));
  return result;
}

/** cutime + cstime of this process (/proc/self/stat fields 16 and 17): CPU of every child it has waited for. */
export function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // Count fields after the command name's closing ')': index 0 is field 3, so 16 and 17 are 13 and 14.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / clockTicks();
}

export interface SeededShow {
  streamId: string;
  playbackId: string;
  sessionId: string;
  startedAt: Date;
  mediaSeconds: number;
  segmentsPerRendition: Record<string, number>;
  bytes: number;
  cueCount: number;
  /** Seconds the upload of segments and the row inserts took (the live part, compressed). */
  seedSeconds: number;
}

/**
 * Writes the show into the node: a stream, a live session (still open), its renditions, every segment
 * uploaded with `lc.store.put` and its row (as HlsPackager + LiveSession record them), and a cue every
 * `cueEverySeconds`. The reconnect gap (wall clock, not media) is `reconnectGapSeconds`. The session is
 * left open: ending it is the caller's measured moment.
 */
export async function seedShow(
  lc: Livecue,
  ladder: GeneratedLadder,
  options: { reconnectGapSeconds: number; cueEverySeconds: number; nodeId: string },
): Promise<SeededShow> {
  const started = performance.now();
  const { db } = lc.database;
  const { stream } = await lc.streams.create('bench recording');
  const sessionId = `ses_${randomBase62(16)}`;
  const sessionTag = sessionId.slice(-8);
  const prefix = `hls/${stream.playbackId}`;
  const { spec, renditions } = ladder;
  // The show started so long ago that it ends now: media plus the reconnect gaps.
  const wallSeconds = spec.seconds + options.reconnectGapSeconds * (ladder.runs.length - 1);
  const startedAt = new Date(Date.now() - wallSeconds * 1000);
  await db.insert(liveSessions).values({
    id: sessionId,
    streamId: stream.id,
    nodeId: options.nodeId,
    ingestProtocol: 'rtmp',
    startedAt,
    reconnects: ladder.runs.length - 1,
    sourceWidth: spec.width,
    sourceHeight: spec.height,
    sourceVideoCodec: 'h264',
  });
  await db.update(streams).set({ status: 'live', updatedAt: startedAt }).where(eq(streams.id, stream.id));
  await db.insert(renditionsTable).values(
    renditions.map((rendition) => ({
      id: `ren_${randomBase62(16)}`,
      sessionId,
      name: rendition.name,
      width: rendition.width,
      height: rendition.height,
      videoBitrate: rendition.videoBitrate,
      audioBitrate: rendition.audioBitrate,
      frameRate: rendition.frameRate,
      passthrough: 0,
    })),
  );

  let bytes = 0;
  let mediaSeconds = 0;
  const segmentsPerRendition: Record<string, number> = {};
  for (const rendition of renditions) {
    // Per rendition, as HlsPackager keeps it: sequence and media time continue across runs,
    // the program date time restarts from each run's wall clock start.
    let sequence = 0;
    let mediaEnd = 0;
    let runWallClock = startedAt.getTime();
    const rows: (typeof segmentsTable.$inferInsert)[] = [];
    for (const run of ladder.runs) {
      let runOffset = 0;
      const initKey = `${prefix}/${rendition.name}/${sessionTag}-init-${run.run}.mp4`;
      await lc.store.put(initKey, await readFile(run.inits[rendition.name]!), { contentType: SEGMENT_CONTENT_TYPE, cacheControl: SEGMENT_CACHE_CONTROL });
      for (const [index, segment] of (run.segments[rendition.name] ?? []).entries()) {
        const body = await readFile(segment.file);
        const objectKey = `${prefix}/${rendition.name}/${sessionTag}-${sequence}.m4s`;
        await lc.store.put(objectKey, body, { contentType: SEGMENT_CONTENT_TYPE, cacheControl: SEGMENT_CACHE_CONTROL });
        rows.push({
          sessionId,
          rendition: rendition.name,
          sequence,
          run: run.run,
          discontinuity: run.run > 0 && index === 0 ? 1 : 0,
          mediaStartMs: Math.round(mediaEnd * 1000),
          durationMs: Math.round(segment.duration * 1000),
          programDateTime: new Date(runWallClock + runOffset * 1000),
          objectKey,
          bytes: body.length,
        });
        bytes += body.length;
        sequence++;
        runOffset += segment.duration;
        mediaEnd += segment.duration;
      }
      runWallClock += (runOffset + options.reconnectGapSeconds) * 1000;
    }
    for (let i = 0; i < rows.length; i += 200) await db.insert(segmentsTable).values(rows.slice(i, i + 200));
    segmentsPerRendition[rendition.name] = rows.length;
    if (rendition === renditions[0]) mediaSeconds = mediaEnd;
  }

  // Commerce cues through the show, on the media timeline and at the wall clock of that media time.
  const cueRows: (typeof cues.$inferInsert)[] = [];
  const runSeconds = spec.seconds / ladder.runs.length;
  for (let t = options.cueEverySeconds / 2, seq = 1; t < mediaSeconds; t += options.cueEverySeconds, seq++) {
    const run = Math.min(ladder.runs.length - 1, Math.floor(t / runSeconds));
    const wallClock = new Date(startedAt.getTime() + (t + run * options.reconnectGapSeconds) * 1000);
    const type = seq % 3 === 0 ? 'announcement' : 'product.pin';
    const payload = type === 'announcement' ? { text: `deal #${seq}` } : { productId: `prd_${randomBase62(16)}` };
    cueRows.push({ id: `cue_${randomBase62(16)}`, streamId: stream.id, sessionId, seq, type, payload, mediaTimeMs: Math.round(t * 1000), wallClock });
  }
  if (cueRows.length > 0) await db.insert(cues).values(cueRows);

  return {
    streamId: stream.id,
    playbackId: stream.playbackId,
    sessionId,
    startedAt,
    mediaSeconds,
    segmentsPerRendition,
    bytes,
    cueCount: cueRows.length,
    seedSeconds: (performance.now() - started) / 1000,
  };
}

// Benchmark of the replay of a finished show: time from the session's end to its recording `ready`
// (through livecue's own queue and in-process worker), the builder's phases, and the CPU it costs.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import { liveSessions, recordings, streams } from '../src/db/schema.ts';
import { BenchNode, benchConfig } from './lib/bench-node.ts';
import { BenchRecord } from './lib/bench-record.ts';
import { createLogger } from '../src/log.ts';
import type { ObjectStore } from '../src/storage/object-store.ts';
import { RecordingBuilder, type RecordingAssets } from '../src/workers/recording-builder.ts';
import { recordingView } from '../src/workers/recording-view.ts';
import { clockTicks, cpuSeconds, machineCpu } from './lib/cpu.ts';
import { childrenCpuSeconds, generateLadder, seedShow, type GeneratedLadder, type SeededShow } from './lib/recording-show.ts';
import { printTextTable } from './lib/text-table.ts';

const run = promisify(execFile);

const MINUTES = Number(process.env.BENCH_MINUTES ?? 10);
/** Keeps (and reuses) the encoded ladder there instead of a temp dir deleted at the end. */
const SOURCE_DIR = process.env.BENCH_SOURCE_DIR;
/** Which RECORDING_MP4 settings to measure, in order. */
const MP4_VARIANTS = (process.env.BENCH_MP4 ?? 'true,false').split(',').map((v) => v.trim() === 'true');
const TARGET_SECONDS = 30;
const RECONNECT_GAP_SECONDS = 3;
const CUE_EVERY_SECONDS = 30;
const POLL_MS = 50;
const TIMEOUT_MS = 10 * 60_000;
/** Options of livecue the bench lets the environment change; everything else stays on the embedded defaults. */
const TUNABLE = ['SEGMENT_SECONDS', 'LADDER', 'X264_PRESET', 'THUMBNAIL_INTERVAL_SECONDS', 'WORKER_CONCURRENCY'] as const;

interface StoreEvent {
  op: 'put' | 'get';
  key: string;
  bytes?: number;
  /** ms since the epoch when the operation finished (put) or was asked for (get). */
  at: number;
}

/** Records every put and get of the node's store: the builder writes each asset with one put. */
function tapStore(store: ObjectStore, events: StoreEvent[]): void {
  const put = store.put.bind(store);
  const get = store.get.bind(store);
  store.put = async (key, body, options) => {
    await put(key, body, options);
    events.push({ op: 'put', key, bytes: body.length, at: Date.now() });
  };
  store.get = async (key, range) => {
    events.push({ op: 'get', key, at: Date.now() });
    return get(key, range);
  };
}

/** Children alive now (mediasoup workers, redis-server): pid -> utime + stime, from /proc/<pid>/task/<tid>/children. */
function liveChildrenCpu(): Map<number, number> {
  const pids = new Set<number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      for (const pid of readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (pid) pids.add(Number(pid));
    } catch {
      // The thread ended.
    }
  }
  const cpu = new Map<number, number>();
  for (const pid of pids) {
    const seconds = cpuSeconds(pid);
    if (seconds !== undefined) cpu.set(pid, seconds);
  }
  return cpu;
}

interface CpuSnapshot {
  node: NodeJS.CpuUsage;
  waitedChildren: number;
  liveChildren: Map<number, number>;
  machine: number;
  at: number;
}

const snapshot = (): CpuSnapshot => ({
  node: process.cpuUsage(),
  waitedChildren: childrenCpuSeconds(),
  liveChildren: liveChildrenCpu(),
  machine: machineCpu().seconds,
  at: performance.now(),
});

interface Phase {
  name: string;
  seconds: number;
}

interface VariantResult {
  recordingMp4: boolean;
  show: SeededShow;
  status: string;
  failureReason?: string | null;
  attempts?: number;
  /** endedAt -> readyAt of the recording row (both written by livecue). */
  readySeconds?: number;
  /** endedAt -> the bench saw `ready` (polled every POLL_MS). */
  observedReadySeconds?: number;
  pass: boolean;
  phases: Phase[];
  downloads: { segments: number; bytes: number };
  thumbnails: number;
  assets: Record<string, { key: string; bytes: number }>;
  cpu: {
    windowSeconds: number;
    /** livecue's Node process (worker, PGlite, BullMQ client, the bench's polling). */
    nodeSeconds: number;
    /** FFmpeg children the builder ran and waited for (cutime + cstime of /proc/self/stat). */
    ffmpegSeconds: number;
    /** redis-server and mediasoup workers over the window. */
    otherChildrenSeconds: number;
    totalSeconds: number;
    perRecordingMinute: number;
    /** All cores of the machine, whoever used them, over the window. */
    machineBusyCores: number;
  };
  check: { recordingSeconds?: number; renditions?: string[]; vodSegments?: number; vodDiscontinuities?: number; mp4Seconds?: number };
}

function phasesOf(events: StoreEvent[], prefix: string, endedAt: number, processedOn: number | undefined, readyAt: number | undefined): Phase[] {
  const putAt = (suffix: string) => events.find((e) => e.op === 'put' && e.key === `${prefix}/${suffix}`)?.at;
  const marks: [string, number | undefined][] = [
    ['queue (end -> job taken)', processedOn],
    ['VOD playlists + master', putAt('master.m3u8')],
    ['poster', putAt('poster.jpg')],
    ['thumbnail sprite + VTT', putAt('thumbnails.vtt')],
    ['cue track', putAt('cues.json')],
    ['MP4 remux + upload', putAt('show.mp4')],
    ['ready row', readyAt],
  ];
  const phases: Phase[] = [];
  let last = endedAt;
  for (const [name, at] of marks) {
    if (at === undefined) continue;
    phases.push({ name, seconds: (at - last) / 1000 });
    last = at;
  }
  return phases;
}

async function probeSeconds(url: string): Promise<number | undefined> {
  try {
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', url]);
    return Number.parseFloat(stdout.trim());
  } catch {
    return undefined;
  }
}

async function measure(ladder: GeneratedLadder, recordingMp4: boolean): Promise<VariantResult> {
  const bench = await BenchNode.start({ dirPrefix: 'livecue-bench-recording-', tunable: TUNABLE, forced: { RECORDING_MP4: String(recordingMp4) } });
  const { node: lc, config } = bench;
  const logger = createLogger('silent');
  try {
    const nodeId = config.NODE_ID ?? os.hostname();
    const show = await seedShow(lc, ladder, { reconnectGapSeconds: RECONNECT_GAP_SECONDS, cueEverySeconds: CUE_EVERY_SECONDS, nodeId });
    const { db } = lc.database;
    const events: StoreEvent[] = [];
    tapStore(lc.store, events);
    // Let the seeding's writes settle (and the page cache hold them, as it would for a show just uploaded).
    await sleep(2000);

    // The end of the show, as LiveSession.#close and the app's `ended` hook do it.
    const before = snapshot();
    const endedAt = new Date();
    await db.update(liveSessions).set({ endedAt, endReason: 'encoder_left' }).where(eq(liveSessions.id, show.sessionId));
    await db.update(streams).set({ status: 'ended', updatedAt: endedAt }).where(eq(streams.id, show.streamId));
    await new RecordingBuilder({ db, store: lc.store, config, logger }).ensureRow(show.sessionId, show.streamId);
    await lc.queues.recordings.add('finalize', { sessionId: show.sessionId }, { jobId: show.sessionId });

    let row: typeof recordings.$inferSelect | undefined;
    const deadline = Date.now() + TIMEOUT_MS;
    while (Date.now() < deadline) {
      [row] = await db.select().from(recordings).where(eq(recordings.sessionId, show.sessionId));
      if (row?.status === 'ready' || row?.status === 'failed') break;
      const job = await lc.queues.recordings.getJob(show.sessionId);
      if (job?.failedReason && (job.attemptsMade ?? 0) >= 1) console.error(`recording job attempt ${job.attemptsMade} failed: ${job.failedReason}`);
      await sleep(POLL_MS);
    }
    const observedAt = Date.now();
    const after = snapshot();
    const job = await lc.queues.recordings.getJob(show.sessionId);

    const waitedFfmpeg = after.waitedChildren - before.waitedChildren;
    let otherChildren = 0;
    for (const [pid, seconds] of after.liveChildren) {
      const start = before.liveChildren.get(pid);
      if (start !== undefined) otherChildren += seconds - start;
    }
    const nodeSeconds = (after.node.user - before.node.user + after.node.system - before.node.system) / 1e6;
    const windowSeconds = (after.at - before.at) / 1000;
    const totalSeconds = nodeSeconds + waitedFfmpeg + otherChildren;
    const recordingSeconds = row?.durationMs ? row.durationMs / 1000 : show.mediaSeconds;

    const assets = (row?.assets ?? {}) as Partial<RecordingAssets>;
    const prefix = assets.master?.replace(/\/master\.m3u8$/, '') ?? `hls/${show.playbackId}/recordings/${row?.id}`;
    const assetSizes: VariantResult['assets'] = {};
    for (const event of events) {
      if (event.op === 'put' && event.key.startsWith(`${prefix}/`))
        assetSizes[event.key.slice(prefix.length + 1)] = { key: event.key, bytes: event.bytes ?? 0 };
    }
    const segmentGets = events.filter((e) => e.op === 'get' && e.key.endsWith('.ts') && !e.key.includes('/recordings/'));
    let downloadBytes = 0;
    for (const event of segmentGets) downloadBytes += (await lc.store.head(event.key))?.size ?? 0;
    const readyAt = row?.readyAt?.getTime();
    const readySeconds = row?.status === 'ready' && readyAt ? (readyAt - endedAt.getTime()) / 1000 : undefined;

    // Is it a whole replay? Duration, ladder, the lowest VOD playlist (segments, the one discontinuity), the MP4.
    const check: VariantResult['check'] = { recordingSeconds: row?.durationMs ? row.durationMs / 1000 : undefined };
    if (row?.status === 'ready') {
      const view = recordingView(row, lc.urls.hlsBase);
      const names = (view.renditions as { name: string }[]).map((r) => r.name);
      check.renditions = names;
      const lowest = names.at(-1);
      const vod = lowest ? await (await fetch(view.playback.hlsUrl!.replace('master.m3u8', `${lowest}/index.m3u8`))).text() : '';
      check.vodSegments = (vod.match(/#EXTINF:/g) ?? []).length;
      check.vodDiscontinuities = (vod.match(/#EXT-X-DISCONTINUITY\n/g) ?? []).length;
      if (view.playback.mp4Url) check.mp4Seconds = await probeSeconds(view.playback.mp4Url);
    }

    return {
      recordingMp4,
      show,
      status: row?.status ?? 'missing',
      failureReason: row?.failureReason,
      attempts: row?.attempts,
      readySeconds,
      observedReadySeconds: row?.status === 'ready' ? (observedAt - endedAt.getTime()) / 1000 : undefined,
      pass: readySeconds !== undefined && readySeconds <= TARGET_SECONDS,
      phases: phasesOf(events, prefix, endedAt.getTime(), job?.processedOn, readyAt),
      downloads: { segments: segmentGets.length, bytes: downloadBytes },
      thumbnails: Math.ceil(recordingSeconds / config.THUMBNAIL_INTERVAL_SECONDS),
      assets: assetSizes,
      cpu: {
        windowSeconds,
        nodeSeconds,
        ffmpegSeconds: waitedFfmpeg,
        otherChildrenSeconds: otherChildren,
        totalSeconds,
        perRecordingMinute: totalSeconds / (recordingSeconds / 60),
        machineBusyCores: (after.machine - before.machine) / windowSeconds,
      },
      check,
    };
  } finally {
    await bench.close();
  }
}

const fmt = (value: number | undefined, digits = 2) => (value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits));
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

function printTable(results: VariantResult[]): void {
  const phaseNames = [...new Set(results.flatMap((r) => r.phases.map((p) => p.name)))];
  const rows: string[][] = [
    ['', ...results.map((r) => `RECORDING_MP4=${r.recordingMp4}`), 'target'],
    ['status (attempts)', ...results.map((r) => `${r.status} (${r.attempts ?? '—'})`), ''],
    ['session end -> ready (s)', ...results.map((r) => `${fmt(r.readySeconds)}  ${r.pass ? 'PASS' : 'MISS'}`), `<= ${TARGET_SECONDS}`],
    ...phaseNames.map((name) => [`  ${name} (s)`, ...results.map((r) => fmt(r.phases.find((p) => p.name === name)?.seconds)), '']),
    ['segments read / bytes', ...results.map((r) => `${r.downloads.segments} / ${mb(r.downloads.bytes)}`), ''],
    [
      'CPU s: node / ffmpeg / redis+sfu',
      ...results.map((r) => `${fmt(r.cpu.nodeSeconds)} / ${fmt(r.cpu.ffmpegSeconds)} / ${fmt(r.cpu.otherChildrenSeconds)}`),
      '',
    ],
    ['CPU s per recording minute', ...results.map((r) => fmt(r.cpu.perRecordingMinute, 3)), ''],
    ['machine busy cores (all processes)', ...results.map((r) => `${fmt(r.cpu.machineBusyCores)} of ${os.cpus().length}`), ''],
    [
      'recording s / VOD segs / discont.',
      ...results.map((r) => `${fmt(r.check.recordingSeconds, 1)} / ${r.check.vodSegments ?? '—'} / ${r.check.vodDiscontinuities ?? '—'}`),
      '',
    ],
    ['MP4 s / size', ...results.map((r) => (r.assets['show.mp4'] ? `${fmt(r.check.mp4Seconds, 1)} / ${mb(r.assets['show.mp4'].bytes)}` : '—')), ''],
  ];
  printTextTable(rows);
}

async function main(): Promise<void> {
  const record = new BenchRecord('recording');
  const defaults = benchConfig({ dataDir: os.tmpdir(), tunable: TUNABLE });
  const spec = {
    seconds: MINUTES * 60,
    runs: 2,
    width: 1280,
    height: 720,
    fps: 30,
    segmentSeconds: defaults.SEGMENT_SECONDS,
    preset: defaults.X264_PRESET,
    ladder: defaults.LADDER,
  };
  const sourceDir = SOURCE_DIR ?? (await mkdtemp(path.join(os.tmpdir(), 'livecue-bench-recording-src-')));
  mkdirSync(sourceDir, { recursive: true });
  record.announce(
    `${MINUTES} min 720p30 show, 2 runs (1 reconnect), ${spec.segmentSeconds} s segments, thumbnails every ${defaults.THUMBNAIL_INTERVAL_SECONDS} s, ` +
      `worker concurrency ${defaults.WORKER_CONCURRENCY}; clock ticks ${clockTicks()}/s`,
  );
  const results: VariantResult[] = [];
  let ladder: GeneratedLadder | undefined;
  try {
    console.log(`encoding the show's ladder (${spec.ladder} from ${spec.height}p, x264 ${spec.preset}) into ${sourceDir} ...`);
    ladder = await generateLadder(sourceDir, spec);
    console.log(
      ladder.reused
        ? 'reused the encoded ladder'
        : `encoded ${spec.seconds} s of media in ${ladder.encodeSeconds.toFixed(1)} s (${(spec.seconds / ladder.encodeSeconds).toFixed(2)}x real time, ${ladder.encodeCpuSeconds.toFixed(0)} CPU s)`,
    );
    for (const mp4 of MP4_VARIANTS) {
      console.log(`RECORDING_MP4=${mp4}: seeding the show, ending it, waiting for the recording ...`);
      const result = await measure(ladder, mp4);
      console.log(`  seeded ${mb(result.show.bytes)} in ${result.show.seedSeconds.toFixed(1)} s; ${result.status} ${fmt(result.readySeconds)} s after the end`);
      results.push(result);
    }
  } finally {
    if (!SOURCE_DIR) await rm(sourceDir, { recursive: true, force: true });
  }

  printTable(results);
  record.write({
    config: {
      method: 'synthetic: ladder encoded offline with ladderArgs, rows and objects written as HlsPackager/LiveSession do, end + job as the app hook does',
      show: spec,
      reconnectGapSeconds: RECONNECT_GAP_SECONDS,
      cueEverySeconds: CUE_EVERY_SECONDS,
      thumbnailIntervalSeconds: defaults.THUMBNAIL_INTERVAL_SECONDS,
      workerConcurrency: defaults.WORKER_CONCURRENCY,
      pollMs: POLL_MS,
      store: 'fs',
      database: 'pglite',
      source: ladder && { encodeSeconds: ladder.encodeSeconds, encodeCpuSeconds: ladder.encodeCpuSeconds, reused: ladder.reused },
    },
    targets: { readySeconds: TARGET_SECONDS, statistic: 'recordings.ready_at - live_sessions.ended_at' },
    variants: results,
  });
}

await main();

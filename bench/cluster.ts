// What serving a show from another node costs: a WHIP show on an origin node, WHEP viewers on the
// origin and on an edge node that pipes the show from it (mediasoup PipeTransport over UDP).
// Measures glass-to-glass latency on both, the first-frame time of a viewer on a cold edge (the
// relay is set up on that join) and on a warm one, and the CPU the relay costs each node's workers.
//
//   npx tsx bench/cluster.ts          (needs PostgreSQL on 127.0.0.1:5432 and Redis on :6379, as the tests)
import { setTimeout as sleep } from 'node:timers/promises';
import type { Livecue } from '../src/app.ts';
import { randomBase62 } from '../src/streams/stream-keys.ts';
import { BenchNode } from './lib/bench-node.ts';
import { BenchRecord } from './lib/bench-record.ts';
import { CpuMeter, processCpu } from './lib/cpu.ts';
import { deleteSession, postSdp } from './lib/livecue-api.ts';
import { createFreshDatabase } from '../tests/helpers/fresh-database.ts';
import { fmt, fmtStats, stats, type Stats } from './lib/stats.ts';
import { printTextTable } from './lib/text-table.ts';
import { plausible, watchWindow } from './lib/webrtc-latency.ts';
import { contextOf, startWhipShow, type BenchContext, type Show } from './lib/webrtc-shows.ts';
import { StampViewer } from './lib/stamp-viewer.ts';

const WIDTH = 1280;
const HEIGHT = 720;
const FPS = 30;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const JOINS = Number(process.env.BENCH_JOINS ?? 5);
const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Watch {
  latencyMs?: Stats;
  frames: number;
  firstFrameMs?: number;
}

/** One viewer on `baseUrl` for `seconds`: its join time and the latency of every frame it decoded after warm-up. */
async function watch(baseUrl: string, playbackId: string, seconds: number): Promise<Watch> {
  const viewer = new StampViewer();
  try {
    const { frames, startedAt, firstFrameAt } = await watchWindow(viewer, { url: `${baseUrl}/whep/${playbackId}`, baseUrl }, seconds, {
      firstFrameTimeoutMs: 15_000,
      noFrame: () => `no frame from ${baseUrl} within 15 s`,
    });
    const latencies = frames.flatMap((frame) => (frame.stamp !== undefined && plausible(frame.at - frame.stamp) ? [frame.at - frame.stamp] : []));
    return { latencyMs: stats(latencies), frames: frames.length, firstFrameMs: firstFrameAt - startedAt };
  } finally {
    viewer.close();
  }
}

/** POST -> first decoded frame, for a viewer that leaves at once. */
async function join(baseUrl: string, playbackId: string): Promise<number> {
  const viewer = new StampViewer(false);
  try {
    const started = Date.now();
    const { location, answer } = await postSdp(`${baseUrl}/whep/${playbackId}`, await viewer.offer());
    await viewer.accept(answer);
    const first = await viewer.firstFrame(15_000);
    await deleteSession(baseUrl, location);
    if (first === undefined) throw new Error('no frame within 15 s');
    return first - started;
  } finally {
    viewer.close();
  }
}

/** CPU of a node's (single) mediasoup worker from now until `cores()` is called. */
function workerCores(node: Livecue): { cores(): number | undefined } {
  const meter = new CpuMeter(() => processCpu(node.sfu!.workers[0]?.pid));
  meter.sample();
  return {
    cores() {
      meter.sample();
      return meter.summary()?.cores;
    },
  };
}

async function main(): Promise<void> {
  const record = new BenchRecord('cluster');
  const database = await createFreshDatabase(ADMIN_URL, 'livecue_bench');
  const shared = {
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: `lcbench-${randomBase62(6)}`,
    LIVECUE_SECRET_KEY: randomBase62(32),
    SFU_WORKERS: 1,
    LADDER: '360',
    SIGNALING_RATE_PER_SECOND: 1000,
  };
  const originNode = await BenchNode.start({ dirPrefix: 'livecue-bench-origin-', tunable: [], forced: { ...shared, ROLE: 'ingest', NODE_ID: 'bench-origin' } });
  const origin = originNode.node;
  const edgeNode = await BenchNode.start({
    dirPrefix: 'livecue-bench-edge-',
    tunable: [],
    forced: { ...shared, ROLE: 'sfu', NODE_ID: 'bench-edge', LIVECUE_ADMIN_TOKEN: origin.adminToken, WEBRTC_MIN_PORT: 45000, WEBRTC_MAX_PORT: 45999 },
  });
  const edge = edgeNode.node;
  const originUrl = `http://127.0.0.1:${origin.httpPort}`;
  const edgeUrl = `http://127.0.0.1:${edge.httpPort}`;
  const ctx: BenchContext = { node: origin, target: contextOf(origin), width: WIDTH, height: HEIGHT, fps: FPS };
  record.announce(`WHIP ${WIDTH}x${HEIGHT}@${FPS}; origin and edge in one process, one mediasoup worker each`);

  let show: Show | undefined;
  let result: Record<string, unknown> = {};
  try {
    show = await startWhipShow(ctx, 'bench cluster');
    const playbackId = show.stream.playbackId;
    // Idle cost first: the origin's worker with the show and no viewers, the edge's with nothing.
    const originIdle = workerCores(origin);
    const edgeIdle = workerCores(edge);
    await sleep(5000);
    const idle = { origin: originIdle.cores(), edge: edgeIdle.cores() };

    console.log(`cold edge join, then ${SECONDS} s of latency on the origin and on the edge at once ...`);
    const coldJoinMs = await join(edgeUrl, playbackId);
    const originMeter = workerCores(origin);
    const edgeMeter = workerCores(edge);
    const [onOrigin, onEdge] = await Promise.all([watch(originUrl, playbackId, SECONDS), watch(edgeUrl, playbackId, SECONDS)]);
    const busy = { origin: originMeter.cores(), edge: edgeMeter.cores() };
    const warm: number[] = [];
    const originJoins: number[] = [];
    for (let i = 0; i < JOINS; i++) {
      warm.push(await join(edgeUrl, playbackId));
      originJoins.push(await join(originUrl, playbackId));
    }
    result = { coldJoinMs, warmEdgeJoinMs: stats(warm), originJoinMs: stats(originJoins), onOrigin, onEdge, workerCores: { idle, withOneViewerEach: busy } };

    const rows = [
      ['', 'origin node', 'edge node (piped)'],
      ['glass-to-glass p50 / p95 / max (ms)', fmtStats(onOrigin.latencyMs), fmtStats(onEdge.latencyMs)],
      ['frames decoded', String(onOrigin.frames), String(onEdge.frames)],
      ['WHEP POST -> first frame p50 (ms)', fmt(stats(originJoins)?.p50), `${fmt(stats(warm)?.p50)} warm, ${fmt(coldJoinMs)} cold (relay set up)`],
      ['mediasoup worker cores, no viewer', fmt(idle.origin, 3), fmt(idle.edge, 3)],
      ['mediasoup worker cores, one viewer each (+ relay)', fmt(busy.origin, 3), fmt(busy.edge, 3)],
    ];
    printTextTable(rows);
  } finally {
    await show?.stop();
    await edgeNode.close();
    await originNode.close();
    await database.drop();
  }

  record.write({ config: { width: WIDTH, height: HEIGHT, fps: FPS, seconds: SECONDS, joins: JOINS }, ...result });
}

await main();
// libwebrtc (wrtc) keeps the event loop alive after its peers are closed.
process.exit(0);

// Benchmark of sub-second viewing: WHIP/RTMP -> WHEP glass-to-glass latency, time to first frame, and SFU viewer capacity.
import os from 'node:os';
import { BenchNode, envList, envNumber as env, envNumbers, sourceFromEnv, tunedFromEnv } from './lib/bench-node.ts';
import { BenchRecord } from './lib/bench-record.ts';
import { fmt, fmtStats, verdict } from './lib/stats.ts';
import { printTextTable } from './lib/text-table.ts';
import { LOSS_LIMIT, measureCapacity, type CapacityResult } from './lib/webrtc-capacity.ts';
import { measureJoins, type JoinResult } from './lib/webrtc-join.ts';
import { rtmpLatency, whipLatency, type LatencyResult } from './lib/webrtc-latency.ts';
import { contextOf, startRtmpShow, startWhipShow, type BenchContext, type Show } from './lib/webrtc-shows.ts';

const SOURCE = sourceFromEnv();
const { width: WIDTH, height: HEIGHT, fps: FPS } = SOURCE;
const LATENCY_SECONDS = env('BENCH_LATENCY_SECONDS', 20);
const JOINS = env('BENCH_JOINS', 10);
const MAX_VIEWERS = env('BENCH_MAX_VIEWERS', 400);
const STEPS = envNumbers('BENCH_VIEWER_STEPS', '25,50,100,200,300,400').filter((n) => n <= MAX_VIEWERS);
const STEP_SECONDS = env('BENCH_STEP_SECONDS', 5);
const SWARMS = env('BENCH_SWARMS', 2);
const CAPACITY_KBPS = env('BENCH_CAPACITY_KBPS', 1500);
/** x264 preset of the RTMP camera: veryfast (High, what the README's push and OBS send) by default; ultrafast for constrained baseline. */
const RTMP_PRESET = process.env.BENCH_RTMP_PRESET ?? 'veryfast';
/** BENCH_RTMP_AUDIO=0: the RTMP camera sends video only (for the latency/join show). */
const RTMP_AUDIO = process.env.BENCH_RTMP_AUDIO !== '0';
/** Which parts run: whip (latency + joins), rtmp (latency + joins), capacity. */
const PARTS = new Set(envList('BENCH_PARTS', 'whip,rtmp,capacity'));
/** Options of livecue the bench lets the environment change; everything else stays on the embedded defaults. */
const TUNABLE = ['SFU_WORKERS', 'VIEWERS_PER_ROUTER', 'LADDER', 'X264_PRESET', 'PASSTHROUGH', 'SIGNALING_RATE_PER_SECOND'] as const;
/**
 * Every bench viewer comes from 127.0.0.1, so the per-address limit on WHIP/WHEP offers is raised (livecue's
 * default would pace the joins of a capacity step at 10 a second); the environment can set it back.
 */
const SIGNALING_RATE_PER_SECOND = 1000;

const TARGETS = { whipLatencyP95Ms: 150, rtmpLatencyP95Ms: 600, firstFrameP50Ms: 1000, viewers: 300 };

interface ShowPart {
  readySeconds?: number;
  latency?: LatencyResult;
  joins?: JoinResult;
  error?: string;
}

async function runShowPart(
  start: () => Promise<Show>,
  latency: (show: Show) => Promise<LatencyResult>,
  joins: (show: Show) => Promise<JoinResult>,
): Promise<ShowPart> {
  let show: Show | undefined;
  try {
    show = await start();
    return { readySeconds: show.readySeconds, latency: await latency(show), joins: await joins(show) };
  } catch (error) {
    return { error: (error as Error).message };
  } finally {
    await show?.stop();
  }
}

function verdicts(whip: ShowPart | undefined, rtmp: ShowPart | undefined, capacity: CapacityResult | undefined) {
  const joined = (part: ShowPart | undefined) =>
    part?.joins?.firstFrameMs ? part.joins.failed === 0 && part.joins.firstFrameMs.p50 < TARGETS.firstFrameP50Ms : part ? false : undefined;
  const p95 = (part: ShowPart | undefined, limit: number) => (part ? (part.latency?.latencyMs?.p95 ?? Infinity) < limit : undefined);
  return {
    whipLatency: p95(whip, TARGETS.whipLatencyP95Ms),
    rtmpLatency: p95(rtmp, TARGETS.rtmpLatencyP95Ms),
    whipFirstFrame: joined(whip),
    rtmpFirstFrame: joined(rtmp),
    viewers: capacity ? capacity.capacity >= TARGETS.viewers : undefined,
  };
}

function printTable(whip: ShowPart | undefined, rtmp: ShowPart | undefined, capacity: CapacityResult | undefined): void {
  const v = verdicts(whip, rtmp, capacity);
  const latencyCell = (part: ShowPart | undefined) =>
    part?.error ??
    part?.latency?.error ??
    `${fmtStats(part?.latency?.latencyMs)}  (${part?.latency?.framesDecoded ?? 0} frames, ${part?.latency?.unreadable ?? 0} unreadable)`;
  const joinCell = (part: ShowPart | undefined) =>
    part?.error ??
    (part?.joins
      ? `${fmt(part.joins.firstFrameMs?.p50)} / max ${fmt(part.joins.firstFrameMs?.max)}  (${part.joins.joins - part.joins.failed}/${part.joins.joins} joined)`
      : '—');
  const rows: string[][] = [
    ['', 'measured', 'verdict', 'target'],
    ['WHIP -> WHEP latency p50 / p95 / max (ms)', whip ? latencyCell(whip) : 'skipped', verdict(v.whipLatency), `p95 < ${TARGETS.whipLatencyP95Ms}`],
    ['RTMP -> WHEP latency p50 / p95 / max (ms)', rtmp ? latencyCell(rtmp) : 'skipped', verdict(v.rtmpLatency), `p95 < ${TARGETS.rtmpLatencyP95Ms}`],
    ['  of which before the bench decoder (ms)', fmtStats(rtmp?.latency?.beforeDecoderMs), '', ''],
    [
      '  of which the bench decoder (ms)',
      `${fmtStats(rtmp?.latency?.decoderDelayMs)}  (frames/AUs ${rtmp?.latency?.decoderFramesPerAccessUnits ?? '—'})`,
      '',
      '',
    ],
    ['WHEP POST -> first frame, WHIP show p50 (ms)', whip ? joinCell(whip) : 'skipped', verdict(v.whipFirstFrame), `p50 < ${TARGETS.firstFrameP50Ms}`],
    ['WHEP POST -> first frame, RTMP show p50 (ms)', rtmp ? joinCell(rtmp) : 'skipped', verdict(v.rtmpFirstFrame), `p50 < ${TARGETS.firstFrameP50Ms}`],
    ['  RTMP joins: POST -> first packet / keyframe p50 (ms)', `${fmt(rtmp?.joins?.firstPacketMs?.p50)} / ${fmt(rtmp?.joins?.firstKeyframeMs?.p50)}`, '', ''],
    [
      `viewers with < ${LOSS_LIMIT * 100}% loss (highest step)`,
      capacity ? `${capacity.capacity}${capacity.stoppedBecause ? `  (stopped ${capacity.stoppedBecause})` : ''}` : 'skipped',
      verdict(v.viewers),
      `>= ${TARGETS.viewers}`,
    ],
  ];
  printTextTable(rows);

  if (!capacity) return;
  const stepRows: string[][] = [
    [
      'viewers',
      'recv',
      'loss %',
      'worst %',
      'kbps/viewer',
      'lost in/pipe/udp',
      'sfu cores (each)',
      'mcore/viewer',
      'bench node',
      'viewer procs',
      'ffmpegs',
      'machine',
    ],
    ['0', '', '', '', '', '', fmt(capacity.baseline.sfuWorkers?.cores, 2), '', '', '', '', `${fmt(capacity.baseline.machine?.cores, 2)}/${os.cpus().length}`],
    ...capacity.steps.map((step) => [
      String(step.viewers),
      String(step.receiving),
      fmt(step.loss * 100, 2),
      fmt(step.worstViewerLoss * 100, 1),
      fmt(step.videoKbpsPerViewer),
      `${step.sfu?.producerLost ?? '?'}/${step.sfu?.pipedLost ?? '?'}/${step.udp?.rcvbufErrors ?? '?'}`,
      `${fmt(step.sfuWorkers?.cores, 2)} (${step.sfuWorkerCoresEach.map((c) => c.toFixed(2)).join('+')})`,
      fmt(step.sfuMilliCoresPerViewer, 2),
      fmt(step.benchNode?.cores, 2),
      fmt(step.viewerProcesses?.cores, 2),
      fmt(step.ffmpegs?.cores, 2),
      `${fmt(step.machine?.cores, 2)}/${os.cpus().length}`,
    ]),
  ];
  printTextTable(stepRows, { title: `capacity steps (${capacity.source}; ${capacity.stepSeconds} s each; cores = CPU s / wall s)`, align: 'right' });
}

async function main(): Promise<void> {
  const record = new BenchRecord('webrtc');
  const bench = await BenchNode.start({ tunable: TUNABLE, settings: { SIGNALING_RATE_PER_SECOND } });
  const { node, config } = bench;
  const ctx: BenchContext = { node, target: contextOf(node), ...SOURCE };
  record.announce(`${WIDTH}x${HEIGHT}@${FPS}; ${node.sfu!.workers.length} mediasoup workers, ${config.VIEWERS_PER_ROUTER} viewers per router`);

  let whip: ShowPart | undefined;
  let rtmp: ShowPart | undefined;
  let capacity: CapacityResult | undefined;
  let capacityError: string | undefined;
  try {
    if (PARTS.has('whip')) {
      console.log(`WHIP show: latency for ${LATENCY_SECONDS} s, then ${JOINS} joins ...`);
      whip = await runShowPart(
        () => startWhipShow(ctx, 'bench whip'),
        (show) => whipLatency(ctx, show, LATENCY_SECONDS),
        (show) => measureJoins(ctx, show, JOINS),
      );
    }
    if (PARTS.has('rtmp')) {
      console.log(`RTMP show: latency for ${LATENCY_SECONDS} s, then ${JOINS} joins ...`);
      rtmp = await runShowPart(
        () => startRtmpShow(ctx, 'bench rtmp', { audio: RTMP_AUDIO, preset: RTMP_PRESET }),
        (show) => rtmpLatency(ctx, show, LATENCY_SECONDS),
        (show) => measureJoins(ctx, show, JOINS),
      );
    }
    if (PARTS.has('capacity') && STEPS.length > 0) {
      console.log(`capacity: RTMP show at ${CAPACITY_KBPS} kbit/s, viewers ${STEPS.join(', ')} in ${SWARMS} child processes ...`);
      let show: Show | undefined;
      try {
        show = await startRtmpShow(ctx, 'bench capacity', { videoKbps: CAPACITY_KBPS, preset: RTMP_PRESET });
        const source = `RTMP ${WIDTH}x${HEIGHT}@${FPS} x264 ${RTMP_PRESET} ${CAPACITY_KBPS} kbit/s + AAC, passed through as H.264 + Opus`;
        capacity = await measureCapacity(ctx, show, STEPS, { swarms: SWARMS, stepSeconds: STEP_SECONDS, source });
      } catch (error) {
        capacityError = (error as Error).message;
        console.error(`capacity: ${capacityError}`);
      } finally {
        await show?.stop();
      }
    }
  } finally {
    await bench.close();
  }

  printTable(whip, rtmp, capacity);
  record.write({
    config: {
      ...SOURCE,
      latencySeconds: LATENCY_SECONDS,
      joins: JOINS,
      viewerSteps: STEPS,
      stepSeconds: STEP_SECONDS,
      viewerProcesses: SWARMS,
      capacityKbps: CAPACITY_KBPS,
      rtmpAudio: RTMP_AUDIO,
      rtmpPreset: RTMP_PRESET,
      // As lib/viewer-swarm.ts reads it.
      viewerReceiveBufferBytes: Number(process.env.BENCH_VIEWER_RCVBUF ?? 2 * 1024 * 1024),
      sfuWorkers: node.sfu!.workers.length,
      viewersPerRouter: config.VIEWERS_PER_ROUTER,
      ladder: config.LADDER,
      x264Preset: config.X264_PRESET,
      signalingRatePerSecond: config.SIGNALING_RATE_PER_SECOND,
      ...tunedFromEnv(TUNABLE),
    },
    targets: { ...TARGETS, lossLimit: LOSS_LIMIT },
    verdicts: verdicts(whip, rtmp, capacity),
    whip,
    rtmp,
    capacity: capacity ?? (capacityError ? { error: capacityError } : undefined),
  });
}

await main();
// libwebrtc (wrtc) keeps the event loop alive after its peers are closed.
process.exit(0);

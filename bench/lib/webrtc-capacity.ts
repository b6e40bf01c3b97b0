// Viewer capacity of one show: counting WHEP viewers (in child processes) are added in steps; at each step
// packet loss from sequence gaps and the CPU of the mediasoup workers, the bench and the machine are measured.
import { setTimeout as sleep } from 'node:timers/promises';
import { CpuMeter, cpuSeconds, machineCpu, processCpu, type CpuReading, type CpuSummary } from './cpu.ts';
import type { ViewerCounts } from './counting-viewer.ts';
import { sfuDelta, SfuWatch, type SfuCounters } from './sfu-stats.ts';
import { stats, type Stats } from './stats.ts';
import { udpCounters, udpDelta, type UdpCounters } from './udp-stats.ts';
import { ViewerSwarm } from './viewer-swarm-client.ts';
import type { BenchContext, Show } from './webrtc-shows.ts';

export const LOSS_LIMIT = 0.01;
/** Past this loss (or when viewers cannot join), further steps are skipped. */
const GIVE_UP_LOSS = 0.1;
const SETTLE_MS = 2000;

export interface CapacityStep {
  viewers: number;
  /** Viewers that received media during the window. */
  receiving: number;
  joinFailures: number;
  joinErrors: string[];
  /** POST -> first packet of the viewers added in this step. */
  joinMs?: Stats;
  /** Lost (sequence gaps) / expected over all viewers in the window. */
  loss: number;
  worstViewerLoss: number;
  viewersWithLoss: number;
  /** Received video bit rate per viewer (mean), kbit/s. */
  videoKbpsPerViewer: number;
  sfuWorkers?: CpuSummary;
  sfuWorkerCoresEach: number[];
  /** sfuWorkers.cores / viewers, in thousandths of a core. */
  sfuMilliCoresPerViewer?: number;
  /** The bench's Node process: livecue's Node side (HTTP, signalling, RTMP) + the bench. */
  benchNode?: CpuSummary;
  /** The viewer child processes together. */
  viewerProcesses?: CpuSummary;
  /** livecue's FFmpegs for this show (HLS transcoder, RTMP -> SFU bridge) and the bench's encoder. */
  ffmpegs?: CpuSummary;
  machine?: CpuSummary;
  /** Loss per viewer process (a difference points at the viewers, not the SFU). */
  lossPerViewerProcess: number[];
  /** Where packets went missing: the SFU's own counts (producers in, consumers out) over the window... */
  sfu?: SfuCounters;
  /** ...and the kernel's UDP counters (machine-wide), e.g. datagrams dropped at full receive buffers. */
  udp?: UdpCounters;
}

export interface CapacityResult {
  source: string;
  swarms: number;
  stepSeconds: number;
  baseline: { sfuWorkers?: CpuSummary; machine?: CpuSummary };
  steps: CapacityStep[];
  /** Highest step with loss < LOSS_LIMIT and every viewer joined (0: none). */
  capacity: number;
  stoppedBecause?: string;
}

/** Sum of the CPU seconds of several processes; the key changes with the set of pids. */
function sumCpu(pids: () => (number | undefined)[]): () => CpuReading | undefined {
  return () => {
    const live = pids().filter((pid): pid is number => pid !== undefined);
    const seconds = live.map((pid) => cpuSeconds(pid)).filter((s): s is number => s !== undefined);
    return live.length === 0 ? undefined : { key: live.join(','), seconds: seconds.reduce((a, b) => a + b, 0) };
  };
}

function windowLoss(before: ViewerCounts[], after: ViewerCounts[], seconds: number) {
  const total = { expected: 0, lost: 0, worst: 0, withLoss: 0, receiving: 0, videoBytes: 0 };
  after.forEach((end, i) => {
    const start = before[i] ?? { expected: 0, received: 0, bytes: 0, videoBytes: 0 };
    const e = end.expected - start.expected;
    const r = end.received - start.received;
    if (r > 0) total.receiving++;
    // A viewer that received nothing in the window lost everything it should have had: count one second's worth at least.
    const l = r === 0 ? Math.max(e, 1) : Math.max(0, e - r);
    total.expected += Math.max(e, l);
    total.lost += l;
    if (l > 0) total.withLoss++;
    total.worst = Math.max(total.worst, l / Math.max(e, l, 1));
    total.videoBytes += end.videoBytes - start.videoBytes;
  });
  const { expected, lost, worst, withLoss, receiving, videoBytes } = total;
  return {
    loss: expected > 0 ? lost / expected : 1,
    worst,
    withLoss,
    receiving,
    videoKbps: after.length ? (videoBytes * 8) / 1000 / seconds / after.length : 0,
  };
}

export async function measureCapacity(
  ctx: BenchContext,
  show: Show,
  steps: number[],
  options: { swarms: number; stepSeconds: number; source: string },
): Promise<CapacityResult> {
  const { node } = ctx;
  const swarms = Array.from({ length: options.swarms }, () => new ViewerSwarm());
  const session = () => node.registry.get(show.stream.id);
  const workerPids = () => node.sfu!.workers.map((worker) => worker.pid);
  const meters = () => ({
    sfuWorkers: new CpuMeter(sumCpu(workerPids)),
    each: node.sfu!.workers.map((worker) => new CpuMeter(() => processCpu(worker.pid))),
    benchNode: new CpuMeter(() => processCpu(process.pid)),
    viewerProcesses: new CpuMeter(sumCpu(() => swarms.map((swarm) => swarm.pid))),
    ffmpegs: new CpuMeter(sumCpu(() => [session()?.transcoder.pid, session()?.rtmpBridge?.pid, show.camera?.pid])),
    machine: new CpuMeter(machineCpu),
  });
  const sampleFor = async (set: ReturnType<typeof meters>, seconds: number) => {
    const all = [set.sfuWorkers, ...set.each, set.benchNode, set.viewerProcesses, set.ffmpegs, set.machine];
    const start = performance.now();
    for (let i = 0; i <= seconds; i++) {
      const now = performance.now();
      for (const meter of all) meter.sample(now);
      if (i < seconds) await sleep(Math.max(0, start + (i + 1) * 1000 - performance.now()));
    }
  };
  const counts = () => Promise.all(swarms.map((swarm) => swarm.counts()));
  const watch = new SfuWatch(node.sfu!.workers);
  const sfuCounters = () => watch.counters([session()?.room.producer('video'), session()?.room.producer('audio')]);

  const result: CapacityResult = { source: options.source, swarms: options.swarms, stepSeconds: options.stepSeconds, baseline: {}, steps: [], capacity: 0 };
  try {
    const baseline = meters();
    await sampleFor(baseline, 3);
    result.baseline = { sfuWorkers: baseline.sfuWorkers.summary(), machine: baseline.machine.summary() };
    // The first viewer joins alone: livecue pipes the show to a viewer router when its first viewer arrives, and
    // viewers joining concurrently before that pipe exists each build their own (a race in SfuRoom#producerOn).
    const first = await swarms[0]!.add(1, show.stream.playback.whepUrl, ctx.target.baseUrl, 1);
    if (first.failed) throw new Error(`the first viewer could not join: ${first.errors.join('; ')}`);
    let current = 1;
    for (const target of steps) {
      const adding = target - current;
      const share = swarms.map((_, i) => Math.floor(adding / swarms.length) + (i < adding % swarms.length ? 1 : 0));
      const added = await Promise.all(
        swarms.map((swarm, i) => (share[i]! > 0 ? swarm.add(share[i]!, show.stream.playback.whepUrl, ctx.target.baseUrl) : undefined)),
      );
      current = target;
      const joinFailures = added.reduce((sum, reply) => sum + (reply?.failed ?? 0), 0);
      await sleep(SETTLE_MS);
      const sfuBefore = await sfuCounters();
      const sfuFrom = performance.now();
      const set = meters();
      const udpBefore = udpCounters();
      const before = await counts();
      await sampleFor(set, options.stepSeconds);
      const after = await counts();
      const udpAfter = udpCounters();
      const sfuAfter = await sfuCounters();
      const sfuSeconds = (performance.now() - sfuFrom) / 1000;
      const window = windowLoss(before.flat(), after.flat(), options.stepSeconds);
      const sfuWorkers = set.sfuWorkers.summary();
      const step: CapacityStep = {
        viewers: target,
        receiving: window.receiving,
        joinFailures,
        joinErrors: added.flatMap((reply) => reply?.errors ?? []).slice(0, 5),
        joinMs: stats(added.flatMap((reply) => reply?.setupMs ?? [])),
        loss: window.loss,
        worstViewerLoss: window.worst,
        viewersWithLoss: window.withLoss,
        videoKbpsPerViewer: window.videoKbps,
        sfuWorkers,
        sfuWorkerCoresEach: set.each.map((meter) => meter.summary()?.cores ?? 0),
        sfuMilliCoresPerViewer: sfuWorkers && window.receiving ? (sfuWorkers.cores * 1000) / window.receiving : undefined,
        benchNode: set.benchNode.summary(),
        viewerProcesses: set.viewerProcesses.summary(),
        ffmpegs: set.ffmpegs.summary(),
        machine: set.machine.summary(),
        lossPerViewerProcess: after.map((counts, i) => windowLoss(before[i]!, counts, options.stepSeconds).loss),
        sfu: sfuDelta(sfuBefore, sfuAfter, sfuSeconds),
        udp: udpDelta(udpBefore, udpAfter),
      };
      result.steps.push(step);
      if (step.loss < LOSS_LIMIT && joinFailures === 0) result.capacity = Math.max(result.capacity, target);
      console.log(
        `  ${target} viewers: ${window.receiving} receiving, ${joinFailures} failed to join, loss ${(step.loss * 100).toFixed(2)}%, ` +
          `sfu workers ${sfuWorkers?.cores.toFixed(2) ?? '?'} cores, machine ${step.machine?.cores.toFixed(2) ?? '?'} busy; ` +
          `sfu in ${step.sfu?.producerPackets} (lost ${step.sfu?.producerLost}) piped ${step.sfu?.pipedPackets} (lost ${step.sfu?.pipedLost}, ${step.sfu?.pipedProducers} piped producers); udp rcvbuf drops ${step.udp?.rcvbufErrors}`,
      );
      if (step.loss >= GIVE_UP_LOSS || joinFailures > target * 0.1) {
        result.stoppedBecause = `at ${target} viewers: loss ${(step.loss * 100).toFixed(1)}%, ${joinFailures} failed joins`;
        break;
      }
    }
  } finally {
    await Promise.all(swarms.map((swarm) => swarm.close()));
  }
  return result;
}

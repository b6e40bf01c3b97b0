// Benchmark of commerce cues: how close to their frame cues fire on the HLS and WebRTC paths, and how fast they reach 1,000 WebSocket (and some data-channel) viewers.
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Livecue } from '../src/app.ts';
import { BenchNode, envList, envNumber as env, sourceFromEnv, tunedFromEnv, waitForProducer } from './lib/bench-node.ts';
import { BenchRecord } from './lib/bench-record.ts';
import { CueScheduler, parseCueMessage, type CueMessage } from '../web/src/player/cue-scheduler.ts';
import { CpuMeter, machineCpu, processCpu, type CpuSummary } from './lib/cpu.ts';
import { CueListeners } from './lib/cue-listeners-client.ts';
import type { CollectResult } from './lib/cue-listeners.ts';
import { H264StampViewer } from './lib/h264-viewer.ts';
import { HlsCuePlayer } from './lib/hls-cue-player.ts';
import { IngestTap, type VideoArrival } from './lib/ingest-tap.ts';
import { createStream, deleteSession, postSdp, type AdminApi, type BenchStream } from './lib/livecue-api.ts';
import { StampedCamera } from './lib/stamped-camera.ts';
import { fmt, fmtStats, stats, verdict, type Stats } from './lib/stats.ts';
import { printTextTable } from './lib/text-table.ts';

const SOURCE = sourceFromEnv();
const { width: WIDTH, height: HEIGHT, fps: FPS } = SOURCE;
const CUES = env('BENCH_CUES', 20);
const CUE_INTERVAL_MS = env('BENCH_CUE_INTERVAL_MS', 1500);
const WS_CLIENTS = env('BENCH_WS_CLIENTS', 1000);
const WS_PROCESSES = env('BENCH_WS_PROCESSES', 2);
const DC_VIEWERS = env('BENCH_DC_VIEWERS', 50);
const RATE = env('BENCH_CUE_RATE', 50);
const RATE_SECONDS = env('BENCH_RATE_SECONDS', 20);
/** Which parts run: accuracy (HLS + WebRTC), ws, dc. */
const PARTS = new Set(envList('BENCH_PARTS', 'accuracy,ws,dc'));
/** Rendition the simulated HLS player follows: low (default, cheapest to decode) or top. */
const HLS_RENDITION = process.env.BENCH_HLS_RENDITION ?? 'low';
/** Options of livecue the bench lets the environment change; everything else stays on the embedded defaults. */
const TUNABLE = ['SEGMENT_SECONDS', 'LIVE_WINDOW_SEGMENTS', 'LADDER', 'X264_PRESET', 'PASSTHROUGH', 'CUE_RATE_PER_SECOND'] as const;
/** Far above the bench's 50/s so the limiter's token bucket never answers 429 to a late-timer burst. */
const BENCH_CUE_RATE_LIMIT = 1000;

const TARGETS = { accuracyMs: 50, deliveryP99Ms: 100, lost: 0 };

// ---------------------------------------------------------------------------------------------
// The show, and what the server saw arrive

interface ShowContext {
  node: Livecue;
  target: AdminApi;
  stream: BenchStream;
  camera: StampedCamera;
  tap: IngestTap;
}

/** The camera frame index of each video tag that reached the ingest: from its FLV timestamp, relative to the first one. */
function indexedArrivals(arrivals: VideoArrival[], fps: number): { index: number; at: number }[] {
  const first = arrivals[0];
  if (!first) return [];
  return arrivals.map((arrival) => ({ index: Math.round(((arrival.dts - first.dts) * fps) / 1000), at: arrival.at }));
}

interface Ingest {
  arrivals: { index: number; at: number; stamp: number; delayMs: number }[];
  /** Arrivals whose FLV-timestamp index differs from their arrival order (frames the encoder dropped or duplicated). */
  indexMismatches: number;
}

function ingestOf(show: ShowContext): Ingest {
  const raw = show.tap.arrivals.get(show.stream.ingest.streamKey) ?? [];
  const indexed = indexedArrivals(raw, FPS);
  const arrivals = indexed.flatMap(({ index, at }) => {
    const stamp = show.camera.stamps[index];
    return stamp === undefined ? [] : [{ index, at, stamp, delayMs: at - stamp }];
  });
  return { arrivals, indexMismatches: indexed.filter((a, i) => a.index !== i).length };
}

/** The first video tag livecue received after the cue's wall clock. */
function nextArrival(ingest: Ingest, wallClock: number) {
  return ingest.arrivals.find((arrival) => arrival.at > wallClock);
}

/** The frame that was arriving at the server when the cue was placed: the last video tag received at or before its wall clock. */
function meantFor(ingest: Ingest, wallClock: number) {
  let found: Ingest['arrivals'][number] | undefined;
  for (const arrival of ingest.arrivals) {
    if (arrival.at > wallClock) break;
    found = arrival;
  }
  return found;
}

const median = (values: number[]) => stats(values)?.p50;

function outcomeOf(cue: CueMessage, ingest: Ingest): CueOutcome {
  const wallClock = Date.parse(cue.wallClock);
  const meant = meantFor(ingest, wallClock);
  return {
    seq: cue.seq,
    wallClock,
    meantForStamp: meant?.stamp,
    meantForIndex: meant?.index,
    meantForIngestDelayMs: meant?.delayMs,
    placedAfterArrivalMs: meant ? wallClock - meant.at : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Parts 1 and 2: accuracy

interface PlacedCue {
  cue: CueMessage;
  postStartedAt: number;
  postMs: number;
}

interface CueOutcome {
  seq: number;
  wallClock: number;
  /** Capture time and index of the frame arriving at the server when the cue was placed. */
  meantForStamp?: number;
  meantForIndex?: number;
  meantForIngestDelayMs?: number;
  /** Cue wall clock - arrival of the meant-for frame: how long the server had been without a newer frame. */
  placedAfterArrivalMs?: number;
  /** Capture time of the frame at which the player's CueScheduler fired the cue. */
  shownStamp?: number;
  /** shown - meant (ms): negative = the cue showed with an earlier frame. */
  errorMs?: number;
  /** shown - capture time of the next frame to reach livecue after the cue was placed (the other reading of "the frame arriving"). */
  errorVsNextFrameMs?: number;
  note?: string;
}

interface PathResult {
  method: string;
  cues: CueOutcome[];
  absErrorMs?: Stats;
  signedErrorMs?: { mean: number; min: number; max: number };
  /** |shown - next frame to arrive after placement|: the same cues against the other reading of "meant for". */
  absErrorVsNextFrameMs?: Stats;
  withinTargetVsNextFrame: number;
  withinTarget: number;
  measured: number;
  error?: string;
}

function summarize<E extends object>(method: string, cues: CueOutcome[], extra: E): PathResult & E {
  const errors = cues.flatMap((c) => (c.errorMs === undefined ? [] : [c.errorMs]));
  return {
    method,
    ...extra,
    measured: errors.length,
    withinTarget: errors.filter((e) => Math.abs(e) <= TARGETS.accuracyMs).length,
    absErrorMs: stats(errors.map(Math.abs)),
    absErrorVsNextFrameMs: stats(cues.flatMap((c) => (c.errorVsNextFrameMs === undefined ? [] : [Math.abs(c.errorVsNextFrameMs)]))),
    withinTargetVsNextFrame: cues.filter((c) => c.errorVsNextFrameMs !== undefined && Math.abs(c.errorVsNextFrameMs) <= TARGETS.accuracyMs).length,
    signedErrorMs: errors.length ? { mean: errors.reduce((a, b) => a + b, 0) / errors.length, min: Math.min(...errors), max: Math.max(...errors) } : undefined,
    cues,
  };
}

/** Runs the player's scheduler over frames in the order they are shown; `position` gives each frame's place on the cue's timeline, `known` the cues it had by then. */
function fireFrames<F>(frames: F[], position: (frame: F) => number, known: (frame: F) => CueMessage[]): Map<string, F> {
  let current = Number.NaN;
  const scheduler = new CueScheduler({ kind: 'wallClock', now: () => current });
  const fired = new Map<string, F>();
  for (const frame of frames) {
    scheduler.addAll(known(frame));
    current = position(frame);
    for (const cue of scheduler.tick()) fired.set(cue.id, frame);
  }
  return fired;
}

function hlsOutcome(placed: PlacedCue[], ingest: Ingest, player: HlsCuePlayer) {
  const frames = [...player.frames].sort((a, b) => a.segment - b.segment || a.position - b.position);
  const firstPosition = frames[0]?.position ?? Infinity;
  // The player plays behind the live edge, so it knows every DATERANGE listed before the segment it plays; checked below.
  const listed = [...player.cues.values()].map((l) => l.cue);
  const fired = fireFrames(
    frames,
    (f) => f.position,
    () => listed,
  );
  const segmentOf = new Map(player.segments.map((s) => [s.sequence, s]));
  let listedBeforeSegment = 0;
  let startDateMatches = 0;
  const cues: CueOutcome[] = placed.map(({ cue }) => {
    const wallClock = Date.parse(cue.wallClock);
    const meant = meantFor(ingest, wallClock);
    const outcome = outcomeOf(cue, ingest);
    const listing = player.cues.get(cue.id);
    if (listing?.startDate === cue.wallClock) startDateMatches++;
    if (!listing) return { ...outcome, note: 'never listed in the playlist' };
    if (wallClock <= firstPosition) return { ...outcome, note: 'before the player joined' };
    const frame = fired.get(cue.id);
    if (!frame) return { ...outcome, note: 'not fired (its frames were not decoded)' };
    const segment = segmentOf.get(frame.segment);
    if (segment && listing.listedAt <= segment.listedAt) listedBeforeSegment++;
    if (frame.stamp === undefined) return { ...outcome, note: 'fired on a frame whose stamp is unreadable' };
    const next = nextArrival(ingest, wallClock);
    return {
      ...outcome,
      shownStamp: frame.stamp,
      errorMs: meant ? frame.stamp - meant.stamp : undefined,
      errorVsNextFrameMs: next ? frame.stamp - next.stamp : undefined,
    };
  });
  // Where the PDT timeline puts frames relative to their capture, against when they reached the server.
  const offsets = frames.flatMap((f) => (f.stamp === undefined ? [] : [f.position - f.stamp]));
  const decoded = player.segments.filter((s) => s.firstPts !== undefined);
  const ptsContinuity = decoded.slice(1).map((s, i) => {
    const previous = decoded[i]!;
    return s.sequence === previous.sequence + 1 ? Math.abs((s.firstPts! - previous.firstPts!) * 1000 - previous.duration * 1000) : 0;
  });
  return summarize(
    'simulated HLS player: playlist every 100 ms, every new segment decoded (ffmpeg -copyts, showinfo PTS), frame position = PDT + (pts - segment first pts); CueScheduler(wallClock) ticked per frame',
    cues,
    {
      rendition: player.playlistUrl.split('/').at(-2),
      cuesListedBeforeTheirSegment: listedBeforeSegment,
      startDateEqualsWallClock: startDateMatches,
      pdtMinusCaptureMs: stats(offsets),
      segments: player.segments.length,
      segmentErrors: player.segments.filter((s) => s.error).map((s) => s.error),
      segmentsNotStartingWithKeyframe: decoded.filter((s) => !s.firstIsKey).length,
      framesDecoded: frames.length,
      framesUnreadable: frames.filter((f) => f.stamp === undefined).length,
      ptsVsExtinfMaxMs: ptsContinuity.length ? Math.max(...ptsContinuity) : undefined,
    },
  );
}

interface WebRtcCapture {
  viewer: H264StampViewer;
  messages: { text: string; at: number }[];
  location?: string;
}

function webRtcOutcome(placed: PlacedCue[], ingest: Ingest, capture: WebRtcCapture, ingestOffsetMs: number) {
  const frames = capture.viewer.frames.filter((f) => f.stamp !== undefined);
  const received = capture.messages.flatMap((m) => {
    const cue = parseCueMessage(
      (() => {
        try {
          return JSON.parse(m.text);
        } catch {
          return undefined;
        }
      })(),
    );
    return cue ? [{ cue, at: m.at }] : [];
  });
  const receivedAt = new Map(received.map((r) => [r.cue.id, r.at]));
  // Shown in decode order; a cue counts from the moment it came off the data channel.
  const fired = fireFrames(
    frames,
    (f) => f.stamp! + ingestOffsetMs,
    (f) => received.filter((r) => r.at <= f.at).map((r) => r.cue),
  );
  const shownAt = new Map(frames.map((f) => [f.stamp!, f.at]));
  const leads: number[] = [];
  const cues: CueOutcome[] = placed.map(({ cue }) => {
    const wallClock = Date.parse(cue.wallClock);
    const meant = meantFor(ingest, wallClock);
    const outcome = outcomeOf(cue, ingest);
    const at = receivedAt.get(cue.id);
    if (at === undefined) return { ...outcome, note: 'never received on the data channel' };
    const meantShownAt = meant ? shownAt.get(meant.stamp) : undefined;
    if (meantShownAt !== undefined) leads.push(meantShownAt - at);
    const frame = fired.get(cue.id);
    if (!frame) return { ...outcome, note: 'not fired' };
    const next = nextArrival(ingest, wallClock);
    return {
      ...outcome,
      shownStamp: frame.stamp,
      errorMs: meant ? frame.stamp! - meant.stamp : undefined,
      errorVsNextFrameMs: next ? frame.stamp! - next.stamp : undefined,
    };
  });
  const glass = frames.map((f) => f.at - f.stamp!);
  return summarize(
    `werift WHEP viewer (H.264 decoded by ffmpeg) + data channel id 0; frame position = capture stamp + ingest offset (${ingestOffsetMs.toFixed(0)} ms, median arrival - capture before the first cue); CueScheduler(wallClock) ticked per decoded frame with the cues received by then`,
    cues,
    {
      ingestOffsetMs,
      /** Time the meant-for frame was shown at the viewer - time its cue came off the data channel (> 0: the cue was there first). */
      cueLeadOverFrameMs: stats(leads),
      cueLeadMinMs: leads.length ? Math.min(...leads) : undefined,
      cuesBeforeTheirFrame: leads.filter((l) => l >= 0).length,
      cuesReceived: receivedAt.size,
      glassToGlassMs: stats(glass),
      framesDecoded: capture.viewer.frames.length,
      framesUnreadable: capture.viewer.frames.length - frames.length,
    },
  );
}

async function postCue(show: ShowContext, text: string): Promise<{ status: number; cue?: CueMessage; startedAt: number; ms: number }> {
  const startedAt = Date.now();
  const started = performance.now();
  try {
    const response = await fetch(`${show.target.baseUrl}/v1/streams/${show.stream.id}/cues`, {
      method: 'POST',
      headers: { authorization: `Bearer ${show.target.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'announcement', text }),
    });
    const body = response.status === 201 ? ((await response.json()) as CueMessage) : (await response.body?.cancel(), undefined);
    return { status: response.status, cue: body, startedAt, ms: performance.now() - started };
  } catch {
    return { status: 0, startedAt, ms: performance.now() - started };
  }
}

async function waitPlayableVariants(masterUrl: string, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await fetch(masterUrl).catch(() => undefined);
    if (response?.ok) {
      const variants = (await response.text())
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'));
      if (variants.length) return variants;
    } else await response?.body?.cancel();
    await sleep(100);
  }
  throw new Error(`no master playlist after ${timeoutMs} ms`);
}

async function measureAccuracy(show: ShowContext) {
  const masterUrl = show.stream.playback.hlsUrl;
  const variants = await waitPlayableVariants(masterUrl, 30_000);
  const variant = HLS_RENDITION === 'top' ? variants[0]! : variants[variants.length - 1]!;
  const player = new HlsCuePlayer(new URL(variant, masterUrl).href);

  const viewer = new H264StampViewer(WIDTH, HEIGHT);
  const capture: WebRtcCapture = { viewer, messages: [] };
  const channel = viewer.pc.createDataChannel('livecue-cues', { negotiated: true, id: 0, ordered: true });
  channel.onMessage.subscribe((data: string | Buffer) => capture.messages.push({ text: data.toString(), at: Date.now() }));
  let webRtcError: string | undefined;
  try {
    const { location, answer } = await postSdp(show.stream.playback.whepUrl, await viewer.offer());
    capture.location = location;
    await viewer.accept(answer);
    if ((await viewer.firstFrame(10_000)) === undefined) throw new Error(`no decoded frame within 10 s (${viewer.videoPackets} video packets)`);
  } catch (error) {
    webRtcError = (error as Error).message;
  }

  // Let the player follow a couple of segments and the ingest settle before the first cue.
  await sleep(4000);
  const before = ingestOf(show).arrivals.filter((a) => a.at >= Date.now() - 3000);
  const ingestOffsetMs = median(before.map((a) => a.delayMs)) ?? 0;

  const placed: PlacedCue[] = [];
  const refused: number[] = [];
  for (let i = 0; i < CUES; i++) {
    // A random part of a frame interval on top, so cues land at every phase of the frame clock.
    await sleep(CUE_INTERVAL_MS + Math.random() * (1000 / FPS));
    const posted = await postCue(show, `accuracy ${i + 1}`);
    if (posted.cue) placed.push({ cue: posted.cue, postStartedAt: posted.startedAt, postMs: posted.ms });
    else refused.push(posted.status);
  }
  // The last cue's segment must be listed, fetched and decoded.
  const segmentSeconds = show.node.config.SEGMENT_SECONDS;
  await sleep((2 * segmentSeconds + 1) * 1000);
  await deleteSession(show.target.baseUrl, capture.location);
  await viewer.close().catch(() => {});
  await player.stop();

  const ingest = ingestOf(show);
  const delays = ingest.arrivals.map((a) => a.delayMs);
  return {
    cuesPlaced: placed.length,
    cuesRefused: refused,
    postMs: stats(placed.map((p) => p.postMs)),
    ingest: {
      framesArrived: ingest.arrivals.length,
      indexMismatches: ingest.indexMismatches,
      /** Arrival at livecue's RTMP ingest - capture stamp, over the whole run (the camera's own encoder is most of it). */
      delayMs: stats(delays),
      firstFrameDelayMs: ingest.arrivals[0]?.delayMs,
      /** Time between successive video tags reaching livecue (the camera's FLV muxer interleaves video with 21.3 ms AAC frames). */
      interArrivalMs: stats(ingest.arrivals.slice(1).map((a, i) => a.at - ingest.arrivals[i]!.at)),
      /** Per accuracy cue: its wall clock - arrival of the newest frame livecue had then. */
      placedAfterArrivalMs: stats(
        placed.flatMap((p) => {
          const meant = meantFor(ingest, Date.parse(p.cue.wallClock));
          return meant ? [Date.parse(p.cue.wallClock) - meant.at] : [];
        }),
      ),
      timelineStartMinusFirstArrivalMs: (() => {
        const span = show.node.registry.get(show.stream.id)?.timeline.spans[0];
        const first = ingest.arrivals[0];
        return span && first ? span.wallClockStart - first.at : undefined;
      })(),
    },
    hls: hlsOutcome(placed, ingest, player),
    webrtc: webRtcError ? { error: webRtcError } : webRtcOutcome(placed, ingest, capture, ingestOffsetMs),
  };
}

// ---------------------------------------------------------------------------------------------
// Part 3: delivery

interface DeliveryResult {
  kind: 'websocket' | 'datachannel';
  clients: number;
  processes: number;
  connected: number;
  failedToConnect: number;
  setupErrors: string[];
  cuesPosted: number;
  cuesCreated: number;
  refused: Record<string, number>;
  rate: number;
  seconds: number;
  /** Receipt in a client - start of the POST, over every (cue, client). */
  latencyMs?: Stats & { p99: number };
  lost: number;
  duplicates: number;
  clientsClosed: number;
  postMs?: Stats;
  /** How late the posting loop started POSTs against their schedule. */
  postScheduleLagMs?: Stats;
  livecueEventLoopP99Ms: number;
  listenerEventLoopP99Ms: number[];
  cpu: { livecueNode?: CpuSummary; listeners?: CpuSummary[]; machine?: CpuSummary };
  loadavgStart?: number[];
  loadavgEnd?: number[];
  error?: string;
}

function withP99(values: number[]): (Stats & { p99: number }) | undefined {
  const s = stats(values);
  if (!s) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return { ...s, p99: sorted[Math.max(0, Math.ceil(0.99 * sorted.length) - 1)]! };
}

async function measureDelivery(show: ShowContext, kind: DeliveryResult['kind'], clients: number, processes: number): Promise<DeliveryResult> {
  const listeners = Array.from({ length: processes }, () => new CueListeners());
  const result: DeliveryResult = {
    kind,
    clients,
    processes,
    connected: 0,
    failedToConnect: 0,
    setupErrors: [],
    cuesPosted: 0,
    cuesCreated: 0,
    refused: {},
    rate: RATE,
    seconds: RATE_SECONDS,
    lost: 0,
    duplicates: 0,
    clientsClosed: 0,
    livecueEventLoopP99Ms: 0,
    listenerEventLoopP99Ms: [],
    cpu: {},
  };
  try {
    const wsUrl = `ws://127.0.0.1:${show.node.httpPort}/live/${show.stream.playbackId}/events`;
    const ready = await Promise.all(
      listeners.map((listener, i) => {
        const count = Math.floor(clients / processes) + (i < clients % processes ? 1 : 0);
        return kind === 'websocket' ? listener.sockets(count, wsUrl) : listener.viewers(count, show.stream.playback.whepUrl, show.target.baseUrl);
      }),
    );
    result.connected = ready.reduce((sum, r) => sum + r.connected, 0);
    result.failedToConnect = ready.reduce((sum, r) => sum + r.failed, 0);
    result.setupErrors = ready.flatMap((r) => r.errors).slice(0, 5);
    await sleep(2000);
    await Promise.all(listeners.map((l) => l.reset()));

    const meters = {
      livecueNode: new CpuMeter(() => processCpu(process.pid)),
      listeners: listeners.map((l) => new CpuMeter(() => processCpu(l.pid))),
      machine: new CpuMeter(machineCpu),
    };
    const all = [meters.livecueNode, ...meters.listeners, meters.machine];
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    for (const meter of all) meter.sample();
    const sampling = setInterval(() => all.forEach((m) => m.sample()), 1000);

    result.loadavgStart = os.loadavg();
    const total = RATE * RATE_SECONDS;
    const start = performance.now() + 50;
    const posts: Promise<{ status: number; cue?: CueMessage; startedAt: number; ms: number }>[] = [];
    const lags: number[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      lags.push(performance.now() - due);
      posts.push(postCue(show, `flash ${kind} ${i + 1}`));
    }
    const outcomes = await Promise.all(posts);
    await sleep(2000);
    clearInterval(sampling);
    all.forEach((m) => m.sample());
    loop.disable();
    result.loadavgEnd = os.loadavg();

    const postedAt: Record<number, number> = {};
    for (const outcome of outcomes) {
      if (outcome.cue) postedAt[outcome.cue.seq] = outcome.startedAt;
      else result.refused[String(outcome.status)] = (result.refused[String(outcome.status)] ?? 0) + 1;
    }
    const collected: CollectResult[] = await Promise.all(listeners.map((l) => l.collect(postedAt)));
    const latencies = collected.flatMap((c) => c.latencies);
    Object.assign(result, {
      cuesPosted: total,
      cuesCreated: Object.keys(postedAt).length,
      latencyMs: withP99(latencies),
      lost: collected.reduce((sum, c) => sum + c.lost, 0),
      duplicates: collected.reduce((sum, c) => sum + c.duplicates, 0),
      clientsClosed: collected.reduce((sum, c) => sum + c.closed, 0),
      postMs: stats(outcomes.map((o) => o.ms)),
      postScheduleLagMs: stats(lags),
      livecueEventLoopP99Ms: loop.percentile(99) / 1e6,
      listenerEventLoopP99Ms: collected.map((c) => c.eventLoopDelayP99Ms),
      cpu: { livecueNode: meters.livecueNode.summary(), listeners: meters.listeners.map((m) => m.summary()!), machine: meters.machine.summary() },
    });
  } catch (error) {
    result.error = (error as Error).message;
  } finally {
    await Promise.all(listeners.map((l) => l.close()));
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Report

type Accuracy = Awaited<ReturnType<typeof measureAccuracy>>;

function verdicts(accuracy: Accuracy | undefined, ws: DeliveryResult | undefined, dc: DeliveryResult | undefined) {
  const accurate = (path: { absErrorMs?: Stats; measured?: number; error?: string } | undefined) =>
    path ? !path.error && path.absErrorMs !== undefined && path.absErrorMs.max <= TARGETS.accuracyMs && path.measured === accuracy?.cuesPlaced : undefined;
  const delivered = (d: DeliveryResult | undefined) =>
    d ? !d.error && d.latencyMs !== undefined && d.latencyMs.p99 < TARGETS.deliveryP99Ms && d.lost === TARGETS.lost && d.failedToConnect === 0 : undefined;
  return { hls: accurate(accuracy?.hls), webrtc: accurate(accuracy?.webrtc), websocket: delivered(ws), datachannel: delivered(dc) };
}

function printTable(accuracy: Accuracy | undefined, ws: DeliveryResult | undefined, dc: DeliveryResult | undefined): void {
  const v = verdicts(accuracy, ws, dc);
  const acc = (path: PathResult | { error: string } | undefined) => {
    if (!path) return 'skipped';
    if ('error' in path && path.error) return path.error;
    const p = path as PathResult;
    return `${fmt(p.absErrorMs?.p50)} / ${fmt(p.absErrorMs?.p95)} / ${fmt(p.absErrorMs?.max)}  (${p.withinTarget}/${p.measured} within, signed ${fmt(p.signedErrorMs?.min)}..${fmt(p.signedErrorMs?.max)})`;
  };
  const accNext = (path: PathResult | { error: string } | undefined) => {
    if (!path || ('error' in path && path.error)) return '—';
    const p = path as PathResult;
    return `${fmt(p.absErrorVsNextFrameMs?.p50)} / ${fmt(p.absErrorVsNextFrameMs?.p95)} / ${fmt(p.absErrorVsNextFrameMs?.max)}  (${p.withinTargetVsNextFrame}/${p.measured} within)`;
  };
  const hls = accuracy?.hls;
  const webrtc = accuracy && !('error' in accuracy.webrtc && accuracy.webrtc.error) ? (accuracy.webrtc as ReturnType<typeof webRtcOutcome>) : undefined;
  const delivery = (d: DeliveryResult | undefined) =>
    !d
      ? 'skipped'
      : d.error
        ? d.error
        : `${fmt(d.latencyMs?.p50)} / ${fmt(d.latencyMs?.p95)} / ${fmt(d.latencyMs?.p99)} / ${fmt(d.latencyMs?.max)};  lost ${d.lost}`;
  const deliveryInfo = (d: DeliveryResult | undefined) =>
    !d || d.error
      ? '—'
      : `${d.connected}/${d.clients} connected in ${d.processes} proc; ${d.cuesCreated}/${d.cuesPosted} cues created${Object.keys(d.refused).length ? ` (refused ${JSON.stringify(d.refused)})` : ''}; POST p50/p95 ${fmt(d.postMs?.p50)}/${fmt(d.postMs?.p95)} ms; livecue loop p99 ${fmt(d.livecueEventLoopP99Ms)} ms; node ${fmt(d.cpu.livecueNode?.cores, 2)} cores, machine ${fmt(d.cpu.machine?.cores, 2)}/${os.cpus().length}, load ${d.loadavgStart?.[0]?.toFixed(1)}->${d.loadavgEnd?.[0]?.toFixed(1)}`;
  const rows: string[][] = [
    ['', 'measured', 'verdict', 'target'],
    ['HLS cue |shown - meant| p50 / p95 / max (ms)', acc(hls), verdict(v.hls), `every cue <= ${TARGETS.accuracyMs}`],
    [
      '  ingest: capture -> livecue p50 / p95 (ms)',
      accuracy
        ? `${fmt(accuracy.ingest.delayMs?.p50)} / ${fmt(accuracy.ingest.delayMs?.p95)}; frame gaps p50/p95/max ${fmtStats(accuracy.ingest.interArrivalMs)}; cue placed after newest frame p50/max ${fmt(accuracy.ingest.placedAfterArrivalMs?.p50)}/${fmt(accuracy.ingest.placedAfterArrivalMs?.max)}`
        : '—',
      '',
      '',
    ],
    [
      '  HLS: PDT position - capture p50 (ms)',
      hls && accuracy
        ? `${fmt(hls.pdtMinusCaptureMs?.p50)} (= ingest delay + ${fmt((hls.pdtMinusCaptureMs?.p50 ?? NaN) - (accuracy.ingest.delayMs?.p50 ?? NaN))}; timeline start - 1st arrival ${fmt(accuracy.ingest.timelineStartMinusFirstArrivalMs)})`
        : '—',
      '',
      '',
    ],
    [
      '  HLS: cues listed before their segment',
      hls
        ? `${hls.cuesListedBeforeTheirSegment}/${hls.measured}; ${hls.framesDecoded} frames (${hls.framesUnreadable} unreadable), ${hls.segments} segs, pts vs EXTINF max ${fmt(hls.ptsVsExtinfMaxMs, 1)} ms`
        : '—',
      '',
      '',
    ],
    ['  HLS: vs the next frame to arrive instead', accNext(hls), '', 'information'],
    ['WebRTC cue |shown - meant| p50 / p95 / max (ms)', acc(accuracy?.webrtc), verdict(v.webrtc), `every cue <= ${TARGETS.accuracyMs}`],
    ['  WebRTC: vs the next frame to arrive instead', accNext(accuracy?.webrtc), '', 'information'],
    [
      '  WebRTC: cue before its frame; lead p50 / min (ms)',
      webrtc ? `${webrtc.cuesBeforeTheirFrame}/${webrtc.cuesReceived}; ${fmt(webrtc.cueLeadOverFrameMs?.p50)} / ${fmt(webrtc.cueLeadMinMs)}` : '—',
      '',
      '',
    ],
    ['  WebRTC: glass-to-glass p50 / p95 (ms)', webrtc ? `${fmt(webrtc.glassToGlassMs?.p50)} / ${fmt(webrtc.glassToGlassMs?.p95)}` : '—', '', ''],
    [
      `WebSocket x${ws?.clients ?? WS_CLIENTS}, ${RATE}/s: POST -> receipt p50/p95/p99/max (ms)`,
      delivery(ws),
      verdict(v.websocket),
      `p99 < ${TARGETS.deliveryP99Ms}, 0 lost`,
    ],
    ['  ', deliveryInfo(ws), '', ''],
    [
      `data channel x${dc?.clients ?? DC_VIEWERS}, ${RATE}/s: POST -> receipt p50/p95/p99/max (ms)`,
      delivery(dc),
      verdict(v.datachannel),
      `p99 < ${TARGETS.deliveryP99Ms}, 0 lost`,
    ],
    ['  ', deliveryInfo(dc), '', ''],
  ];
  printTextTable(rows);
}

async function main(): Promise<void> {
  const record = new BenchRecord('cues');
  const bench = await BenchNode.start({ tunable: TUNABLE, settings: { CUE_RATE_PER_SECOND: BENCH_CUE_RATE_LIMIT, WS_CONNECT_RATE_PER_SECOND: 100_000 } });
  const { node, config } = bench;
  const tap = new IngestTap(node);
  const target: AdminApi = { baseUrl: `http://127.0.0.1:${node.httpPort}`, adminToken: node.adminToken };
  record.announce(`RTMP ${WIDTH}x${HEIGHT}@${FPS}, ladder ${config.LADDER}, segments ${config.SEGMENT_SECONDS} s, cue limit ${config.CUE_RATE_PER_SECOND}/s`);

  let accuracy: Accuracy | undefined;
  let accuracyError: string | undefined;
  let ws: DeliveryResult | undefined;
  let dc: DeliveryResult | undefined;
  let camera: StampedCamera | undefined;
  let stream: BenchStream | undefined;
  const machine = new CpuMeter(machineCpu);
  machine.sample();
  try {
    stream = await createStream(target, 'bench cues');
    camera = new StampedCamera(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, SOURCE);
    await waitForProducer(node, stream.id, 20_000);
    const show: ShowContext = { node, target, stream, camera, tap };
    if (PARTS.has('accuracy')) {
      console.log(`accuracy: ${CUES} cues every ~${CUE_INTERVAL_MS} ms, watched by a simulated HLS player and a WHEP viewer ...`);
      try {
        accuracy = await measureAccuracy(show);
      } catch (error) {
        accuracyError = (error as Error).message;
        console.error(`accuracy: ${accuracyError}`);
      }
    }
    if (PARTS.has('ws') && WS_CLIENTS > 0) {
      console.log(`delivery: ${WS_CLIENTS} WebSocket clients in ${WS_PROCESSES} processes, ${RATE} cues/s for ${RATE_SECONDS} s ...`);
      ws = await measureDelivery(show, 'websocket', WS_CLIENTS, WS_PROCESSES);
    }
    if (PARTS.has('dc') && DC_VIEWERS > 0) {
      console.log(`delivery: ${DC_VIEWERS} data-channel viewers in 1 process, ${RATE} cues/s for ${RATE_SECONDS} s ...`);
      dc = await measureDelivery(show, 'datachannel', DC_VIEWERS, 1);
    }
  } finally {
    machine.sample();
    await camera?.close();
    await bench.close();
  }

  printTable(accuracy, ws, dc);
  record.write(
    {
      config: {
        ...SOURCE,
        cues: CUES,
        cueIntervalMs: CUE_INTERVAL_MS,
        hlsRendition: HLS_RENDITION,
        wsClients: WS_CLIENTS,
        wsProcesses: WS_PROCESSES,
        dcViewers: DC_VIEWERS,
        cueRate: RATE,
        rateSeconds: RATE_SECONDS,
        cueRateLimit: config.CUE_RATE_PER_SECOND,
        segmentSeconds: config.SEGMENT_SECONDS,
        ladder: config.LADDER,
        x264Preset: config.X264_PRESET,
        ...tunedFromEnv(TUNABLE),
      },
      targets: TARGETS,
      verdicts: verdicts(accuracy, ws, dc),
      accuracy: accuracy ?? (accuracyError ? { error: accuracyError } : undefined),
      websocket: ws,
      datachannel: dc,
    },
    { busyCoresWholeRun: machine.summary()?.cores },
  );
}

await main();
// werift's sockets and timers can outlive their peer connections: do not wait for them.
process.exit(0);

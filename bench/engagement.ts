// Benchmark of live engagement on one show watched by 5,000 WebSocket viewers: chat fan-out latency (a few viewers
// chatting at a realistic rate, every message timed at every viewer) and offer claims (flash sales of 1,000 units hit
// by 5,000 claims, arriving at a set rate and then as fast as livecue answers: latency, throughput, not one unit
// oversold), on PostgreSQL.
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { eq } from 'drizzle-orm';
import type { Livecue } from '../src/app.ts';
import { offerClaims } from '../src/db/schema.ts';
import { BenchNode, envNumber as env, envNumbers, tunedFromEnv, waitForProducer } from './lib/bench-node.ts';
import { BenchRecord } from './lib/bench-record.ts';
import { childrenCpu } from './lib/child-processes.ts';
import { CpuMeter, machineCpu, processCpu, type CpuSummary } from './lib/cpu.ts';
import type { ChatCollectResult, ChatSendResult, ChatSlot, ClaimOutcome, OfferCollectResult } from './lib/engagement-viewers.ts';
import { EngagementViewers } from './lib/engagement-viewers-client.ts';
import { IpcChild } from './lib/ipc-child.ts';
import type { ShopHits, ShopReply, ShopRequest } from './lib/shop-receiver.ts';
import { api, createStream, type AdminApi, type BenchStream } from './lib/livecue-api.ts';
import { fmt, verdict } from './lib/stats.ts';
import { createFreshDatabase } from '../tests/helpers/fresh-database.ts';
import { pushTestPattern, type TestPatternPush } from './lib/test-pattern-push.ts';
import { BENCH_LIVECUE_SECRET_KEY } from './lib/engagement-viewers.ts';
import { printTextTable } from './lib/text-table.ts';

const VIEWERS = env('BENCH_VIEWERS', 5000);
const PROCESSES = Math.max(1, env('BENCH_VIEWER_PROCESSES', 2));
const CHAT_RATE = env('BENCH_CHAT_RATE', 20);
const CHAT_SECONDS = env('BENCH_CHAT_SECONDS', 20);
/** Each sender chats every CHAT_SENDERS / CHAT_RATE s (2 s by default), well inside livecue's 1/s per viewer. */
const CHAT_SENDERS = env('BENCH_CHAT_SENDERS', 40);
const QUANTITY = env('BENCH_OFFER_QUANTITY', 1000);
const CLAIMS = env('BENCH_CLAIMS', 5000);
/** The rush: claims arriving at this rate whatever the answers (open loop); 0 skips it. */
const CLAIM_RATE = env('BENCH_CLAIM_RATE', 1000);
/**
 * The rush's connections: 100, as a reverse proxy keeps a pool of upstream connections; 5000 for one per viewer.
 * (Node accepts one connection per event-loop turn, so thousands of new connections queue in the kernel while
 * livecue is busy: see bench/README.md.)
 */
const CLAIM_CONNECTIONS = env('BENCH_CLAIM_CONNECTIONS', 100);
/**
 * Claims on an offer of their own before the measured ones, so the claim path runs warm (JIT, connections) as on a
 * node that has been selling; 0 measures the first claims of a fresh process (see bench/README.md).
 */
const CLAIM_WARMUP = env('BENCH_CLAIM_WARMUP', 1000);
/** The same rush sent by the viewers on their own sockets (`{"type":"claim"}`), at BENCH_CLAIM_RATE; 0 skips it. */
const SOCKET_CLAIMS = env('BENCH_SOCKET_CLAIMS', 1);
/**
 * Faster rushes over HTTP, one offer each, in order until one misses p99 < 50 ms or sells wrong: the highest rate that
 * met it is the claims throughput livecue sustains within the target. Empty skips them.
 */
const CLAIM_SWEEP = envNumbers('BENCH_CLAIM_SWEEP', '2000,3000,4000,6000');
/** A shop webhook endpoint (a receiver in the bench process) subscribed to offer.claimed / offer.sold_out, as a real shop would be; 0: none. */
const WEBHOOKS = env('BENCH_WEBHOOKS', 1);
/** Capacity: this many claims in flight, the next sent when one is answered (closed loop); 0 skips it. */
const CLAIM_CONCURRENCY = env('BENCH_CLAIM_CONCURRENCY', 200);
const SOURCE = process.env.BENCH_SOURCE_SIZE ?? '640x360';
/** PostgreSQL server the bench creates a fresh database on (livecue's DATABASE_URL); `none`: embedded PGlite. */
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** Options of livecue the bench lets the environment change; everything else stays on the embedded defaults. */
const TUNABLE = ['SEGMENT_SECONDS', 'LIVE_WINDOW_SEGMENTS', 'LADDER', 'X264_PRESET', 'PASSTHROUGH'] as const;
/** Every viewer, claim and chat message comes from 127.0.0.1: per-address limits would measure the limiter. */
const BENCH_RATE_LIMIT = 1_000_000;

const TARGETS = { chatP99Ms: 150, chatLost: 0, claimP99Ms: 50 };

// ---------------------------------------------------------------------------------------------
// Numbers

interface Dist {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles over a typed array (sorted in place). */
function dist(values: Float64Array): Dist | undefined {
  if (values.length === 0) return undefined;
  values.sort();
  const rank = (p: number) => values[Math.max(0, Math.ceil(p * values.length) - 1)]!;
  let sum = 0;
  for (const v of values) sum += v;
  return { count: values.length, mean: sum / values.length, p50: rank(0.5), p95: rank(0.95), p99: rank(0.99), max: values[values.length - 1]! };
}

const distOf = (values: number[]) => dist(Float64Array.from(values));
const fmtDist = (d: Dist | undefined, digits = 0) =>
  d ? `${fmt(d.p50, digits)} / ${fmt(d.p95, digits)} / ${fmt(d.p99, digits)} / ${fmt(d.max, digits)}` : '—';

/** CPU meters over one phase: livecue's process and children, the bench's children, the machine. */
class PhaseMeters {
  readonly meters: Record<string, CpuMeter>;
  readonly #loop = monitorEventLoopDelay({ resolution: 10 });
  #timer?: NodeJS.Timeout;
  loadavgStart = os.loadavg();
  loadavgEnd?: number[];

  constructor(source: TestPatternPush, viewers: EngagementViewers[], claimer: EngagementViewers) {
    const own = process.pid;
    this.meters = {
      livecueProcess: new CpuMeter(() => processCpu(own)),
      redis: new CpuMeter(childrenCpu(own, /^redis-server/)),
      // livecue's FFmpeg children (transcoder, SFU bridge); not the bench's source.
      livecueFfmpeg: new CpuMeter(childrenCpu(own, /^ffmpeg/, () => [source.pid])),
      mediasoupWorkers: new CpuMeter(childrenCpu(own, /^mediasoup/)),
      source: new CpuMeter(() => processCpu(source.pid)),
      viewerProcesses: new CpuMeter(() => {
        const readings = viewers.map((v) => processCpu(v.pid));
        return readings.every((r) => r) ? { key: 'viewers', seconds: readings.reduce((sum, r) => sum + r!.seconds, 0) } : undefined;
      }),
      claimProcess: new CpuMeter(() => processCpu(claimer.pid)),
      machine: new CpuMeter(machineCpu),
    };
  }

  start(): void {
    this.loadavgStart = os.loadavg();
    this.#loop.enable();
    for (const meter of Object.values(this.meters)) meter.sample();
    this.#timer = setInterval(() => Object.values(this.meters).forEach((m) => m.sample()), 1000);
  }

  stop() {
    clearInterval(this.#timer);
    Object.values(this.meters).forEach((m) => m.sample());
    this.#loop.disable();
    this.loadavgEnd = os.loadavg();
    const cpu: Record<string, CpuSummary | undefined> = {};
    for (const [name, meter] of Object.entries(this.meters)) cpu[name] = meter.summary();
    return {
      cpu,
      livecueEventLoopDelayP99Ms: this.#loop.percentile(99) / 1e6,
      livecueEventLoopDelayMaxMs: this.#loop.max / 1e6,
      loadavgStart: this.loadavgStart,
      loadavgEnd: this.loadavgEnd,
    };
  }
}

type PhaseLoad = ReturnType<PhaseMeters['stop']>;

// ---------------------------------------------------------------------------------------------
// Part 1: chat fan-out

interface ChatResult {
  viewers: number;
  senders: number;
  rate: number;
  seconds: number;
  messagesScheduled: number;
  messagesSent: number;
  /** Sent messages no viewer received (refused by livecue, e.g. rate-limited). */
  messagesRefused: number;
  skippedSends: number;
  senderErrors: Record<string, number>;
  /** Receipt in a viewer - Date.now() just before the sender's ws.send (in the text), over every (message, viewer). */
  latencyMs?: Dist;
  /** Per message, its first receipt at any viewer: livecue's handling, Redis pub/sub and the first writes. */
  firstReceiptMs?: Dist;
  /** Per message, last receipt - first receipt: the time the fan-out (and the viewers' processes) took to reach everyone. */
  spreadMs?: Dist;
  /** p50 / p99 of the messages sent in each second of the run: does delivery keep up or fall behind? */
  bySecond: { second: number; messages: number; p50: number; p99: number; max: number }[];
  deliveries: number;
  expectedDeliveries: number;
  lost: number;
  duplicates: number;
  foreignMessages: number;
  viewersClosed: number;
  closeCodes: Record<string, number>;
  sendLagMs?: Dist;
  viewerEventLoopP99Ms: number[];
  load: PhaseLoad;
}

/** Message i is due at start + i / rate and goes out from sender i mod senders; sender s lives in process s mod P as its (s div P)-th socket. */
function chatSchedule(start: number, processes: number): ChatSlot[][] {
  const total = Math.round(CHAT_RATE * CHAT_SECONDS);
  const slots: ChatSlot[][] = Array.from({ length: processes }, () => []);
  for (let index = 0; index < total; index++) {
    const sender = index % CHAT_SENDERS;
    slots[sender % processes]!.push({ index, dueAt: start + (index * 1000) / CHAT_RATE, sender: Math.floor(sender / processes) });
  }
  return slots;
}

async function measureChat(viewers: EngagementViewers[], connected: number, meters: PhaseMeters): Promise<ChatResult> {
  const start = Date.now() + 500;
  const schedule = chatSchedule(start, viewers.length);
  meters.start();
  const sent: ChatSendResult[] = await Promise.all(viewers.map((v, i) => v.chat(schedule[i]!)));
  // Let the last messages land (and a backlog, if any, drain).
  await sleep(3000);
  const load = meters.stop();
  const collected: ChatCollectResult[] = await Promise.all(viewers.map((v) => v.collectChat()));

  const sentAt = new Map<number, number>();
  for (const s of sent) for (const [index, at] of Object.entries(s.sentAt)) sentAt.set(Number(index), at);
  const received = new Map<number, number>();
  const all: number[] = [];
  const perMessage = new Map<number, number[]>();
  let deliveries = 0;
  for (const c of collected) {
    for (const [key, row] of Object.entries(c.latencies)) {
      const index = Number(key);
      const bucket = perMessage.get(index) ?? [];
      perMessage.set(index, bucket);
      let got = 0;
      for (const latency of row) {
        if (latency < 0) continue;
        got++;
        all.push(latency);
        bucket.push(latency);
      }
      deliveries += got;
      received.set(index, (received.get(index) ?? 0) + got);
    }
  }
  const accepted = [...sentAt.keys()].filter((index) => (received.get(index) ?? 0) > 0);
  const bySecond = new Map<number, number[]>();
  for (const index of accepted) {
    const second = Math.floor((sentAt.get(index)! - start) / 1000);
    const bucket = bySecond.get(second) ?? [];
    bucket.push(...(perMessage.get(index) ?? []));
    bySecond.set(second, bucket);
  }
  const senderErrors: Record<string, number> = {};
  for (const s of sent) for (const [error, count] of Object.entries(s.errors)) senderErrors[error] = (senderErrors[error] ?? 0) + count;
  const closeCodes: Record<string, number> = {};
  for (const c of collected) for (const [code, count] of Object.entries(c.closeCodes)) closeCodes[code] = (closeCodes[code] ?? 0) + count;
  const expected = accepted.length * connected;
  return {
    viewers: connected,
    senders: CHAT_SENDERS,
    rate: CHAT_RATE,
    seconds: CHAT_SECONDS,
    messagesScheduled: schedule.reduce((sum, s) => sum + s.length, 0),
    messagesSent: sentAt.size,
    messagesRefused: sentAt.size - accepted.length,
    skippedSends: sent.reduce((sum, s) => sum + s.skipped, 0),
    senderErrors,
    latencyMs: distOf(all),
    ...(() => {
      const firsts: number[] = [];
      const spreads: number[] = [];
      for (const index of accepted) {
        const row = perMessage.get(index) ?? [];
        if (row.length === 0) continue;
        let min = Infinity;
        let max = -Infinity;
        for (const latency of row) {
          if (latency < min) min = latency;
          if (latency > max) max = latency;
        }
        firsts.push(min);
        spreads.push(max - min);
      }
      return { firstReceiptMs: distOf(firsts), spreadMs: distOf(spreads) };
    })(),
    bySecond: [...bySecond.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([second, values]) => {
        const d = distOf(values)!;
        return { second, messages: accepted.filter((i) => Math.floor((sentAt.get(i)! - start) / 1000) === second).length, p50: d.p50, p99: d.p99, max: d.max };
      }),
    deliveries,
    expectedDeliveries: expected,
    lost: expected - deliveries,
    duplicates: collected.reduce((sum, c) => sum + c.duplicates, 0),
    foreignMessages: collected.reduce((sum, c) => sum + c.foreign, 0),
    viewersClosed: collected.reduce((sum, c) => sum + c.closed, 0),
    closeCodes,
    sendLagMs: distOf(sent.flatMap((s) => s.lagMs)),
    viewerEventLoopP99Ms: collected.map((c) => c.eventLoopDelayP99Ms),
    load,
  };
}

// ---------------------------------------------------------------------------------------------
// Part 2: claims

/** The shop's webhook receiver, in a process of its own, subscribed to offer.claimed and offer.sold_out. */
class ShopReceiver {
  readonly #ipc = new IpcChild<ShopRequest, ShopReply>(new URL('./lib/shop-receiver.ts', import.meta.url), 'shop receiver');

  async subscribe(target: AdminApi): Promise<void> {
    const { port } = await this.#ipc.ask<'listening'>({ type: 'listen' });
    await api(target, 'POST', '/v1/webhooks', { url: `http://127.0.0.1:${port}/shop/hooks`, events: ['offer.claimed', 'offer.sold_out'] });
  }

  async hits(offerId: string): Promise<ShopHits> {
    return (await this.#ipc.ask<'hits'>({ type: 'hits', offerId })).hits;
  }

  close(): Promise<void> {
    return this.#ipc.close();
  }
}

interface ClaimResult {
  offerId: string;
  quantity: number;
  claims: number;
  /** Open loop at `rate` claims/s, or closed loop with `concurrency` in flight. */
  mode: 'open' | 'closed';
  /** POST /v1/offers/:id/claims from the claim process, or `{"type":"claim"}` on the viewers' own sockets. */
  via: 'http' | 'socket';
  rate?: number;
  concurrency?: number;
  /** Open loop: how late the claim process started claims against the schedule (its own lag, not livecue's). */
  sendLagMs?: Dist;
  /** Open loop: the most connections the claims may use at once. */
  connections?: number;
  statuses: Record<string, number>;
  created: number;
  soldOut: number;
  /** Anything but 201 and 409 sold_out (409 offer_ended counts here: it must not happen within the offer's 10 minutes). */
  other: number;
  otherSamples: { status: number; reason?: string }[];
  /** Claims / (last response - first request). */
  claimsPerSecond: number;
  /** Little's law for a closed loop: in flight / throughput, the mean latency the concurrency alone implies. */
  littleMeanMs?: number;
  wallSeconds: number;
  /** First request -> the response of the last unit sold. */
  sellOutMs?: number;
  latencyMs?: Dist;
  latency201Ms?: Dist;
  latency409Ms?: Dist;
  /** Each claim's latency split by livecue's HTTP server (diagnostics channels, joined on the x-bench-claim header): */
  split: {
    /** client request start -> livecue parsed its headers (connect, queueing in the kernel and behind livecue's busy event loop). */
    beforeServerMs?: Dist;
    /** headers parsed -> response finished in livecue (routing, body parsing, the claim's queries). */
    serverMs?: Dist;
    /** response finished -> the client has read the body. */
    afterServerMs?: Dist;
    seen: number;
    /** TCP connections the claims came on (livecue's side). */
    connections: number;
  };
  /** Independent checks in livecue's database and API after the run. */
  claimRowsInDatabase: number;
  distinctViewersWithClaims: number;
  remainingAfter?: number;
  /** offer.start cue: POST start -> receipt at each viewer. */
  offerCue: { postMs: number; reached: number; latencyMs?: Dist };
  /** Viewers who heard the stock reach 0, and when: receipt - the response of the claim that sold the last unit. */
  soldOutStock: { reached: number; stockMessages: number; latencyMs?: Dist };
  /** The shop's webhook receiver: distinct offer.claimed deliveries, offer.sold_out, repeats; the last one after the first claim (ms). */
  webhooks?: { claimed: number; soldOut: number; duplicates: number; lastAfterMs?: number };
  /** Claims by start time, per 500 ms from the first: how many started, how many won, their latency. */
  timeline: { fromMs: number; started: number; created: number; p50: number; max: number }[];
  /** The slowest claims: start (ms after the first), status, latency and its split (before / in / after livecue). */
  slowest: { startMs: number; status: string; ms: number; beforeServerMs?: number; serverMs?: number; afterServerMs?: number }[];
  claimerEventLoopP99Ms: number;
  errors: string[];
  load: PhaseLoad;
}

/** Unmeasured claims (200 in flight) on their own offer; then the viewers forget that offer's cue and stock. */
async function warmUpClaims(target: AdminApi, stream: BenchStream, viewers: EngagementViewers[], claimer: EngagementViewers) {
  const product = (await api(target, 'POST', '/v1/products', { sku: 'BENCH-WARM-UP', title: 'Bench warm-up', price: 1, currency: 'EUR' })) as { id: string };
  const cue = (await api(target, 'POST', `/v1/streams/${stream.id}/cues`, {
    type: 'offer.start',
    productId: product.id,
    discountPercent: 10,
    durationSeconds: 600,
    quantity: Math.max(1, Math.round(CLAIM_WARMUP / 5)),
  })) as { id: string };
  const started = performance.now();
  const result = await claimer.claims(
    `${target.baseUrl}/v1/offers/${cue.id}/claims`,
    CLAIM_WARMUP,
    { rate: 0, concurrency: 200, connections: 200 },
    'warm-up-claimer-',
  );
  const seconds = (performance.now() - started) / 1000;
  await sleep(1500);
  await Promise.all(viewers.map((v) => v.collectOffer()));
  return {
    claims: CLAIM_WARMUP,
    seconds,
    created: result.outcomes.filter((o) => o.status === 201).length,
    other: result.outcomes.filter((o) => o.status !== 201 && o.status !== 409).length,
  };
}

async function measureClaims(
  node: Livecue,
  target: AdminApi,
  stream: BenchStream,
  viewers: EngagementViewers[],
  claimer: EngagementViewers,
  meters: PhaseMeters,
  arrivals: { rate: number; concurrency: number; connections: number; via?: 'http' | 'socket' },
  shop: ShopReceiver | undefined,
): Promise<ClaimResult> {
  const mode = arrivals.rate > 0 ? 'open' : 'closed';
  const via = arrivals.via ?? 'http';
  const label = `${via}-${mode}-${arrivals.rate || arrivals.concurrency}`;
  const product = await api(target, 'POST', '/v1/products', {
    sku: `BENCH-DROP-${label}`,
    title: 'Bench sneaker drop',
    price: 120,
    currency: 'EUR',
    inventory: QUANTITY,
  });
  const postStartedAt = Date.now();
  const postStarted = performance.now();
  const cue = (await api(target, 'POST', `/v1/streams/${stream.id}/cues`, {
    type: 'offer.start',
    productId: product.id,
    discountPercent: 30,
    durationSeconds: 600,
    quantity: QUANTITY,
  })) as { id: string };
  const postMs = performance.now() - postStarted;
  // Viewers see the offer, then the rush.
  await sleep(2000);
  // Server side of each claim, from Node's HTTP diagnostics channels: request parsed -> response finished.
  const serverStart = new WeakMap<IncomingMessage, { at: number; started: number }>();
  const serverClaims = new Map<number, { startedAt: number; endedAt: number; ms: number }>();
  const sockets = new WeakSet<object>();
  let connections = 0;
  const onStart = (message: unknown) => {
    const { request, socket } = message as { request: IncomingMessage; socket: object };
    serverStart.set(request, { at: Date.now(), started: performance.now() });
    if (!sockets.has(socket)) {
      sockets.add(socket);
      connections++;
    }
  };
  const onFinish = (message: unknown) => {
    const request = (message as { request: IncomingMessage }).request;
    const start = serverStart.get(request);
    const n = Number(request.headers['x-bench-claim']);
    if (start && request.url?.endsWith('/claims') && Number.isInteger(n))
      serverClaims.set(n, { startedAt: start.at, endedAt: Date.now(), ms: performance.now() - start.started });
  };
  diagnostics.subscribe('http.server.request.start', onStart);
  diagnostics.subscribe('http.server.response.finish', onFinish);
  meters.start();
  const claimed =
    via === 'http'
      ? await claimer.claims(`${target.baseUrl}/v1/offers/${cue.id}/claims`, CLAIMS, arrivals, `${label}-claimer-`)
      : await (async () => {
          const startAt = Date.now() + 50;
          const parts = await Promise.all(viewers.map((v, i) => v.socketClaims(cue.id, CLAIMS, arrivals.rate, startAt, viewers.length, i)));
          return {
            outcomes: parts.flatMap((p) => p.outcomes),
            lagMs: parts.flatMap((p) => p.lagMs),
            errors: parts.flatMap((p) => p.errors).slice(0, 5),
            eventLoopDelayP99Ms: Math.max(...parts.map((p) => p.eventLoopDelayP99Ms)),
          };
        })();
  const load = meters.stop();
  diagnostics.unsubscribe('http.server.request.start', onStart);
  diagnostics.unsubscribe('http.server.response.finish', onFinish);
  // Stock announcements go out once a second and at once at 0: let the last one land.
  await sleep(1500);
  const offers: OfferCollectResult[] = await Promise.all(viewers.map((v) => v.collectOffer()));
  let webhooks: ClaimResult['webhooks'];
  if (shop) {
    const wanted = claimed.outcomes.filter((o) => o.status === 201).length;
    const deadline = Date.now() + 30_000;
    let hits = await shop.hits(cue.id);
    while (Date.now() < deadline && (hits.claimed < wanted || hits.soldOut < 1)) {
      await sleep(100);
      hits = await shop.hits(cue.id);
    }
    const first = Math.min(...claimed.outcomes.map((o) => o.startedAt));
    webhooks = { claimed: hits.claimed, soldOut: hits.soldOut, duplicates: hits.duplicates, lastAfterMs: hits.lastAt > 0 ? hits.lastAt - first : undefined };
  }

  const outcomes: ClaimOutcome[] = claimed.outcomes;
  const statuses: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.status === 409 ? `409 ${o.reason ?? '?'}` : String(o.status);
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  const created = outcomes.filter((o) => o.status === 201);
  const soldOut = outcomes.filter((o) => o.status === 409 && o.reason === 'sold_out');
  const others = outcomes.filter((o) => !(o.status === 201 || (o.status === 409 && o.reason === 'sold_out')));
  const firstStart = Math.min(...outcomes.map((o) => o.startedAt));
  const lastEnd = Math.max(...outcomes.map((o) => o.endedAt));
  const lastUnit = created.find((o) => o.remaining === 0);
  const rows = await node.database.db.select().from(offerClaims).where(eq(offerClaims.offerId, cue.id));
  const offer = (await api(target, 'GET', `/v1/offers/${cue.id}`)) as { remaining: number };

  const cueLatencies: number[] = [];
  const soldOutLatencies: number[] = [];
  for (const o of offers) {
    for (const at of o.cueAt) if (at > 0) cueLatencies.push(at - postStartedAt);
    if (lastUnit) for (const at of o.soldOutAt) if (at > 0) soldOutLatencies.push(at - lastUnit.endedAt);
  }
  const wallSeconds = (lastEnd - firstStart) / 1000;
  return {
    offerId: cue.id,
    quantity: QUANTITY,
    claims: CLAIMS,
    mode,
    via,
    ...(mode === 'open' ? { rate: arrivals.rate, connections: arrivals.connections, sendLagMs: distOf(claimed.lagMs) } : { concurrency: arrivals.concurrency }),
    statuses,
    created: created.length,
    soldOut: soldOut.length,
    other: others.length,
    otherSamples: others.slice(0, 5).map((o) => ({ status: o.status, reason: o.reason })),
    claimsPerSecond: outcomes.length / wallSeconds,
    littleMeanMs: mode === 'closed' ? (Math.min(arrivals.concurrency, CLAIMS) / (outcomes.length / wallSeconds)) * 1000 : undefined,
    wallSeconds,
    sellOutMs: lastUnit ? lastUnit.endedAt - firstStart : undefined,
    latencyMs: distOf(outcomes.map((o) => o.ms)),
    latency201Ms: distOf(created.map((o) => o.ms)),
    latency409Ms: distOf(soldOut.map((o) => o.ms)),
    split: {
      beforeServerMs: distOf(outcomes.flatMap((o) => (serverClaims.has(o.n) ? [serverClaims.get(o.n)!.startedAt - o.startedAt] : []))),
      serverMs: distOf([...serverClaims.values()].map((c) => c.ms)),
      afterServerMs: distOf(outcomes.flatMap((o) => (serverClaims.has(o.n) ? [o.endedAt - serverClaims.get(o.n)!.endedAt] : []))),
      seen: serverClaims.size,
      connections,
    },
    claimRowsInDatabase: rows.length,
    distinctViewersWithClaims: new Set(rows.map((r) => r.viewerId)).size,
    remainingAfter: offer.remaining,
    offerCue: { postMs, reached: cueLatencies.length, latencyMs: distOf(cueLatencies) },
    soldOutStock: { reached: soldOutLatencies.length, stockMessages: offers.reduce((sum, o) => sum + o.stockMessages, 0), latencyMs: distOf(soldOutLatencies) },
    webhooks,
    timeline: (() => {
      const buckets = new Map<number, ClaimOutcome[]>();
      for (const o of outcomes) {
        const key = Math.floor((o.startedAt - firstStart) / 500) * 500;
        buckets.set(key, [...(buckets.get(key) ?? []), o]);
      }
      return [...buckets.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([fromMs, list]) => {
          const d = distOf(list.map((o) => o.ms))!;
          return { fromMs, started: list.length, created: list.filter((o) => o.status === 201).length, p50: d.p50, max: d.max };
        });
    })(),
    slowest: [...outcomes]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 10)
      .map((o) => {
        const server = serverClaims.get(o.n);
        return {
          startMs: o.startedAt - firstStart,
          status: o.status === 409 ? `409 ${o.reason}` : String(o.status),
          ms: o.ms,
          beforeServerMs: server ? server.startedAt - o.startedAt : undefined,
          serverMs: server?.ms,
          afterServerMs: server ? o.endedAt - server.endedAt : undefined,
        };
      }),
    claimerEventLoopP99Ms: claimed.eventLoopDelayP99Ms,
    errors: claimed.errors,
    load,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

interface Setup {
  viewers: number;
  processes: number;
  connected: number;
  failed: number;
  errors: string[];
  connectSeconds: number;
  setupMs?: Dist;
}

/** Exactly the quantity sold, the rest sold out, the database agrees, and (with the receiver) the shop heard of each claim and the sell-out once. */
const soldExactly = (c: ClaimResult) =>
  c.created === c.quantity &&
  c.other === 0 &&
  c.soldOut === c.claims - c.quantity &&
  c.claimRowsInDatabase === c.quantity &&
  c.remainingAfter === 0 &&
  (!c.webhooks || (c.webhooks.claimed === c.quantity && c.webhooks.soldOut === 1 && c.webhooks.duplicates === 0));

interface ClaimRuns {
  /** Open loop at BENCH_CLAIM_RATE over HTTP, and the same from the viewers' sockets. */
  rush?: ClaimResult;
  socketRush?: ClaimResult;
  /** Faster open loops over HTTP, in order, up to the first that missed. */
  sweep: ClaimResult[];
  /** Closed loop: throughput (its latency is in flight / throughput by Little's law, so it carries no latency target). */
  capacity?: ClaimResult;
}

const p99Under = (c: ClaimResult | undefined) => (c ? c.latencyMs !== undefined && c.latencyMs.p99 < TARGETS.claimP99Ms : undefined);
const withinTarget = (c: ClaimResult) => p99Under(c) === true && soldExactly(c);

/** The highest open-loop rate over HTTP whose claims met p99 < 50 ms and sold exactly the quantity. */
function sustainedRate(runs: ClaimRuns): number | undefined {
  let best: number | undefined;
  for (const run of [runs.rush, ...runs.sweep]) {
    if (!run?.rate) continue;
    if (!withinTarget(run)) break;
    best = run.rate;
  }
  return best;
}

function verdicts(setup: Setup | undefined, chat: ChatResult | undefined, runs: ClaimRuns) {
  const all = [runs.rush, runs.socketRush, ...runs.sweep, runs.capacity].filter((c): c is ClaimResult => c !== undefined);
  return {
    chatLatency: chat ? chat.latencyMs !== undefined && chat.latencyMs.p99 < TARGETS.chatP99Ms : undefined,
    chatDelivery:
      chat && setup
        ? chat.lost === TARGETS.chatLost && chat.messagesRefused === 0 && chat.messagesSent === chat.messagesScheduled && setup.failed === 0
        : undefined,
    claimLatency: p99Under(runs.rush),
    claimLatencyOnSockets: p99Under(runs.socketRush),
    noOversell: all.length > 0 ? all.every(soldExactly) : undefined,
  };
}

const cores = (c: CpuSummary | undefined) => fmt(c?.cores, 2);
const loadInfo = (l: PhaseLoad) =>
  `livecue proc ${cores(l.cpu.livecueProcess)} cores (loop p99 ${fmt(l.livecueEventLoopDelayP99Ms)} ms), redis ${cores(l.cpu.redis)}, transcoder ${cores(l.cpu.livecueFfmpeg)}; ` +
  `machine ${cores(l.cpu.machine)}/${os.cpus().length}; load ${l.loadavgStart[0]?.toFixed(2)} -> ${l.loadavgEnd?.[0]?.toFixed(2)}`;

function claimRows(claims: ClaimResult | undefined, title: string, latencyVerdict: boolean | undefined, target = `p99 < ${TARGETS.claimP99Ms}`): string[][] {
  return [
    [`${title}: p50/p95/p99/max (ms)`, claims ? fmtDist(claims.latencyMs, 1) : 'skipped', verdict(latencyVerdict), target],
    [
      '  throughput',
      claims
        ? `${fmt(claims.claimsPerSecond)} claims/s (${fmt(claims.wallSeconds, 2)} s; mean ${fmt(claims.latencyMs?.mean)} ms` +
          (claims.littleMeanMs !== undefined ? ` = in flight / rate ${fmt(claims.littleMeanMs)})` : `; send lag p99 ${fmt(claims.sendLagMs?.p99, 1)} ms)`) +
          `; sold out after ${fmt(claims.sellOutMs)} ms; 201 p99 ${fmt(claims.latency201Ms?.p99, 1)}, 409 p99 ${fmt(claims.latency409Ms?.p99, 1)} ms`
        : '—',
      '',
      '',
    ],
    [
      '  split p50/p99/max (ms): before livecue | in livecue | after',
      claims?.via === 'socket'
        ? '(HTTP only)'
        : claims
          ? [claims.split.beforeServerMs, claims.split.serverMs, claims.split.afterServerMs]
              .map((d) => `${fmt(d?.p50)}/${fmt(d?.p99)}/${fmt(d?.max)}`)
              .join(' | ') + ` (${claims.split.seen} joined, ${claims.split.connections} connections)`
          : '—',
      '',
      '',
    ],
    [
      '  201 / 409 sold_out / other',
      claims
        ? `${claims.created} / ${claims.soldOut} / ${claims.other}; db claims ${claims.claimRowsInDatabase} (${claims.distinctViewersWithClaims} viewers), remaining ${claims.remainingAfter}` +
          (claims.webhooks
            ? `; shop heard ${claims.webhooks.claimed} claimed + ${claims.webhooks.soldOut} sold out (${claims.webhooks.duplicates} repeats), the last ${fmt(claims.webhooks.lastAfterMs)} ms after the first claim`
            : '')
        : '—',
      verdict(claims ? soldExactly(claims) : undefined),
      `${QUANTITY} / ${CLAIMS - QUANTITY} / 0`,
    ],
    [
      '  viewers: offer cue / stock 0 heard',
      claims
        ? `cue ${claims.offerCue.reached} (p50/p99 ${fmt(claims.offerCue.latencyMs?.p50)}/${fmt(claims.offerCue.latencyMs?.p99)} ms from POST); stock 0 ${claims.soldOutStock.reached} (p50/p99 ${fmt(claims.soldOutStock.latencyMs?.p50)}/${fmt(claims.soldOutStock.latencyMs?.p99)} ms after the last unit)`
        : '—',
      '',
      '',
    ],
    ['  load', claims ? loadInfo(claims.load) : '—', '', ''],
  ];
}

function printTable(setup: Setup | undefined, chat: ChatResult | undefined, runs: ClaimRuns, errors: string[]): void {
  const v = verdicts(setup, chat, runs);
  const { rush, socketRush, capacity } = runs;
  const sustained = sustainedRate(runs);
  const rows: string[][] = [
    ['', 'measured', 'verdict', 'target'],
    [
      'viewers connected',
      setup
        ? `${setup.connected}/${setup.viewers} in ${setup.processes} proc in ${fmt(setup.connectSeconds, 1)} s (setup p50/p95/max ${fmt(setup.setupMs?.p50)}/${fmt(setup.setupMs?.p95)}/${fmt(setup.setupMs?.max)} ms)`
        : '—',
      '',
      '',
    ],
    [
      `chat ${CHAT_RATE}/s x ${CHAT_SECONDS} s -> ${chat?.viewers ?? VIEWERS}: send -> receipt p50/p95/p99/max (ms)`,
      chat ? fmtDist(chat.latencyMs) : 'skipped',
      verdict(v.chatLatency),
      `p99 < ${TARGETS.chatP99Ms}`,
    ],
    [
      '  deliveries',
      chat
        ? `${chat.deliveries}/${chat.expectedDeliveries}; lost ${chat.lost}, dup ${chat.duplicates}; ${chat.messagesSent}/${chat.messagesScheduled} sent, ${chat.messagesRefused} refused${Object.keys(chat.senderErrors).length ? ` ${JSON.stringify(chat.senderErrors)}` : ''}; closed ${chat.viewersClosed}`
        : '—',
      verdict(v.chatDelivery),
      '0 lost, 0 refused',
    ],
    [
      '  per message: first viewer | last - first, p50/p99 (ms)',
      chat ? `${fmt(chat.firstReceiptMs?.p50)}/${fmt(chat.firstReceiptMs?.p99)} | ${fmt(chat.spreadMs?.p50)}/${fmt(chat.spreadMs?.p99)}` : '—',
      '',
      '',
    ],
    ['  p99 by send second (ms)', chat ? chat.bySecond.map((s) => fmt(s.p99)).join(' ') : '—', '', ''],
    ['  load', chat ? loadInfo(chat.load) : '—', '', ''],
    ...claimRows(rush, `HTTP claims x${CLAIMS} on ${QUANTITY} units arriving at ${CLAIM_RATE}/s on <= ${CLAIM_CONNECTIONS} connections`, v.claimLatency),
    ...claimRows(
      socketRush,
      `socket claims x${CLAIMS} on ${QUANTITY} units, the viewers claiming at ${CLAIM_RATE}/s on their own sockets`,
      v.claimLatencyOnSockets,
    ),
    ...runs.sweep.map((run) => [
      `HTTP claims x${CLAIMS} at ${run.rate}/s: p50/p95/p99/max (ms)`,
      `${fmtDist(run.latencyMs, 1)}; ${fmt(run.claimsPerSecond)} claims/s; ${run.created} / ${run.soldOut} / ${run.other}; loop p99 ${fmt(run.load.livecueEventLoopDelayP99Ms)} ms, machine ${cores(run.load.cpu.machine)}/${os.cpus().length}`,
      verdict(withinTarget(run)),
      `p99 < ${TARGETS.claimP99Ms}, sold exactly`,
    ]),
    ['claims/s sustained within p99 < 50 ms (HTTP, open loop)', sustained !== undefined ? `${sustained}/s` : '—', '', ''],
    ...claimRows(
      capacity,
      `HTTP claims x${CLAIMS} on ${QUANTITY} units, ${CLAIM_CONCURRENCY} in flight (closed loop: saturation)`,
      undefined,
      'throughput (latency = in flight / rate)',
    ),
    ...errors.map((e) => ['error', e, '', '']),
  ];
  printTextTable(rows);
}

async function main(): Promise<void> {
  const record = new BenchRecord('engagement');
  const database = POSTGRES_URL === 'none' ? undefined : await createFreshDatabase(POSTGRES_URL, 'livecue_bench');
  const bench = await BenchNode.start({
    tunable: TUNABLE,
    settings: {
      API_RATE_PER_SECOND: BENCH_RATE_LIMIT,
      SIGNALING_RATE_PER_SECOND: BENCH_RATE_LIMIT,
      WS_CONNECT_RATE_PER_SECOND: BENCH_RATE_LIMIT,
      // Every bench viewer connects from 127.0.0.1: the per-address caps a real crowd never meets are lifted.
      MAX_SOCKETS_PER_ADDRESS: BENCH_RATE_LIMIT,
      MESSAGES_PER_ADDRESS_PER_SECOND: BENCH_RATE_LIMIT,
      // Viewers sign their tokens with it, as livecue signs anonymous viewers.
      LIVECUE_SECRET_KEY: BENCH_LIVECUE_SECRET_KEY,
      // The shop's webhook receiver runs on this machine.
      ALLOW_PRIVATE_DESTINATIONS: true,
      CUE_RATE_PER_SECOND: 1000,
      ...(database ? { DATABASE_URL: database.url } : {}),
    },
  });
  const { node, config } = bench;
  const target: AdminApi = { baseUrl: `http://127.0.0.1:${node.httpPort}`, adminToken: node.adminToken };
  record.announce(
    `${database ? 'PostgreSQL' : 'PGlite'}; ${VIEWERS} viewers in ${PROCESSES} processes; chat ${CHAT_RATE}/s for ${CHAT_SECONDS} s from ${CHAT_SENDERS} senders; ${CLAIMS} claims on ${QUANTITY} units at ${CLAIM_RATE}/s, then ${CLAIM_CONCURRENCY} in flight`,
  );

  const machine = new CpuMeter(machineCpu);
  machine.sample();
  const errors: string[] = [];
  let source: TestPatternPush | undefined;
  let setup: Setup | undefined;
  let chat: ChatResult | undefined;
  const runs: ClaimRuns = { sweep: [] };
  let shop: ShopReceiver | undefined;
  let claimWarmUp: Awaited<ReturnType<typeof warmUpClaims>> | undefined;
  const viewers = Array.from({ length: PROCESSES }, () => new EngagementViewers());
  const claimer = new EngagementViewers();
  try {
    const stream = await createStream(target, 'bench engagement');
    source = pushTestPattern(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { size: SOURCE });
    await waitForProducer(node, stream.id, 20_000);

    console.log(`connecting ${VIEWERS} viewers ...`);
    const url = `ws://127.0.0.1:${node.httpPort}/live/${stream.playbackId}/events`;
    const connectStart = performance.now();
    const ready = await Promise.all(
      viewers.map((v, i) => v.connect(Math.floor(VIEWERS / PROCESSES) + (i < VIEWERS % PROCESSES ? 1 : 0), url, `viewer-p${i}-`)),
    );
    setup = {
      viewers: VIEWERS,
      processes: PROCESSES,
      connected: ready.reduce((sum, r) => sum + r.connected, 0),
      failed: ready.reduce((sum, r) => sum + r.failed, 0),
      errors: ready.flatMap((r) => r.errors).slice(0, 5),
      connectSeconds: (performance.now() - connectStart) / 1000,
      setupMs: distOf(ready.flatMap((r) => r.setupMs)),
    };
    console.log(
      `${setup.connected}/${VIEWERS} connected in ${setup.connectSeconds.toFixed(1)} s${setup.failed ? ` (${setup.failed} failed: ${setup.errors.join('; ')})` : ''}`,
    );
    await sleep(2000);

    if (CHAT_RATE > 0 && CHAT_SECONDS > 0) {
      console.log(`chat: ${CHAT_RATE} messages/s for ${CHAT_SECONDS} s from ${CHAT_SENDERS} senders ...`);
      try {
        chat = await measureChat(viewers, setup.connected, new PhaseMeters(source, viewers, claimer));
      } catch (error) {
        errors.push(`chat: ${(error as Error).message}`);
      }
      await sleep(2000);
    }

    if (WEBHOOKS > 0 && (CLAIM_RATE > 0 || CLAIM_CONCURRENCY > 0)) {
      shop = new ShopReceiver();
      await shop.subscribe(target);
    }
    if (CLAIM_WARMUP > 0 && (CLAIM_RATE > 0 || CLAIM_CONCURRENCY > 0)) {
      console.log(`claims: warming up with ${CLAIM_WARMUP} claims on an offer of their own ...`);
      try {
        claimWarmUp = await warmUpClaims(target, stream, viewers, claimer);
      } catch (error) {
        errors.push(`claims warm-up: ${(error as Error).message}`);
      }
      await sleep(1000);
    }
    const pushing = source;
    const phase = async (what: string, arrivals: Parameters<typeof measureClaims>[6]) => {
      console.log(`claims: ${CLAIMS} claims on an offer of ${QUANTITY} units, ${what} ...`);
      try {
        return await measureClaims(node, target, stream, viewers, claimer, new PhaseMeters(pushing, viewers, claimer), arrivals, shop);
      } catch (error) {
        errors.push(`claims ${what}: ${(error as Error).message}`);
        return undefined;
      } finally {
        await sleep(2000);
      }
    };
    if (CLAIM_RATE > 0) {
      runs.rush = await phase(`arriving at ${CLAIM_RATE}/s over HTTP on at most ${CLAIM_CONNECTIONS} connections`, {
        rate: CLAIM_RATE,
        concurrency: 0,
        connections: CLAIM_CONNECTIONS,
      });
      if (SOCKET_CLAIMS > 0 && (setup?.connected ?? 0) >= CLAIMS) {
        runs.socketRush = await phase(`sent at ${CLAIM_RATE}/s by the viewers on their sockets`, {
          rate: CLAIM_RATE,
          concurrency: 0,
          connections: 0,
          via: 'socket',
        });
      } else if (SOCKET_CLAIMS > 0 && VIEWERS >= CLAIMS) {
        errors.push(`socket claims skipped: ${setup?.connected ?? 0} viewers connected, ${CLAIMS} claims need one viewer each`);
      }
      if (runs.rush && withinTarget(runs.rush)) {
        for (const rate of CLAIM_SWEEP) {
          const run = await phase(`arriving at ${rate}/s over HTTP on at most ${CLAIM_CONNECTIONS} connections`, {
            rate,
            concurrency: 0,
            connections: CLAIM_CONNECTIONS,
          });
          if (!run) break;
          runs.sweep.push(run);
          if (!withinTarget(run)) break;
        }
      }
    }
    if (CLAIM_CONCURRENCY > 0) {
      runs.capacity = await phase(`${CLAIM_CONCURRENCY} in flight over HTTP`, { rate: 0, concurrency: CLAIM_CONCURRENCY, connections: CLAIM_CONCURRENCY });
    }
  } catch (error) {
    errors.push((error as Error).message);
  } finally {
    machine.sample();
    await Promise.all([...viewers, claimer].map((v) => v.close()));
    await source?.stop();
    await bench.close();
    await shop?.close();
    await database?.drop();
  }

  printTable(setup, chat, runs, errors);
  if (claimWarmUp)
    console.log(
      `(claims warmed up first: ${claimWarmUp.claims} claims in ${fmt(claimWarmUp.seconds, 2)} s on an offer of their own, ${claimWarmUp.created} sold, ${claimWarmUp.other} other answers)`,
    );
  record.write(
    {
      config: {
        viewers: VIEWERS,
        viewerProcesses: PROCESSES,
        chatRate: CHAT_RATE,
        chatSeconds: CHAT_SECONDS,
        chatSenders: CHAT_SENDERS,
        offerQuantity: QUANTITY,
        claims: CLAIMS,
        claimRate: CLAIM_RATE,
        claimConnections: CLAIM_CONNECTIONS,
        claimWarmUp: CLAIM_WARMUP,
        claimConcurrency: CLAIM_CONCURRENCY,
        socketClaims: SOCKET_CLAIMS > 0,
        shopWebhooks: WEBHOOKS > 0,
        claimSweep: CLAIM_SWEEP,
        source: `${SOURCE}@30 testsrc2 RTMP`,
        database: database ? `PostgreSQL (fresh database; ${database.version.split(' on ')[0]})` : 'PGlite (embedded)',
        apiRateLimit: config.API_RATE_PER_SECOND,
        signalingRateLimit: config.SIGNALING_RATE_PER_SECOND,
        webSocketConnectRateLimit: config.WS_CONNECT_RATE_PER_SECOND,
        ladder: config.LADDER,
        x264Preset: config.X264_PRESET,
        ...tunedFromEnv(TUNABLE),
      },
      targets: TARGETS,
      verdicts: verdicts(setup, chat, runs),
      claimsPerSecondWithinTarget: sustainedRate(runs),
      errors,
      setup,
      chat,
      claimWarmUp,
      claims: runs.rush,
      socketClaims: runs.socketRush,
      claimSweep: runs.sweep,
      claimsAtCapacity: runs.capacity,
    },
    { busyCoresWholeRun: machine.summary()?.cores },
  );
}

await main();
process.exit(0);

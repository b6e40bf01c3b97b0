// Child process of bench/engagement.ts: hosts WebSocket viewers of one show (lite-websocket.ts clients) (some of them chatting on a schedule the
// parent hands out), timestamps every chat message, offer cue and offer stock update they receive, claims offers on
// their own sockets, or fires offer claims over HTTP with bounded concurrency; answers the parent over IPC.
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LiteWebSocket } from './lite-websocket.ts';
import { ViewerIdentity } from '../../src/offers/viewer-identity.ts';
import { answerRequests } from './ipc-child.ts';

/** The LIVECUE_SECRET_KEY the bench's livecue runs with: its viewers sign their tokens as livecue signs anonymous ones. */
export const BENCH_LIVECUE_SECRET_KEY = 'livecue-bench-shared-secret-0123456789';
const benchViewers = new ViewerIdentity({ livecueSecret: BENCH_LIVECUE_SECRET_KEY });

/** One chat message to send: global index, when (Date.now() epoch ms) and from which of this process's senders. */
export interface ChatSlot {
  index: number;
  dueAt: number;
  sender: number;
}

export type EngagementRequest =
  | { id: number; type: 'connect'; count: number; url: string; idPrefix: string; concurrency: number; timeoutMs: number }
  | { id: number; type: 'chat'; slots: ChatSlot[] }
  | { id: number; type: 'collect-chat' }
  | { id: number; type: 'collect-offer' }
  /** `rate` > 0: claim n starts at start + n / rate whatever the answers, on at most `connections` (open loop); else `concurrency` in flight (closed loop). */
  | { id: number; type: 'claims'; url: string; total: number; concurrency: number; rate: number; connections: number; viewerPrefix: string }
  /**
   * Claims over the viewers' own sockets: claim n (0 <= n < total) is sent at startAt + n / rate (epoch ms) by viewer
   * floor(n / processes) of process n mod processes, whatever the answers (open loop).
   */
  | {
      id: number;
      type: 'socket-claims';
      offerId: string;
      total: number;
      rate: number;
      startAt: number;
      processes: number;
      processIndex: number;
      timeoutMs: number;
    }
  | { id: number; type: 'close' };

export interface ChatSendResult {
  /** Global index -> Date.now() just before ws.send. */
  sentAt: Record<number, number>;
  /** How late each send was against its schedule (ms). */
  lagMs: number[];
  /** Sends skipped because the sender's socket was not open. */
  skipped: number;
  /** {"type":"error"} answers the senders got back (refused messages), by text. */
  errors: Record<string, number>;
}

export interface ChatCollectResult {
  clients: number;
  /** Clients whose connection closed during the run. */
  closed: number;
  /** Close codes of those clients. */
  closeCodes: Record<string, number>;
  /** Global message index -> receipt - send (ms) for every client that got it, in client order (-1: not received). */
  latencies: Record<number, Int32Array>;
  duplicates: number;
  /** Chat messages received that are not the bench's (no marker). */
  foreign: number;
  eventLoopDelayP99Ms: number;
}

export interface OfferCollectResult {
  clients: number;
  closed: number;
  /** Date.now() at which each client got the offer.start cue (0: never). */
  cueAt: Float64Array;
  /** Date.now() at which each client first heard the offer's stock at 0 (0: never). */
  soldOutAt: Float64Array;
  /** Offer stock messages received, all clients together. */
  stockMessages: number;
}

export interface ClaimOutcome {
  /** Claim number: sent as the x-bench-claim header over HTTP (the parent finds it in livecue's HTTP server), as ref on a socket. */
  n: number;
  status: number;
  reason?: string;
  /** Date.now() at the start of the request and at the end of reading its body. */
  startedAt: number;
  endedAt: number;
  /** performance.now() based duration (ms). */
  ms: number;
  remaining?: number;
}

export interface ClaimsResult {
  outcomes: ClaimOutcome[];
  /** Open loop: how late each claim started against its schedule (ms). */
  lagMs: number[];
  errors: string[];
  eventLoopDelayP99Ms: number;
}

export type EngagementReply =
  | { id: number; type: 'ready'; connected: number; failed: number; errors: string[]; setupMs: number[] }
  | { id: number; type: 'chat-sent'; result: ChatSendResult }
  | { id: number; type: 'chat-collected'; result: ChatCollectResult }
  | { id: number; type: 'offer-collected'; result: OfferCollectResult }
  | { id: number; type: 'claimed'; result: ClaimsResult }
  | { id: number; type: 'closed' };

interface Client {
  index: number;
  socket: LiteWebSocket;
  closed: boolean;
  closeCode?: number;
  offerCueAt: number;
  soldOutAt: number;
}

/** Socket claims waiting for their answer, by ref. */
const pendingClaims = new Map<string, (answer: { status: number; body: { reason?: string; remaining?: number } }) => void>();
const clients: Client[] = [];
const loop = monitorEventLoopDelay({ resolution: 10 });
/** Global chat index -> per-client latency (ms; NOT_RECEIVED when not received). */
const chatLatencies = new Map<number, Int32Array>();
const NOT_RECEIVED = -1;
let duplicates = 0;
let foreign = 0;
let stockMessages = 0;
const senderErrors: Record<string, number> = {};

const CHAT_PREFIX = Buffer.from('{"type":"chat"');
const STATE_PREFIX = Buffer.from('{"type":"state"');
const MARKER_START = Buffer.from('[lcb ');
const startsWith = (payload: Buffer, prefix: Buffer) => payload.length >= prefix.length && payload.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;

/** The digits at `from` in the payload, and where they end (-1 when there are none). */
function digitsAt(payload: Buffer, from: number): [number, number] {
  let value = 0;
  let i = from;
  for (; i < payload.length && payload[i]! >= 0x30 && payload[i]! <= 0x39; i++) value = value * 10 + payload[i]! - 0x30;
  return [value, i > from ? i : -1];
}

function onMessage(client: Client, payload: Buffer): void {
  const at = Date.now();
  // Chat first and without decoding: 100,000 chat messages a second across the children; the marker is read from the bytes.
  if (startsWith(payload, CHAT_PREFIX)) {
    const start = payload.indexOf(MARKER_START);
    const [index, afterIndex] = start < 0 ? [0, -1] : digitsAt(payload, start + MARKER_START.length);
    const [sentAt, afterSent] = afterIndex < 0 ? [0, -1] : digitsAt(payload, afterIndex + 1);
    if (afterSent < 0 || payload[afterSent] !== 0x5d) {
      foreign++;
      return;
    }
    const latency = at - sentAt;
    let row = chatLatencies.get(index);
    if (!row) chatLatencies.set(index, (row = new Int32Array(clients.length).fill(NOT_RECEIVED)));
    if (client.index >= row.length) return;
    if (row[client.index] !== NOT_RECEIVED) duplicates++;
    else row[client.index] = Math.max(0, latency);
    return;
  }
  const text = payload.toString();
  if (text.startsWith('{"type":"offer"')) {
    stockMessages++;
    if (client.soldOutAt === 0) {
      try {
        const message = JSON.parse(text) as { offer?: { remaining?: number } };
        if (message.offer?.remaining === 0) client.soldOutAt = at;
      } catch {
        /* not ours */
      }
    }
    return;
  }
  if (text.startsWith('{"type":"cue"') && client.offerCueAt === 0 && text.includes('"offer.start"')) {
    client.offerCueAt = at;
    return;
  }
  if (text.startsWith('{"type":"claim"')) {
    try {
      const answer = JSON.parse(text) as { ref?: string; status: number; body: { reason?: string; remaining?: number } };
      const settle = answer.ref ? pendingClaims.get(answer.ref) : undefined;
      if (settle) {
        pendingClaims.delete(answer.ref!);
        settle(answer);
      }
    } catch {
      /* not ours */
    }
    return;
  }
  if (text.startsWith('{"type":"error"')) {
    try {
      const error = String((JSON.parse(text) as { error?: unknown }).error);
      senderErrors[error] = (senderErrors[error] ?? 0) + 1;
    } catch {
      senderErrors['unparsable error'] = (senderErrors['unparsable error'] ?? 0) + 1;
    }
  }
}

function openSocket(url: string, timeoutMs: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    let ready = false;
    const client: Client = { index: -1, socket: undefined as unknown as LiteWebSocket, closed: false, offerCueAt: 0, soldOutAt: 0 };
    const timer = setTimeout(() => (client.socket.terminate(), reject(new Error(`no state message after ${timeoutMs} ms`))), timeoutMs);
    client.socket = new LiteWebSocket(
      url,
      {
        onText(payload) {
          if (ready) return onMessage(client, payload);
          if (startsWith(payload, STATE_PREFIX)) {
            ready = true;
            clearTimeout(timer);
            resolve(client);
          }
        },
        onClose(code) {
          client.closed = true;
          client.closeCode = code;
        },
      },
      () => {},
      (error) => (clearTimeout(timer), reject(error)),
    );
  });
}

async function connect(request: Extract<EngagementRequest, { type: 'connect' }>): Promise<EngagementReply> {
  const setupMs: number[] = [];
  const errors: string[] = [];
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < request.count) {
      next++;
      const started = Date.now();
      try {
        // Each viewer proves who it is with a token signed as livecue signs anonymous viewers (the bench shares the key).
        const client = await openSocket(`${request.url}?viewerToken=${benchViewers.issue().viewerToken}`, request.timeoutMs);
        client.index = clients.length;
        clients.push(client);
        setupMs.push(Date.now() - started);
      } catch (error) {
        failed++;
        if (errors.length < 5) errors.push((error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(request.concurrency, request.count) }, worker));
  loop.reset();
  loop.enable();
  return { id: request.id, type: 'ready', connected: clients.length, failed, errors, setupMs };
}

const TEXTS = [
  'Is the sand colour still in stock?',
  'Does it come in XL?',
  'Love this one, how long is the offer?',
  'Shipping to Austria too?',
  'Just claimed mine!',
  'What is the fabric?',
  'Can you show the back please',
  'Is there a discount code for the bundle?',
];

async function chat(id: number, slots: ChatSlot[]): Promise<EngagementReply> {
  chatLatencies.clear();
  duplicates = 0;
  foreign = 0;
  for (const key of Object.keys(senderErrors)) delete senderErrors[key];
  loop.reset();
  const result: ChatSendResult = { sentAt: {}, lagMs: [], skipped: 0, errors: senderErrors };
  const ordered = [...slots].sort((a, b) => a.dueAt - b.dueAt);
  for (const slot of ordered) {
    const wait = slot.dueAt - Date.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const sender = clients[slot.sender];
    if (!sender || sender.socket.readyState !== LiteWebSocket.OPEN) {
      result.skipped++;
      continue;
    }
    const now = Date.now();
    result.lagMs.push(now - slot.dueAt);
    result.sentAt[slot.index] = now;
    sender.socket.send(JSON.stringify({ type: 'chat', text: `${TEXTS[slot.index % TEXTS.length]} [lcb ${slot.index} ${now}]` }));
  }
  return { id, type: 'chat-sent', result: { ...result, errors: { ...senderErrors } } };
}

function collectChat(id: number): EngagementReply {
  const closeCodes: Record<string, number> = {};
  for (const client of clients) if (client.closed) closeCodes[String(client.closeCode)] = (closeCodes[String(client.closeCode)] ?? 0) + 1;
  return {
    id,
    type: 'chat-collected',
    result: {
      clients: clients.length,
      closed: clients.filter((c) => c.closed).length,
      closeCodes,
      latencies: Object.fromEntries(chatLatencies),
      duplicates,
      foreign,
      eventLoopDelayP99Ms: loop.percentile(99) / 1e6,
    },
  };
}

/** What the viewers saw of the last offer; then forgotten, so the next offer is timed afresh. */
function collectOffer(id: number): EngagementReply {
  const reply: EngagementReply = {
    id,
    type: 'offer-collected',
    result: {
      clients: clients.length,
      closed: clients.filter((c) => c.closed).length,
      cueAt: Float64Array.from(clients, (c) => c.offerCueAt),
      soldOutAt: Float64Array.from(clients, (c) => c.soldOutAt),
      stockMessages,
    },
  };
  for (const client of clients) client.offerCueAt = client.soldOutAt = 0;
  stockMessages = 0;
  return reply;
}

/** One POST over a kept-alive connection (node:http costs this process a fraction of fetch's CPU per request). */
function post(agent: http.Agent, url: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const agents = new Map<number, http.Agent>();
/** A pool of `maxSockets` kept-alive connections to livecue, opened (by as many /healthz requests at once) on first use. */
async function agentFor(maxSockets: number, url: string): Promise<http.Agent> {
  let agent = agents.get(maxSockets);
  if (agent) return agent;
  agents.set(maxSockets, (agent = new http.Agent({ keepAlive: true, maxSockets })));
  const health = new URL('/healthz', url).toString();
  await Promise.all(
    Array.from(
      { length: maxSockets },
      () => new Promise<void>((resolve) => http.get(health, { agent }, (res) => (res.resume(), res.on('end', resolve))).on('error', () => resolve())),
    ),
  );
  return agent;
}

async function claims(request: Extract<EngagementRequest, { type: 'claims' }>): Promise<EngagementReply> {
  // Open loop: at most `connections` at once (past it claims wait for one, and that wait is latency too). The pool
  // outlives a phase, as a reverse proxy's upstream pool does: a rush does not start by opening 100 connections.
  const agent = await agentFor(request.rate > 0 ? request.connections : request.concurrency, request.url);
  const outcomes: ClaimOutcome[] = [];
  const lagMs: number[] = [];
  const errors: string[] = [];
  // Signed before the clock starts, as browsers hold their tokens before a sale.
  const claimers = Array.from({ length: request.total }, () => benchViewers.issue().viewerToken);
  loop.reset();
  loop.enable();
  let next = 0;
  const claim = async (n: number) => {
    const startedAt = Date.now();
    const started = performance.now();
    try {
      const response = await post(agent, request.url, '', { authorization: `Bearer ${claimers[n]!}`, 'x-bench-claim': String(n) });
      let body: { reason?: string; remaining?: number } = {};
      try {
        body = JSON.parse(response.body) as typeof body;
      } catch {
        // Not JSON: the status says enough.
      }
      outcomes.push({
        n,
        status: response.status,
        reason: body.reason,
        remaining: body.remaining,
        startedAt,
        endedAt: Date.now(),
        ms: performance.now() - started,
      });
    } catch (error) {
      outcomes.push({ n, status: 0, reason: (error as Error).message, startedAt, endedAt: Date.now(), ms: performance.now() - started });
      if (errors.length < 5) errors.push((error as Error).message);
    }
  };
  if (request.rate > 0) {
    const start = performance.now() + 20;
    const running: Promise<void>[] = [];
    for (let n = 0; n < request.total; n++) {
      const due = start + (n * 1000) / request.rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      lagMs.push(Math.max(0, performance.now() - due));
      running.push(claim(n));
    }
    await Promise.all(running);
  } else {
    const worker = async () => {
      while (next < request.total) await claim(next++);
    };
    await Promise.all(Array.from({ length: Math.min(request.concurrency, request.total) }, worker));
  }
  loop.disable();
  return { id: request.id, type: 'claimed', result: { outcomes, lagMs, errors, eventLoopDelayP99Ms: loop.percentile(99) / 1e6 } };
}

async function socketClaims(request: Extract<EngagementRequest, { type: 'socket-claims' }>): Promise<EngagementReply> {
  const outcomes: ClaimOutcome[] = [];
  const lagMs: number[] = [];
  const errors: string[] = [];
  loop.reset();
  loop.enable();
  const running: Promise<void>[] = [];
  const claim = (n: number, client: Client) =>
    new Promise<void>((resolve) => {
      const startedAt = Date.now();
      const started = performance.now();
      const ref = String(n);
      const done = (status: number, reason?: string, remaining?: number) => {
        clearTimeout(timer);
        pendingClaims.delete(ref);
        outcomes.push({ n, status, reason, remaining, startedAt, endedAt: Date.now(), ms: performance.now() - started });
        resolve();
      };
      const timer = setTimeout(() => {
        if (errors.length < 5) errors.push(`no answer to claim ${n} within ${request.timeoutMs} ms`);
        done(0, 'timeout');
      }, request.timeoutMs);
      pendingClaims.set(ref, (answer) => done(answer.status, answer.body.reason, answer.body.remaining));
      if (client.closed || client.socket.readyState !== LiteWebSocket.OPEN) return done(0, 'socket closed');
      client.socket.send(JSON.stringify({ type: 'claim', offerId: request.offerId, ref }));
    });
  for (let n = request.processIndex; n < request.total; n += request.processes) {
    const client = clients[Math.floor(n / request.processes)];
    if (!client) {
      if (errors.length < 5) errors.push(`no viewer for claim ${n}`);
      continue;
    }
    const due = request.startAt + (n * 1000) / request.rate;
    const wait = due - Date.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    lagMs.push(Math.max(0, Date.now() - due));
    running.push(claim(n, client));
  }
  await Promise.all(running);
  loop.disable();
  return { id: request.id, type: 'claimed', result: { outcomes, lagMs, errors, eventLoopDelayP99Ms: loop.percentile(99) / 1e6 } };
}

async function handle(request: EngagementRequest): Promise<EngagementReply> {
  switch (request.type) {
    case 'connect':
      return connect(request);
    case 'chat':
      return chat(request.id, request.slots);
    case 'collect-chat':
      return collectChat(request.id);
    case 'collect-offer':
      return collectOffer(request.id);
    case 'claims':
      return claims(request);
    case 'socket-claims':
      return socketClaims(request);
    case 'close':
      for (const client of clients) client.socket.terminate();
      for (const agent of agents.values()) agent.destroy();
      return { id: request.id, type: 'closed' };
  }
}

answerRequests(handle);

// Child process of the cue delivery runs: hosts WebSocket clients or data-channel (werift WHEP) viewers of one show, timestamps every cue they receive, and answers the parent over IPC.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { CountingViewer, installCountingSrtp } from './counting-viewer.ts';
import { deleteSession, postSdp } from './livecue-api.ts';
import { answerRequests } from './ipc-child.ts';

export type ListenerRequest =
  | { id: number; type: 'ws'; count: number; url: string; concurrency: number; timeoutMs: number }
  | { id: number; type: 'dc'; count: number; whepUrl: string; baseUrl: string; concurrency: number; timeoutMs: number }
  | { id: number; type: 'reset' }
  | { id: number; type: 'collect'; postedAt: Record<number, number> }
  | { id: number; type: 'close' };

export interface CollectResult {
  clients: number;
  /** Clients whose connection closed during the run. */
  closed: number;
  /** receipt - POST start (ms), one per (cue, client) received. */
  latencies: number[];
  /** (cue, client) pairs never received. */
  lost: number;
  duplicates: number;
  /** Cues received that the parent did not post (other seqs). */
  unknown: number;
  eventLoopDelayP99Ms: number;
}

export type ListenerReply =
  | { id: number; type: 'ready'; connected: number; failed: number; errors: string[]; setupMs: number[] }
  | { id: number; type: 'reset' }
  | { id: number; type: 'collected'; result: CollectResult }
  | { id: number; type: 'closed' };

interface Client {
  /** seq -> Date.now() of the first receipt. */
  received: Map<number, number>;
  duplicates: number;
  closed: boolean;
  close(): Promise<void>;
}

const clients: Client[] = [];
const loop = monitorEventLoopDelay({ resolution: 10 });

function record(client: Client, text: string, wrapped: boolean): void {
  const at = Date.now();
  let message: any;
  try {
    message = JSON.parse(text);
  } catch {
    return;
  }
  const cue = wrapped ? (message.type === 'cue' ? message.cue : undefined) : message;
  if (typeof cue?.seq !== 'number') return;
  if (client.received.has(cue.seq)) client.duplicates++;
  else client.received.set(cue.seq, at);
}

function openSocket(url: string, timeoutMs: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const client: Client = {
      received: new Map(),
      duplicates: 0,
      closed: false,
      close: async () => socket.terminate(),
    };
    const timer = setTimeout(() => (socket.terminate(), reject(new Error(`no state message after ${timeoutMs} ms`))), timeoutMs);
    socket.on('message', (data) => {
      const text = data.toString();
      if (timer && text.startsWith('{"type":"state"')) {
        clearTimeout(timer);
        resolve(client);
        return;
      }
      record(client, text, true);
    });
    socket.on('close', () => (client.closed = true));
    socket.on('error', (error) => (clearTimeout(timer), reject(error)));
  });
}

let srtpInstalled = false;

async function openViewer(whepUrl: string, baseUrl: string, timeoutMs: number): Promise<Client> {
  if (!srtpInstalled) installCountingSrtp();
  srtpInstalled = true;
  const viewer = new CountingViewer();
  const client: Client = { received: new Map(), duplicates: 0, closed: false, close: async () => {} };
  const channel = viewer.pc.createDataChannel('livecue-cues', { negotiated: true, id: 0, ordered: true });
  channel.onMessage.subscribe((data: string | Buffer) => record(client, data.toString(), false));
  const opened = new Promise<void>((resolve) => {
    if (channel.readyState === 'open') resolve();
    channel.stateChanged.subscribe((state: string) => state === 'open' && resolve());
  });
  channel.stateChanged.subscribe((state: string) => state === 'closed' && (client.closed = true));
  try {
    const { location, answer } = await postSdp(whepUrl, await viewer.offer());
    viewer.location = location;
    client.close = async () => {
      await deleteSession(baseUrl, location);
      await viewer.close().catch(() => {});
    };
    await viewer.accept(answer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      opened,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`data channel not open after ${timeoutMs} ms`)), timeoutMs))),
    ]);
    clearTimeout(timer);
    return client;
  } catch (error) {
    await client.close();
    await viewer.close().catch(() => {});
    throw error;
  }
}

async function open(count: number, concurrency: number, one: () => Promise<Client>, id: number): Promise<ListenerReply> {
  const setupMs: number[] = [];
  const errors: string[] = [];
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const started = Date.now();
      try {
        clients.push(await one());
        setupMs.push(Date.now() - started);
      } catch (error) {
        failed++;
        if (errors.length < 5) errors.push((error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  loop.reset();
  loop.enable();
  return { id, type: 'ready', connected: setupMs.length, failed, errors, setupMs };
}

function collect(id: number, postedAt: Record<number, number>): ListenerReply {
  loop.disable();
  const latencies: number[] = [];
  let lost = 0;
  let unknown = 0;
  const posted = Object.entries(postedAt).map(([seq, at]) => [Number(seq), at] as const);
  for (const client of clients) {
    for (const [seq, at] of posted) {
      const receivedAt = client.received.get(seq);
      if (receivedAt === undefined) lost++;
      else latencies.push(receivedAt - at);
    }
    for (const seq of client.received.keys()) if (!(seq in postedAt)) unknown++;
  }
  return {
    id,
    type: 'collected',
    result: {
      clients: clients.length,
      closed: clients.filter((c) => c.closed).length,
      latencies,
      lost,
      duplicates: clients.reduce((sum, c) => sum + c.duplicates, 0),
      unknown,
      eventLoopDelayP99Ms: loop.percentile(99) / 1e6,
    },
  };
}

async function handle(request: ListenerRequest): Promise<ListenerReply> {
  switch (request.type) {
    case 'ws':
      return open(request.count, request.concurrency, () => openSocket(request.url, request.timeoutMs), request.id);
    case 'dc':
      return open(request.count, request.concurrency, () => openViewer(request.whepUrl, request.baseUrl, request.timeoutMs), request.id);
    case 'reset':
      for (const client of clients) client.received.clear();
      loop.reset();
      return { id: request.id, type: 'reset' };
    case 'collect':
      return collect(request.id, request.postedAt);
    case 'close':
      await Promise.all(clients.map((client) => client.close().catch(() => {})));
      return { id: request.id, type: 'closed' };
  }
}

answerRequests(handle);

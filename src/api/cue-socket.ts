// The viewers' WebSocket: ws(s)://<host>/live/<playbackId>/events. A client gets the show's current
// state at once, then every cue, offer stock change, chat message, reaction count and poll tally from
// any node; it may send chat, reactions and votes (src/engagement) and claim offers once it says who it is.
import { RateLimiter } from '../rate-limit.ts';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { CueHub } from '../cues/cue-hub.ts';
import type { CueService } from '../cues/cue-service.ts';
import type { SessionRegistry } from '../live/session-registry.ts';
import type { Logger } from '../log.ts';
import type { StreamRow, StreamStore } from '../streams/stream-store.ts';
import { stateAt } from './cues-routes.ts';
import type { PlaybackAccess } from '../security/playback-access.ts';
import type { EngagementService } from '../engagement/engagement-service.ts';
import type { Viewer, ViewerIdentity } from '../offers/viewer-identity.ts';
import { z } from 'zod';
import type { ClaimAnswer, ClaimsEndpoint } from './claims-endpoint.ts';
import { problemBody } from './problem.ts';
import { SocketFanout } from './socket-fanout.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { clientAddress } from './client-address.ts';
import type { ProxyTrust } from '../config/trust-proxy.ts';

const PATH = /^\/live\/([A-Za-z0-9]{8,64})\/events$/;
const HEARTBEAT_MS = 30_000;
const HEARTBEAT_GROUPS = 30;
/** A client that cannot keep up is dropped rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Claims per second per viewer on the socket (a repeat is answered with the first claim anyway). */
const CLAIMS_PER_SECOND = 5;
/** How long a new viewer's state may take to read before the socket is closed (its messages wait for it). */
const STATE_TIMEOUT_MS = 10_000;

/** The client's `ref` on a message (a string of up to 64 characters), to echo in what answers it. */
function echoRef(message: unknown): { ref?: string } {
  const ref = (message as { ref?: unknown } | null)?.ref;
  return typeof ref === 'string' && ref.length <= 64 ? { ref } : {};
}

const socketClaim = z.strictObject({
  type: z.literal('claim'),
  offerId: z.string().max(64),
  idempotencyKey: z.string().min(1).max(128).optional(),
  /** Echoed in the answer so the client can match it to its claim. */
  ref: z.string().max(64).optional(),
});

/** Answers an upgrade request that will not become a socket, and closes the connection. */
function refuse(socket: Duplex, status: string, headers = ''): void {
  if (!socket.destroyed) socket.end(`HTTP/1.1 ${status}\r\n${headers}Connection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Every answer to one viewer goes through here: a viewer that stops reading is dropped, not buffered without bound. */
function reply(ws: WebSocket, text: string): void {
  if (ws.readyState !== ws.OPEN) return;
  if (ws.bufferedAmount + text.length > MAX_BUFFERED_BYTES) return void ws.terminate();
  ws.send(text);
}

export interface CueSocketDeps {
  hub: CueHub;
  cues: CueService;
  streams: StreamStore;
  registry: SessionRegistry;
  logger: Logger;
  access: PlaybackAccess;
  engagement: EngagementService;
  /** The stream's open offers and their units left, for the first message. */
  stock?: (streamId: string) => Promise<{ id: string; quantity: number; remaining: number }[]>;
  /** Claims sent on the socket (`{"type":"claim","offerId":…}`); without it they are engagement messages (refused). */
  claims?: ClaimsEndpoint;
  /** Proves who a viewer is (?viewerToken=: the shop's token, or one livecue issued). */
  identity: ViewerIdentity;
  /** New connections per second per client address. */
  connectsPerSecond: number;
  metrics?: Metrics;
  /** Messages per second from one client address, over all its sockets and viewer ids. */
  messagesPerAddressPerSecond: number;
  /** Sockets open at once per client address. */
  maxSocketsPerAddress: number;
  /** Which proxies' X-Forwarded-For names the client (TRUST_PROXY). */
  trust: ProxyTrust;
}

export function attachCueSocket(server: Server, deps: CueSocketDeps): { close(): void } {
  return new ViewerSockets(server, deps);
}

/** The viewers' sockets of one node: who is connected to which show, what they send, and what they get. */
class ViewerSockets {
  readonly #connects: RateLimiter;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  readonly #clients = new Map<string, Set<WebSocket>>();
  readonly #perAddress = new Map<string, number>();
  // Viewer ids are free to get, so what one address may send is limited too, not only what one id may.
  readonly #addressMessages: RateLimiter;
  readonly #claimLimit = new RateLimiter(CLAIMS_PER_SECOND, CLAIMS_PER_SECOND * 2);
  readonly #alive = new WeakSet<WebSocket>();
  readonly #heartbeatGroup = new WeakMap<WebSocket, number>();
  // Each message is serialised and framed once per node, then written to every viewer of the show.
  readonly #fanout = new SocketFanout((playbackId) => this.#clients.get(playbackId), MAX_BUFFERED_BYTES);
  readonly #heartbeat: NodeJS.Timeout;
  readonly #unsubscribe: () => void;
  #connected = 0;
  #tick = 0;

  constructor(
    private readonly server: Server,
    private readonly deps: CueSocketDeps,
  ) {
    this.#connects = new RateLimiter(deps.connectsPerSecond, deps.connectsPerSecond * 2);
    this.#addressMessages = new RateLimiter(deps.messagesPerAddressPerSecond, deps.messagesPerAddressPerSecond * 2);
    // A viewer too far behind to take a cue is dropped (it reconnects and gets the state); chat and stock are skipped.
    const onCue = (playbackId: string, cue: unknown) => this.#fanout.send(playbackId, JSON.stringify({ type: 'cue', cue }), { mustDeliver: true });
    const onOffer = (playbackId: string, offer: unknown) => this.#fanout.send(playbackId, JSON.stringify({ type: 'offer', offer }));
    const onEvent = (playbackId: string, event: unknown) => this.#fanout.send(playbackId, JSON.stringify(event));
    const onResync = () => this.#resync();
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head);
    deps.hub.on('cue', onCue);
    deps.hub.on('offer', onOffer);
    deps.hub.on('event', onEvent);
    deps.hub.on('resync', onResync);
    server.on('upgrade', onUpgrade);
    this.#unsubscribe = () => {
      deps.hub.off('cue', onCue);
      deps.hub.off('offer', onOffer);
      deps.hub.off('event', onEvent);
      deps.hub.off('resync', onResync);
      server.off('upgrade', onUpgrade);
    };
    // Each socket is pinged once per HEARTBEAT_MS, in one of HEARTBEAT_GROUPS groups a tick apart: pinging thousands
    // of viewers at once held the event loop (and every claim and chat message waiting on it) for ~100 ms.
    this.#heartbeat = setInterval(() => this.#ping(), HEARTBEAT_MS / HEARTBEAT_GROUPS);
    this.#heartbeat.unref();
  }

  close(): void {
    clearInterval(this.#heartbeat);
    this.#unsubscribe();
    for (const set of this.#clients.values()) for (const ws of set) ws.terminate();
    this.#wss.close();
  }

  /**
   * What a viewer gets first: the show's state and cues, the open offers' stock and the open poll's tally (both
   * announced only when they change), and the viewer's own vote in that poll.
   */
  async #stateMessage(stream: StreamRow, viewer?: Viewer): Promise<string> {
    const { deps } = this;
    const [cues, offers] = await Promise.all([deps.cues.list(stream), deps.stock ? deps.stock(stream.id).catch(() => []) : []]);
    const state = stateAt(deps.registry, stream, cues, undefined);
    const pollId = state.poll?.pollId;
    const polls = pollId
      ? await Promise.all([deps.engagement.tally(pollId), viewer ? deps.engagement.voteOf(pollId, viewer.id) : undefined]).then(
          ([tally, vote]) => [{ pollId, tally, ...(vote === undefined ? {} : { vote }) }],
          () => [],
        )
      : [];
    return JSON.stringify({ type: 'state', state, cues, offers, polls });
  }

  /** After a Redis outage, what was published meanwhile never arrived: every viewer gets the state again. */
  #resync(): void {
    for (const [playbackId, set] of this.#clients) {
      void this.deps.streams
        .getByPlaybackId(playbackId)
        .then(async (stream) => {
          if (!stream) return;
          const text = await this.#stateMessage(stream);
          for (const socket of set) reply(socket, text);
        })
        .catch((error: Error) => this.deps.logger.warn({ err: error, playbackId }, 'cannot resync viewers'));
    }
  }

  /** Admits an upgrade to /live/<playbackId>/events, within the per-address bounds, or answers and closes it. */
  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    // Only the request target's path and query are read: any other form (absolute, `//`, `*`) is not a viewer socket.
    const target = req.url ?? '';
    const url = target.startsWith('/') && !target.startsWith('//') ? URL.parse(target, 'http://livecue.invalid') : null;
    const match = url ? PATH.exec(url.pathname) : null;
    // livecue has no other upgrade endpoint: anything else is answered and closed, never left holding a socket.
    if (!url || !match) return refuse(socket, '404 Not Found');
    const playbackId = match[1]!;
    const address = clientAddress(req, this.deps.trust);
    const waitMs = this.#connects.take(address);
    if (waitMs > 0) return refuse(socket, '429 Too Many Requests', `Retry-After: ${Math.ceil(waitMs / 1000)}\r\n`);
    if ((this.#perAddress.get(address) ?? 0) >= this.deps.maxSocketsPerAddress) return refuse(socket, '429 Too Many Requests');
    // Counted from now (the lookup below is async), so a burst cannot pass the cap while it waits.
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    let counted = true;
    socket.once('close', () => {
      if (!counted) return;
      counted = false;
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.#perAddress.set(address, left);
      else this.#perAddress.delete(address);
    });
    void this.deps.streams.getByPlaybackId(playbackId).then(
      (stream) => {
        if (!stream) return refuse(socket, '404 Not Found');
        if (!this.deps.access.mayPlay(stream, url.searchParams.get('token') ?? undefined)) return refuse(socket, '403 Forbidden');
        if (socket.destroyed) return;
        const viewer = this.deps.identity.verify(url.searchParams.get('viewerToken'));
        this.#wss.handleUpgrade(req, socket, head, (ws) => this.#join(ws, { stream, playbackId, address, viewer }));
      },
      (error: Error) => {
        this.deps.logger.error({ err: error }, 'cue socket upgrade failed');
        socket.destroy();
      },
    );
  }

  /** A new viewer socket: in the audience at once (nothing published from now on is missed), its state first. */
  #join(ws: WebSocket, who: { stream: StreamRow; playbackId: string; address: string; viewer: Viewer | undefined }): void {
    const { deps } = this;
    const { playbackId } = who;
    let set = this.#clients.get(playbackId);
    if (!set) this.#clients.set(playbackId, (set = new Set()));
    const audience = set;
    this.#fanout.hold(ws);
    audience.add(ws);
    deps.metrics?.viewerSockets.inc();
    this.#alive.add(ws);
    this.#heartbeatGroup.set(ws, this.#connected++ % HEARTBEAT_GROUPS);
    ws.on('pong', () => this.#alive.add(ws));
    ws.on('message', (data, isBinary) => this.#message(ws, who, data, isBinary));
    ws.on('close', () => {
      deps.metrics?.viewerSockets.dec();
      audience.delete(ws);
      if (audience.size === 0) this.#clients.delete(playbackId);
    });
    ws.on('error', () => ws.terminate());
    // Held messages wait for the state, so the state may not take long: a database that does not answer
    // closes the socket and the viewer reconnects and asks again (without its state it would be out of step).
    let stateTimer: NodeJS.Timeout | undefined;
    void Promise.race([
      this.#stateMessage(who.stream, who.viewer),
      new Promise<never>((_, reject) => (stateTimer = setTimeout(() => reject(new Error(`no show state within ${STATE_TIMEOUT_MS} ms`)), STATE_TIMEOUT_MS))),
    ])
      .then(
        (text) => this.#fanout.greet(ws, text),
        (error: Error) => {
          deps.logger.warn({ err: error, playbackId }, 'cannot send the show state');
          ws.close(1011, 'show state unavailable; reconnect');
        },
      )
      .finally(() => clearTimeout(stateTimer));
  }

  /** A viewer's message: a claim, or chat, a reaction or a vote for engagement. */
  #message(ws: WebSocket, who: { stream: StreamRow; playbackId: string; address: string; viewer: Viewer | undefined }, data: RawData, isBinary: boolean): void {
    if (isBinary) return ws.close(1003, 'binary frames are not accepted');
    if (this.#addressMessages.take(who.address) > 0)
      return reply(ws, JSON.stringify({ type: 'error', error: 'slow down: too many messages from this address' }));
    let message: unknown;
    try {
      message = JSON.parse(data.toString());
    } catch {
      reply(ws, JSON.stringify({ type: 'error', error: 'malformed JSON' }));
      return ws.close(1007, 'malformed JSON');
    }
    if ((message as { type?: unknown } | null)?.type === 'claim' && this.deps.claims) {
      void this.#claim(ws, message, who.viewer, this.deps.claims);
      return;
    }
    // A message may carry a ref of the client's: an error it causes says it (the rest is engagement's).
    const echo = echoRef(message);
    let forEngagement = message;
    if (echo.ref !== undefined) {
      const { ref: _ref, ...rest } = message as Record<string, unknown>;
      forEngagement = rest;
    }
    void this.deps.engagement.handle(who.playbackId, who.stream.id, who.viewer, forEngagement).then(
      (outcome) => {
        if (outcome.ok) return;
        reply(ws, JSON.stringify({ type: 'error', error: outcome.error, ...echo }));
        if (outcome.close) ws.close(outcome.close.code, outcome.close.reason);
      },
      (error: Error) => this.deps.logger.warn({ err: error }, 'engagement message failed'),
    );
  }

  /** A claim on the socket gets the HTTP endpoint's status and body back, with the client's ref to match it. */
  async #claim(ws: WebSocket, message: unknown, viewer: Viewer | undefined, claims: ClaimsEndpoint): Promise<void> {
    const parsed = socketClaim.safeParse(message);
    if (!parsed.success) {
      reply(ws, JSON.stringify({ type: 'error', error: `invalid claim: ${parsed.error.issues[0]?.message ?? 'unknown'}`, ...echoRef(message) }));
      return;
    }
    const { offerId, idempotencyKey, ref } = parsed.data;
    const waitMs = viewer ? this.#claimLimit.take(viewer.id) : 0;
    const answer: ClaimAnswer =
      waitMs > 0
        ? { status: 429, body: problemBody(429, 'too many claims; slow down', { code: 'rate_limited', retryAfterMs: waitMs }) }
        : await claims.place(offerId, viewer, idempotencyKey);
    reply(ws, JSON.stringify({ type: 'claim', ref: ref ?? null, status: answer.status, body: answer.body }));
  }

  #ping(): void {
    const due = this.#tick++ % HEARTBEAT_GROUPS;
    for (const set of this.#clients.values()) {
      for (const ws of set) {
        if (this.#heartbeatGroup.get(ws) !== due) continue;
        if (!this.#alive.has(ws)) {
          ws.terminate();
          continue;
        }
        this.#alive.delete(ws);
        ws.ping();
      }
    }
  }
}

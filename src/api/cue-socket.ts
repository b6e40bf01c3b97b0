// The viewers' WebSocket: ws(s)://<host>/live/<playbackId>/events. A client gets the show's current
// state at once, then every cue, offer stock change, chat message, reaction count and poll tally from
// any node; it may send chat, reactions and votes (src/engagement) and claim offers once it says who it is.
import { RateLimiter } from '../rate-limit.ts';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
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

export function attachCueSocket(
  server: Server,
  deps: {
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
  },
): { close(): void } {
  const connects = new RateLimiter(deps.connectsPerSecond, deps.connectsPerSecond * 2);
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  const clients = new Map<string, Set<WebSocket>>();
  const perAddress = new Map<string, number>();
  // Viewer ids are free to get, so what one address may send is limited too, not only what one id may.
  const addressMessages = new RateLimiter(deps.messagesPerAddressPerSecond, deps.messagesPerAddressPerSecond * 2);
  const alive = new WeakSet<WebSocket>();
  const heartbeatGroup = new WeakMap<WebSocket, number>();

  // Each message is serialised and framed once per node, then written to every viewer of the show.
  const fanout = new SocketFanout((playbackId) => clients.get(playbackId), MAX_BUFFERED_BYTES);
  // A viewer too far behind to take a cue is dropped (it reconnects and gets the state); chat and stock are skipped.
  const onCue = (playbackId: string, cue: unknown) => fanout.send(playbackId, JSON.stringify({ type: 'cue', cue }), { mustDeliver: true });
  deps.hub.on('cue', onCue);
  const onOffer = (playbackId: string, offer: unknown) => fanout.send(playbackId, JSON.stringify({ type: 'offer', offer }));
  deps.hub.on('offer', onOffer);
  const onEvent = (playbackId: string, event: unknown) => fanout.send(playbackId, JSON.stringify(event));
  deps.hub.on('event', onEvent);
  // What a viewer gets first: the show's state and cues, the open offers' stock and the open poll's tally (both
  // announced only when they change), and the viewer's own vote in that poll.
  const stateMessage = async (stream: StreamRow, viewer?: Viewer) => {
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
  };
  // After a Redis outage, what was published meanwhile never arrived: every viewer gets the state again.
  const onResync = () => {
    for (const [playbackId, set] of clients) {
      void deps.streams
        .getByPlaybackId(playbackId)
        .then(async (stream) => {
          if (!stream) return;
          const text = await stateMessage(stream);
          for (const socket of set) reply(socket, text);
        })
        .catch((error: Error) => deps.logger.warn({ err: error, playbackId }, 'cannot resync viewers'));
    }
  };
  deps.hub.on('resync', onResync);

  // A claim on the socket gets the HTTP endpoint's status and body back, with the client's ref to match it.
  const claimLimit = new RateLimiter(CLAIMS_PER_SECOND, CLAIMS_PER_SECOND * 2);
  const claimOnSocket = async (ws: WebSocket, message: unknown, viewer: Viewer | undefined) => {
    const parsed = socketClaim.safeParse(message);
    if (!parsed.success) {
      reply(ws, JSON.stringify({ type: 'error', error: `invalid claim: ${parsed.error.issues[0]?.message ?? 'unknown'}`, ...echoRef(message) }));
      return;
    }
    const { offerId, idempotencyKey, ref } = parsed.data;
    const waitMs = viewer ? claimLimit.take(viewer.id) : 0;
    const answer: ClaimAnswer =
      waitMs > 0
        ? { status: 429, body: problemBody(429, 'too many claims; slow down', { code: 'rate_limited', retryAfterMs: waitMs }) }
        : await deps.claims!.place(offerId, viewer, idempotencyKey);
    reply(ws, JSON.stringify({ type: 'claim', ref: ref ?? null, status: answer.status, body: answer.body }));
  };

  let connected = 0;
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    // Only the request target's path and query are read: any other form (absolute, `//`, `*`) is not a viewer socket.
    const target = req.url ?? '';
    const url = target.startsWith('/') && !target.startsWith('//') ? URL.parse(target, 'http://livecue.invalid') : null;
    const match = url ? PATH.exec(url.pathname) : null;
    // livecue has no other upgrade endpoint: anything else is answered and closed, never left holding a socket.
    if (!url || !match) return refuse(socket, '404 Not Found');
    const playbackId = match[1]!;
    const address = clientAddress(req, deps.trust);
    const waitMs = connects.take(address);
    if (waitMs > 0) return refuse(socket, '429 Too Many Requests', `Retry-After: ${Math.ceil(waitMs / 1000)}\r\n`);
    if ((perAddress.get(address) ?? 0) >= deps.maxSocketsPerAddress) return refuse(socket, '429 Too Many Requests');
    // Counted from now (the lookup below is async), so a burst cannot pass the cap while it waits.
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    let counted = true;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    };
    socket.once('close', uncount);
    void deps.streams.getByPlaybackId(playbackId).then(
      (stream) => {
        if (!stream) return refuse(socket, '404 Not Found');
        if (!deps.access.mayPlay(stream, url.searchParams.get('token') ?? undefined)) return refuse(socket, '403 Forbidden');
        if (socket.destroyed) return;
        wss.handleUpgrade(req, socket, head, (ws) => {
          let set = clients.get(playbackId);
          if (!set) clients.set(playbackId, (set = new Set()));
          // In the audience at once (nothing published from now on is missed), but its state is its first message.
          fanout.hold(ws);
          set.add(ws);
          deps.metrics?.viewerSockets.inc();
          alive.add(ws);
          heartbeatGroup.set(ws, connected++ % HEARTBEAT_GROUPS);
          ws.on('pong', () => alive.add(ws));
          const viewer = deps.identity.verify(url.searchParams.get('viewerToken'));
          ws.on('message', (data, isBinary) => {
            if (isBinary) return ws.close(1003, 'binary frames are not accepted');
            if (addressMessages.take(address) > 0) return reply(ws, JSON.stringify({ type: 'error', error: 'slow down: too many messages from this address' }));
            let message: unknown;
            try {
              message = JSON.parse(data.toString());
            } catch {
              reply(ws, JSON.stringify({ type: 'error', error: 'malformed JSON' }));
              return ws.close(1007, 'malformed JSON');
            }
            if ((message as { type?: unknown } | null)?.type === 'claim' && deps.claims) {
              void claimOnSocket(ws, message, viewer);
              return;
            }
            // A message may carry a ref of the client's: an error it causes says it (the rest is engagement's).
            const echo = echoRef(message);
            let forEngagement = message;
            if (echo.ref !== undefined) {
              const { ref: _ref, ...rest } = message as Record<string, unknown>;
              forEngagement = rest;
            }
            void deps.engagement.handle(playbackId, stream.id, viewer, forEngagement).then(
              (outcome) => {
                if (outcome.ok) return;
                reply(ws, JSON.stringify({ type: 'error', error: outcome.error, ...echo }));
                if (outcome.close) ws.close(outcome.close.code, outcome.close.reason);
              },
              (error: Error) => deps.logger.warn({ err: error }, 'engagement message failed'),
            );
          });
          ws.on('close', () => {
            deps.metrics?.viewerSockets.dec();
            set.delete(ws);
            if (set.size === 0) clients.delete(playbackId);
          });
          ws.on('error', () => ws.terminate());
          // Held messages wait for the state, so the state may not take long: a database that does not answer
          // closes the socket and the viewer reconnects and asks again (without its state it would be out of step).
          let stateTimer: NodeJS.Timeout | undefined;
          void Promise.race([
            stateMessage(stream, viewer),
            new Promise<never>((_, reject) => (stateTimer = setTimeout(() => reject(new Error(`no show state within ${STATE_TIMEOUT_MS} ms`)), STATE_TIMEOUT_MS))),
          ])
            .then(
              (text) => fanout.greet(ws, text),
              (error: Error) => {
                deps.logger.warn({ err: error, playbackId }, 'cannot send the show state');
                ws.close(1011, 'show state unavailable; reconnect');
              },
            )
            .finally(() => clearTimeout(stateTimer));
        });
      },
      (error: Error) => {
        deps.logger.error({ err: error }, 'cue socket upgrade failed');
        socket.destroy();
      },
    );
  };
  server.on('upgrade', onUpgrade);

  // Each socket is pinged once per HEARTBEAT_MS, in one of HEARTBEAT_GROUPS groups a tick apart: pinging thousands of
  // viewers at once held the event loop (and every claim and chat message waiting on it) for ~100 ms.
  let tick = 0;
  const heartbeat = setInterval(() => {
    const due = tick++ % HEARTBEAT_GROUPS;
    for (const set of clients.values()) {
      for (const ws of set) {
        if (heartbeatGroup.get(ws) !== due) continue;
        if (!alive.has(ws)) {
          ws.terminate();
          continue;
        }
        alive.delete(ws);
        ws.ping();
      }
    }
  }, HEARTBEAT_MS / HEARTBEAT_GROUPS);
  heartbeat.unref();

  return {
    close() {
      clearInterval(heartbeat);
      deps.hub.off('cue', onCue);
      deps.hub.off('offer', onOffer);
      deps.hub.off('event', onEvent);
      deps.hub.off('resync', onResync);
      server.off('upgrade', onUpgrade);
      for (const set of clients.values()) for (const ws of set) ws.terminate();
      wss.close();
    },
  };
}

// The page's one connection to livecue's viewers' socket, /live/<playbackId>/events?viewerToken=<token>, held
// on every live path: the show's cues for the HLS path (WebRTC has its data channel) and the show's
// conversation (chat, reactions, poll tallies, offer stock) with this viewer's own messages, votes and
// claims. Reconnects with backoff; each connection starts with the show's state. A replay needs none.
import type { CueMessage } from '../player/cue-scheduler.ts';
import { TypedEmitter } from '../../../src/contract/typed-emitter.ts';
import type { PlaybackUrls } from '../player/playback-urls.ts';
import { cuesFromEventMessage, type CueFeed } from './cue-feed.ts';

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;
/** The server answers a claim within its own patience (a few seconds); past this the answer is not coming. */
const CLAIM_TIMEOUT_MS = 15_000;

/** idle: not asked to connect yet; connecting: (re)connecting; closed: for good (the page went to a replay). */
export type SocketState = 'idle' | 'connecting' | 'open' | 'closed';

export interface ChatMessage {
  id: string;
  viewer: { id: string; name: string | null };
  text: string;
  at: string;
}

/** An offer's units, as the server announces them while claims come in; `id` is its offer.start cue's. */
export interface OfferStock {
  id: string;
  quantity: number;
  remaining: number;
}

/** The server's answer to a claim: the HTTP endpoint's status and body; status 0 when none came. */
export interface ClaimAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface ViewerSocketEvents {
  state: [SocketState];
  chat: [ChatMessage];
  chatDeleted: [messageId: string];
  /** Reactions of the last second, emoji -> count. */
  reactions: [Record<string, number>];
  /** Votes per option index. */
  tally: [pollId: string, tally: Record<string, number>];
  /** This viewer's vote in a poll, as the server remembers it. */
  voted: [pollId: string, option: number];
  stock: [OfferStock];
  /** The server refused something this viewer sent ("slow down", "you are muted in this chat", a second vote). */
  refused: [error: string];
  /** The show went live (a scheduled show's waiting room opens on it). */
  live: [];
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function countsOf(value: unknown): Record<string, number> | undefined {
  if (!isRecord(value)) return undefined;
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, number] => isCount(entry[1])));
}

export class ViewerSocket extends TypedEmitter<ViewerSocketEvents> implements CueFeed {
  readonly #url: string;
  #socket: WebSocket | undefined;
  #state: SocketState = 'idle';
  #retryMs = FIRST_RETRY_MS;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Every cue heard on the socket, so a path that starts following later gets them at once. */
  readonly #cues = new Map<string, CueMessage>();
  readonly #cueFollowers = new Set<(cues: CueMessage[]) => void>();
  readonly #claims = new Map<string, { resolve(answer: ClaimAnswer): void; timer: ReturnType<typeof setTimeout> }>();
  #claimRef = 0;

  /** `viewerToken`: proves who this viewer is (without one the socket only listens). */
  constructor(urls: PlaybackUrls, viewerToken: string | undefined) {
    super();
    this.#url = urls.events({ viewerToken });
  }

  get state(): SocketState {
    return this.#state;
  }

  /** Whether this page takes part (a live path): votes and claims go out, or wait for the reconnect. */
  get live(): boolean {
    return this.#state === 'connecting' || this.#state === 'open';
  }

  /** Starts connecting; harmless when connected, and once closed. */
  connect(): void {
    if (this.#state !== 'idle') return;
    this.#open();
  }

  /** For good: the page plays a replay now. Claims still waiting are answered with status 0. */
  close(): void {
    if (this.#state === 'closed') return;
    clearTimeout(this.#timer);
    this.#setState('closed');
    this.#socket?.close();
    this.#socket = undefined;
    this.#dropClaims();
  }

  followCues(onCues: (cues: CueMessage[]) => void): () => void {
    this.#cueFollowers.add(onCues);
    if (this.#cues.size > 0) onCues([...this.#cues.values()]);
    return () => this.#cueFollowers.delete(onCues);
  }

  /** Each returns whether the message went out (false while the socket reconnects). */
  chat(text: string): boolean {
    return this.#send({ type: 'chat', text });
  }

  react(emoji: string): boolean {
    return this.#send({ type: 'reaction', emoji });
  }

  vote(pollId: string, option: number): boolean {
    return this.#send({ type: 'vote', pollId, option });
  }

  /** Claims a unit of the offer whose offer.start cue is `offerId`; the server's answer, matched by ref. */
  claim(offerId: string): Promise<ClaimAnswer> {
    const ref = `claim-${++this.#claimRef}`;
    if (!this.#send({ type: 'claim', offerId, ref })) {
      return Promise.resolve({ status: 0, body: { detail: 'not connected: try again in a moment' } });
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#answerClaim(ref, { status: 0, body: { detail: 'no answer from the server: try again' } }), CLAIM_TIMEOUT_MS);
      this.#claims.set(ref, { resolve, timer });
    });
  }

  #send(message: Record<string, unknown>): boolean {
    if (this.#state !== 'open' || this.#socket?.readyState !== WebSocket.OPEN) return false;
    this.#socket.send(JSON.stringify(message));
    return true;
  }

  #open(): void {
    if (this.#state === 'closed') return;
    this.#setState('connecting');
    const socket = new WebSocket(this.#url);
    this.#socket = socket;
    socket.addEventListener('open', () => {
      this.#retryMs = FIRST_RETRY_MS;
      if (this.#socket === socket) this.#setState('open');
    });
    socket.addEventListener('message', (event) => {
      if (this.#socket === socket && typeof event.data === 'string') this.#onMessage(event.data);
    });
    socket.addEventListener('close', () => {
      if (this.#socket !== socket || this.#state === 'closed') return;
      // A claim sent on the lost connection may or may not have been placed; asking again is answered with it.
      this.#dropClaims();
      this.#setState('connecting');
      this.#timer = setTimeout(() => this.#open(), this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
    });
  }

  #onMessage(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!isRecord(message)) return;
    switch (message.type) {
      case 'chat': {
        const { id, viewer, text: said, at } = message;
        if (typeof id !== 'string' || typeof said !== 'string' || typeof at !== 'string' || !isRecord(viewer) || typeof viewer.id !== 'string') return;
        this.emit('chat', { id, viewer: { id: viewer.id, name: typeof viewer.name === 'string' ? viewer.name : null }, text: said, at });
        return;
      }
      case 'chat.deleted':
        if (typeof message.id === 'string') this.emit('chatDeleted', message.id);
        return;
      case 'reactions': {
        const counts = countsOf(message.counts);
        if (counts) this.emit('reactions', counts);
        return;
      }
      case 'poll.tally': {
        const tally = countsOf(message.tally);
        if (typeof message.pollId === 'string' && tally) this.emit('tally', message.pollId, tally);
        return;
      }
      case 'offer':
        this.#stock(message.offer);
        return;
      case 'claim':
        if (typeof message.ref === 'string' && typeof message.status === 'number') {
          this.#answerClaim(message.ref, { status: message.status, body: isRecord(message.body) ? message.body : {} });
        }
        return;
      case 'error':
        if (typeof message.error === 'string') this.emit('refused', message.error);
        return;
      case 'live':
        this.emit('live');
        return;
    }
    // The greeting also carries the open offers' stock and the open poll's tally (otherwise announced only when they
    // change), and this viewer's vote in that poll (a reloaded page remembers it).
    if (message.type === 'state') {
      if (Array.isArray(message.offers)) for (const offer of message.offers) this.#stock(offer);
      if (Array.isArray(message.polls)) {
        for (const poll of message.polls) {
          if (!isRecord(poll) || typeof poll.pollId !== 'string') continue;
          const tally = countsOf(poll.tally);
          if (tally) this.emit('tally', poll.pollId, tally);
          if (isCount(poll.vote)) this.emit('voted', poll.pollId, poll.vote);
        }
      }
    }
    // The greeting (`state`, with the show's cues) and each `cue`, read as the HLS path always read them.
    const cues = cuesFromEventMessage(text);
    if (cues.length === 0) return;
    for (const cue of cues) this.#cues.set(cue.id, cue);
    for (const follower of [...this.#cueFollowers]) follower(cues);
  }

  #stock(offer: unknown): void {
    if (isRecord(offer) && typeof offer.id === 'string' && isCount(offer.quantity) && isCount(offer.remaining)) {
      this.emit('stock', { id: offer.id, quantity: offer.quantity, remaining: offer.remaining });
    }
  }

  #answerClaim(ref: string, answer: ClaimAnswer): void {
    const pending = this.#claims.get(ref);
    if (!pending) return;
    this.#claims.delete(ref);
    clearTimeout(pending.timer);
    pending.resolve(answer);
  }

  #dropClaims(): void {
    for (const ref of [...this.#claims.keys()]) this.#answerClaim(ref, { status: 0, body: { detail: 'the connection dropped: try again' } });
  }

  #setState(state: SocketState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.emit('state', state);
  }
}

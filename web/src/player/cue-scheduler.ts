// Player-side commerce cues: parse them from HLS date ranges, sockets or replay files, fire each one when the picture reaches its moment, and fold them into the state a late joiner needs.

export const CUE_TYPES = [
  'product.pin',
  'product.unpin',
  'offer.start',
  'offer.end',
  'poll.open',
  'poll.close',
  'announcement',
  'custom',
] as const;

export type CueType = (typeof CUE_TYPES)[number];

export interface CueMessage {
  id: string;
  seq: number;
  type: CueType;
  payload: Record<string, unknown>;
  /** Seconds on the live session's media timeline (reconnect gaps removed). */
  mediaTime: number;
  /** ISO 8601 time of the frame the cue belongs to, on the EXT-X-PROGRAM-DATE-TIME timeline. */
  wallClock: string;
  /** Seconds, when the cue has a natural duration (e.g. an offer with a deadline). */
  duration?: number;
}

// ---------------------------------------------------------------------------------------------
// Parsing

// The shape of EXT-X-PROGRAM-DATE-TIME; a zone is required because a local time would shift cues by the viewer's offset.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isCueType(value: unknown): value is CueType {
  return (CUE_TYPES as readonly unknown[]).includes(value);
}

function isIsoDate(value: unknown): value is string {
  return typeof value === 'string' && ISO_8601.test(value) && Number.isFinite(Date.parse(value));
}

/** Returns a clean copy of a well-formed cue (unknown fields dropped), or undefined. */
export function parseCueMessage(value: unknown): CueMessage | undefined {
  if (!isRecord(value)) return undefined;
  const { id, seq, type, payload, mediaTime, wallClock, duration } = value;
  if (typeof id !== 'string' || id === '') return undefined;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return undefined;
  if (!isCueType(type) || !isRecord(payload)) return undefined;
  if (!isNonNegativeNumber(mediaTime) || !isIsoDate(wallClock)) return undefined;
  if (duration !== undefined && !isNonNegativeNumber(duration)) return undefined;
  if (type === 'product.pin' && typeof payload.productId !== 'string') return undefined;
  const cue: CueMessage = { id, seq, type, payload, mediaTime, wallClock };
  if (duration !== undefined) cue.duration = duration;
  return cue;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function decodeBase64Utf8(text: string): string | undefined {
  try {
    const bytes = Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** hls.js `DateRange` fits as is (its attr values are already unquoted); so does Safari's metadata cue mapped to this shape. */
export interface DateRangeLike {
  readonly id: string;
  readonly attr: Readonly<Record<string, unknown>>;
}

/** Decodes the X-LIVECUE-CUE attribute of an EXT-X-DATERANGE; other date ranges give undefined. */
export function cueFromDateRange(dateRange: DateRangeLike): CueMessage | undefined {
  const encoded = dateRange.attr['X-LIVECUE-CUE'];
  if (typeof encoded !== 'string') return undefined;
  const json = decodeBase64Utf8(encoded);
  const cue = json === undefined ? undefined : parseCueMessage(parseJson(json));
  // Dedupe across paths is by id, so a body that disagrees with its tag's ID cannot be trusted.
  return cue?.id === dateRange.id ? cue : undefined;
}

/** Accepts a WebSocket frame (`{"type":"cue","cue":…}`) or a data-channel frame (the bare cue); anything else gives undefined. */
export function cueFromSocketMessage(data: string): CueMessage | undefined {
  const message = parseJson(data);
  if (isRecord(message) && message.type === 'cue') return parseCueMessage(message.cue);
  return parseCueMessage(message);
}

// ---------------------------------------------------------------------------------------------
// Position sources: where the picture shown right now sits on the show's timeline.

export type PositionSource =
  /** `now()`: ms since the epoch of the frame shown now (NaN while unknown). */
  | { readonly kind: 'wallClock'; now(): number }
  /** `now()`: seconds on the media timeline (NaN while unknown). */
  | { readonly kind: 'mediaTime'; now(): number };

/** HLS through hls.js: `playingDate` follows EXT-X-PROGRAM-DATE-TIME and is null before the first fragment plays. */
export function hlsJsPosition(hls: { readonly playingDate: Date | null }): PositionSource {
  return { kind: 'wallClock', now: () => hls.playingDate?.getTime() ?? Number.NaN };
}

/** HLS in Safari's native player: `getStartDate()` is the program date of currentTime 0 (Invalid Date when the playlist has none). */
export function nativeHlsPosition(video: { getStartDate(): Date; readonly currentTime: number }): PositionSource {
  return { kind: 'wallClock', now: () => video.getStartDate().getTime() + video.currentTime * 1000 };
}

/** WebRTC: the frame shown now was captured `playoutDelaySeconds()` ago. */
export function webRtcPosition(
  playoutDelaySeconds: () => number,
  clock: () => number = () => Date.now(),
): PositionSource {
  return { kind: 'wallClock', now: () => clock() - playoutDelaySeconds() * 1000 };
}

/** Replay: the video's currentTime is the show's media time. */
export function replayPosition(video: { readonly currentTime: number }): PositionSource {
  return { kind: 'mediaTime', now: () => video.currentTime };
}

/** Each source kind reads a cue's time from its own field, in the unit its `now()` uses. */
const TIMELINES = {
  wallClock: { timeOf: (cue: CueMessage) => Date.parse(cue.wallClock), unitsPerSecond: 1000 },
  mediaTime: { timeOf: (cue: CueMessage) => cue.mediaTime, unitsPerSecond: 1 },
} as const;

// ---------------------------------------------------------------------------------------------
// State

export interface OpenItem {
  [key: string]: unknown;
  /** The id of the cue the item came from (an offer's id is its offer.start cue's). */
  cueId: string;
  /** Wall-clock ms (EXT-X-PROGRAM-DATE-TIME timeline) at which the item's duration runs out. */
  endsAt?: number;
  /** Seconds left as of the current position; the countdown to show, whatever the path. */
  remainingSeconds?: number;
}

export interface CommerceState {
  pinnedProduct?: OpenItem & { productId: string };
  offer?: OpenItem;
  poll?: OpenItem;
  /** The most recent announcement cues, oldest first. */
  announcements: CueMessage[];
}

export interface CueSchedulerOptions {
  /** A cue reached more than this many seconds late is folded into state() without firing. Default 30. */
  maxLateSeconds?: number;
  /** How many announcements state() keeps. Default 5. */
  announcementLimit?: number;
  onListenerError?: (error: unknown, cue: CueMessage) => void;
}

export type CueListener = (cue: CueMessage, lateBySeconds: number) => void;

interface Entry {
  readonly cue: CueMessage;
  /** The cue's time in the source's unit. */
  readonly at: number;
  /** Fired, or passed over as too late or skipped by a seek. */
  done: boolean;
}

/** An unpin/end/close names what it closes, or closes whatever is open. */
function closes(open: Entry | undefined, close: CueMessage, key: string): boolean {
  const id = close.payload[key];
  return id === undefined || open?.cue.payload[key] === id;
}

interface Folded {
  pinned?: Entry | undefined;
  offer?: Entry | undefined;
  poll?: Entry | undefined;
  announcements: CueMessage[];
}

/** Replays the cues at or before the position, in seq order, into what is open at that moment. */
function fold(entries: readonly Entry[], position: number): Folded {
  const folded: Folded = { announcements: [] };
  for (const entry of entries) {
    if (entry.at > position) continue;
    const { cue } = entry;
    switch (cue.type) {
      case 'product.pin':
        folded.pinned = entry;
        break;
      case 'product.unpin':
        if (closes(folded.pinned, cue, 'productId')) folded.pinned = undefined;
        break;
      case 'offer.start':
        folded.offer = entry;
        break;
      case 'offer.end':
        if (closes(folded.offer, cue, 'offerId')) folded.offer = undefined;
        break;
      case 'poll.open':
        folded.poll = entry;
        break;
      case 'poll.close':
        if (closes(folded.poll, cue, 'pollId')) folded.poll = undefined;
        break;
      case 'announcement':
        folded.announcements.push(cue);
        break;
      case 'custom':
        break;
    }
  }
  return folded;
}

function insertBySeq(entries: Entry[], entry: Entry): void {
  const last = entries.at(-1);
  if (!last || last.cue.seq <= entry.cue.seq) entries.push(entry);
  else entries.splice(entries.findIndex((other) => other.cue.seq > entry.cue.seq), 0, entry);
}

export class CueScheduler {
  readonly #source: PositionSource;
  readonly #timeline: (typeof TIMELINES)[PositionSource['kind']];
  readonly #maxLateSeconds: number;
  readonly #announcementLimit: number;
  readonly #onListenerError: (error: unknown, cue: CueMessage) => void;
  /** Ordered by seq. */
  readonly #entries: Entry[] = [];
  readonly #ids = new Set<string>();
  readonly #listeners = new Set<CueListener>();
  #lastPosition: number | undefined;

  constructor(source: PositionSource, options: CueSchedulerOptions = {}) {
    this.#source = source;
    this.#timeline = TIMELINES[source.kind];
    this.#maxLateSeconds = options.maxLateSeconds ?? 30;
    this.#announcementLimit = options.announcementLimit ?? 5;
    this.#onListenerError =
      options.onListenerError ?? ((error, cue) => console.error(`cue listener threw on ${cue.id}`, error));
  }

  /** Adds a cue unless one with the same id is known (the same cue arrives over several paths); returns whether it was new. */
  add(cue: CueMessage): boolean {
    if (this.#ids.has(cue.id)) return false;
    this.#ids.add(cue.id);
    insertBySeq(this.#entries, { cue, at: this.#timeline.timeOf(cue), done: false });
    return true;
  }

  /** Returns how many were new. */
  addAll(cues: Iterable<CueMessage>): number {
    let added = 0;
    for (const cue of cues) if (this.add(cue)) added++;
    return added;
  }

  /** Returns a function that removes the listener. */
  on(event: 'cue', listener: CueListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Fires, in seq order, every pending cue whose time the position has reached; returns them. */
  tick(): CueMessage[] {
    const position = this.#position();
    if (position === undefined) return [];
    // Replay never runs backwards except by seeking; live wall-clock positions can wobble back as the delay estimate moves, and must not refire.
    if (this.#source.kind === 'mediaTime' && this.#lastPosition !== undefined && position < this.#lastPosition) {
      this.#reanchor(position);
    }
    this.#lastPosition = position;

    const due: { cue: CueMessage; late: number }[] = [];
    for (const entry of this.#entries) {
      if (entry.done || entry.at > position) continue;
      entry.done = true;
      const late = (position - entry.at) / this.#timeline.unitsPerSecond;
      if (late <= this.#maxLateSeconds) due.push({ cue: entry.cue, late });
    }
    // Listeners run after bookkeeping so one that adds cues or ticks again sees a consistent schedule.
    for (const { cue, late } of due) this.#emit(cue, late);
    return due.map(({ cue }) => cue);
  }

  /** Call after the player seeks: cues from the new position on fire again when reached; those skipped only count in state(). */
  seek(): void {
    const position = this.#position();
    if (position === undefined) return;
    this.#reanchor(position);
    this.#lastPosition = position;
  }

  /** The product.pin cue whose product is pinned at the current position (what a tap on its card is about). */
  pinnedCueId(): string | undefined {
    const position = this.#position();
    if (position === undefined) return undefined;
    const pinned = fold(this.#entries, position).pinned;
    return pinned && this.#openItem(pinned, position) ? pinned.cue.id : undefined;
  }

  /** The commerce state as of the current position, from every cue at or before it, fired or not. */
  state(): CommerceState {
    const position = this.#position();
    if (position === undefined) return { announcements: [] };
    const folded = fold(this.#entries, position);
    const state: CommerceState = { announcements: folded.announcements.slice(-this.#announcementLimit) };
    const pinned = this.#openItem(folded.pinned, position);
    if (pinned && typeof pinned.productId === 'string') state.pinnedProduct = { ...pinned, productId: pinned.productId };
    const offer = this.#openItem(folded.offer, position);
    if (offer) state.offer = offer;
    const poll = this.#openItem(folded.poll, position);
    if (poll) state.poll = poll;
    return state;
  }

  #position(): number | undefined {
    const now = this.#source.now();
    return Number.isFinite(now) ? now : undefined;
  }

  #reanchor(position: number): void {
    for (const entry of this.#entries) entry.done = entry.at < position;
  }

  /** The item's payload, with its deadline when it has a duration; undefined once that has passed. */
  #openItem(entry: Entry | undefined, position: number): OpenItem | undefined {
    if (!entry) return undefined;
    const { cue } = entry;
    if (cue.duration === undefined) return { ...cue.payload, cueId: cue.id };
    const remainingSeconds = cue.duration - (position - entry.at) / this.#timeline.unitsPerSecond;
    if (remainingSeconds <= 0) return undefined;
    return { ...cue.payload, cueId: cue.id, endsAt: Date.parse(cue.wallClock) + cue.duration * 1000, remainingSeconds };
  }

  #emit(cue: CueMessage, lateBySeconds: number): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(cue, lateBySeconds);
      } catch (error) {
        this.#onListenerError(error, cue);
      }
    }
  }
}

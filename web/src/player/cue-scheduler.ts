// Player-side commerce cues: parse them from HLS date ranges, sockets or replay files, fire each one when the picture reaches its moment, and fold them (with the contract's one fold) into the state a late joiner needs.
import { CUE_TYPES, type CueMessage, type CueType } from '../../../src/contract/cue-message.ts';
import { foldCues, type FoldMoment, type OpenCue } from '../../../src/contract/cue-fold.ts';

export { CUE_TYPES, type CueMessage, type CueType };

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
export function webRtcPosition(playoutDelaySeconds: () => number, clock: () => number = () => Date.now()): PositionSource {
  return { kind: 'wallClock', now: () => clock() - playoutDelaySeconds() * 1000 };
}

/** Replay: the video's currentTime is the show's media time. */
export function replayPosition(video: { readonly currentTime: number }): PositionSource {
  return { kind: 'mediaTime', now: () => video.currentTime };
}

/**
 * Any path, frame by frame (the rule that puts a cue on the same frame everywhere): the place of the frame the
 * video presented last, from a VideoFrameClock; call the scheduler's tick() from the clock's onFrame.
 */
export function videoFramePosition(kind: PositionSource['kind'], clock: { readonly position: number }): PositionSource {
  return { kind, now: () => clock.position };
}

/**
 * Each source kind reads a cue's time from its own field, in the unit its `now()` uses. A cue's time is its
 * frame's time rounded to the millisecond, and a frame's place comes from 90 kHz or floating-point media time:
 * a frame within 2 ms before the cue's time is the cue's frame (far less than a frame interval).
 */
const TIMELINES = {
  wallClock: { timeOf: (cue: CueMessage) => Date.parse(cue.wallClock), unitsPerSecond: 1000, slack: 2 },
  mediaTime: { timeOf: (cue: CueMessage) => cue.mediaTime, unitsPerSecond: 1, slack: 0.002 },
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

/** The open cue's payload as the page shows it, with its deadline when it has a duration. */
function openItem({ cue, remainingSeconds }: OpenCue): OpenItem {
  if (remainingSeconds === undefined) return { ...cue.payload, cueId: cue.id };
  return { ...cue.payload, cueId: cue.id, endsAt: Date.parse(cue.wallClock) + cue.duration! * 1000, remainingSeconds };
}

function insertBySeq(entries: Entry[], entry: Entry): void {
  const last = entries.at(-1);
  if (!last || last.cue.seq <= entry.cue.seq) entries.push(entry);
  else
    entries.splice(
      entries.findIndex((other) => other.cue.seq > entry.cue.seq),
      0,
      entry,
    );
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
    this.#onListenerError = options.onListenerError ?? ((error, cue) => console.error(`cue listener threw on ${cue.id}`, error));
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
      if (entry.done || !this.#reached(entry, position)) continue;
      entry.done = true;
      const late = Math.max(0, position - entry.at) / this.#timeline.unitsPerSecond;
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
    return foldCues(this.#entries, this.#moment(position)).pinned?.cue.id;
  }

  /** The commerce state as of the current position, from every cue at or before it, fired or not. */
  state(): CommerceState {
    const position = this.#position();
    if (position === undefined) return { announcements: [] };
    const folded = foldCues(this.#entries, this.#moment(position));
    const state: CommerceState = { announcements: folded.announcements.slice(-this.#announcementLimit) };
    const pinned = folded.pinned && openItem(folded.pinned);
    if (pinned && typeof pinned.productId === 'string') state.pinnedProduct = { ...pinned, productId: pinned.productId };
    if (folded.offer) state.offer = openItem(folded.offer);
    if (folded.poll) state.poll = openItem(folded.poll);
    return state;
  }

  #position(): number | undefined {
    const now = this.#source.now();
    return Number.isFinite(now) ? now : undefined;
  }

  #reanchor(position: number): void {
    for (const entry of this.#entries) entry.done = entry.at < position;
  }

  /** Entries reached by the position, their durations measured on the source's timeline. */
  #moment(position: number): FoldMoment<Entry> {
    const unitsPerSecond = this.#timeline.unitsPerSecond;
    return {
      cueOf: (entry) => entry.cue,
      reached: (entry) => this.#reached(entry, position),
      secondsSince: (entry) => Math.max(0, position - entry.at) / unitsPerSecond,
    };
  }

  #reached(entry: Entry, position: number): boolean {
    return entry.at - this.#timeline.slack <= position;
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

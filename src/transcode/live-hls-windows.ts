// The live HLS windows this node holds, by playback id: one LiveHlsShow per show, fed LiveHlsEvents
// (by its packager here, or by a relay from the node that holds the show), read by the HLS origin.
import type { LiveHlsEvent, LiveHlsMessage } from './live-hls-events.ts';
import { LiveHlsWindow, type LiveTiming } from './live-hls-window.ts';
import type { DateRange } from './playlist.ts';

/** A part's URI: <sessionTag>-<sequence>.<index>.m4s, next to its segment <sessionTag>-<sequence>.m4s. */
export function partUri(sessionTag: string, sequence: number, index: number): string {
  return `${sessionTag}-${sequence}.${index}.m4s`;
}

const PART_NAME = /^([A-Za-z0-9_]+)-(\d{1,9})\.(\d{1,4})\.m4s$/;

interface Waiter {
  ready: () => boolean;
  resolve: () => void;
}

export class LiveHlsShow {
  readonly windows = new Map<string, LiveHlsWindow>();
  #dateRanges: DateRange[] = [];
  #ended = false;
  #waiters = new Set<Waiter>();

  constructor(
    readonly sessionTag: string,
    readonly timing: LiveTiming,
    renditions: string[],
  ) {
    for (const name of renditions) this.windows.set(name, new LiveHlsWindow(name, timing));
  }

  get ended(): boolean {
    return this.#ended;
  }

  apply(event: LiveHlsEvent): void {
    switch (event.type) {
      case 'init':
        this.windows.get(event.rendition)?.addInit(event.uri, event.bytes);
        break;
      case 'part':
        this.windows.get(event.rendition)?.addPart(event.segment, event.index, {
          uri: event.uri,
          duration: event.duration,
          independent: event.independent,
          bytes: event.bytes,
        });
        break;
      case 'segment':
        this.windows.get(event.rendition)?.closeSegment(event.sequence, event.uri, event.duration);
        break;
      case 'cues':
        this.#dateRanges = event.dateRanges;
        break;
      case 'ended':
        this.#ended = true;
        break;
      case 'started':
        break;
    }
    for (const waiter of [...this.#waiters]) if (this.#ended || waiter.ready()) waiter.resolve();
  }

  /** Resolves true once `ready()` holds (checked after every event) or the show ended, false after `timeoutMs`. */
  waitFor(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (this.#ended || ready()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        resolve(false);
      }, timeoutMs);
      const waiter: Waiter = {
        ready,
        resolve: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(true);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** The show as events (its start, cues and each rendition's live edge): what a mirror joining now applies first. */
  snapshot(): LiveHlsEvent[] {
    const renditions = [...this.windows.keys()];
    const events: LiveHlsEvent[] = [
      { type: 'started', renditions, ...this.timing },
      { type: 'cues', dateRanges: this.#dateRanges },
    ];
    for (const window of this.windows.values()) events.push(...window.snapshot());
    return events;
  }

  /** The rendition's LL-HLS media playlist. */
  playlist(rendition: string, skip: boolean): string | undefined {
    const window = this.windows.get(rendition);
    return window?.render({
      dateRanges: this.#dateRanges,
      ended: this.#ended,
      skip,
      partUri: (msn, part) => partUri(this.sessionTag, msn, part),
      reports: [...this.windows.values()],
    });
  }

  /** A part name of this show, read back: its segment and index (a player may ask for one not made yet). */
  parsePartName(name: string): { msn: number; part: number } | undefined {
    const match = PART_NAME.exec(name);
    if (!match || match[1] !== this.sessionTag) return undefined;
    return { msn: Number(match[2]), part: Number(match[3]) };
  }
}

export class LiveHlsWindows {
  readonly #shows = new Map<string, LiveHlsShow>();
  /** Shows this node holds (their packager publishes here); the others are mirrors of another node's. */
  readonly #held = new Set<string>();
  readonly #publishedListeners: ((message: LiveHlsMessage) => void)[] = [];

  get(playbackId: string): LiveHlsShow | undefined {
    return this.#shows.get(playbackId);
  }

  /** Whether this node holds the show (its packager runs here), rather than mirroring it. */
  holds(playbackId: string): boolean {
    return this.#held.has(playbackId);
  }

  /** An event of a show this node holds: applied to its window, then told to the listeners (the relay to other nodes). */
  publish(message: LiveHlsMessage): void {
    if (message.event.type === 'started') this.#held.add(message.playbackId);
    this.apply(message);
    if (message.event.type === 'ended') this.#held.delete(message.playbackId);
    for (const listener of this.#publishedListeners) listener(message);
  }

  onPublished(listener: (message: LiveHlsMessage) => void): void {
    this.#publishedListeners.push(listener);
  }

  /** Applies one show's event: `started` opens its window (replacing an older session's), `ended` lets it go. */
  apply({ playbackId, sessionTag, event }: LiveHlsMessage): void {
    if (event.type === 'started') {
      // The origin announces a show again with every segment (for mirrors joining late): the same session stays.
      if (this.#shows.get(playbackId)?.sessionTag === sessionTag) return;
      const { renditions, ...timing } = event;
      this.#shows.set(playbackId, new LiveHlsShow(sessionTag, timing, renditions));
      return;
    }
    const show = this.#shows.get(playbackId);
    if (!show || show.sessionTag !== sessionTag) return;
    show.apply(event);
    if (event.type === 'ended') this.#shows.delete(playbackId);
  }

  /** A show this node holds, as messages a mirror joining now applies first; undefined for one it does not hold. */
  snapshot(playbackId: string): LiveHlsMessage[] | undefined {
    const show = this.#shows.get(playbackId);
    if (!show || !this.#held.has(playbackId) || show.ended) return undefined;
    return show.snapshot().map((event) => ({ playbackId, sessionTag: show.sessionTag, event }));
  }

  /** Lets a mirrored show go (nobody asked for it in a while); a show this node holds stays. */
  drop(playbackId: string): void {
    if (!this.#held.has(playbackId)) this.#shows.delete(playbackId);
  }
}

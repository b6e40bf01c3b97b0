// Tells livecue what this viewer does, for the show's analytics: HLS and replay players beat every
// BEAT_MS while the picture plays (WebRTC viewers are counted by the server itself), and a tap on the
// pinned product's card is reported with the pin it was about. Same-origin requests only (CSP).
import type { PlaybackUrls } from '../player/playback-urls.ts';
import type { PlaybackPath } from './playback.ts';

/** Well inside the server's 30 s window, so a playing viewer never drops out between beats. */
const BEAT_MS = 10_000;
const VIEWER_ID_KEY = 'livecue-viewer-id';
const VIEWER_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** An anonymous id this browser keeps, so a reload is the same viewer (a fresh one where storage is blocked). */
export function anonymousViewerId(): string {
  try {
    const stored = localStorage.getItem(VIEWER_ID_KEY);
    if (stored && VIEWER_ID.test(stored)) return stored;
  } catch {
    // Storage blocked (a third-party embed): an id for this page only.
  }
  const id = `v-${Array.from(crypto.getRandomValues(new Uint8Array(12)), (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
  try {
    localStorage.setItem(VIEWER_ID_KEY, id);
  } catch {
    // As above.
  }
  return id;
}

/** keepalive: a beat or tap sent as the page goes away still arrives. Analytics never disturbs playback. */
function post(url: string, body: Record<string, unknown>): void {
  void fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), keepalive: true }).catch(() => undefined);
}

export class WatchReporter {
  readonly viewerId: string;
  readonly #urls: PlaybackUrls;
  readonly #video: HTMLVideoElement;
  /** The beating path; undefined on WebRTC and between paths. */
  #path: 'hls' | 'replay' | undefined;
  #beaten = false;

  constructor(urls: PlaybackUrls, video: HTMLVideoElement, viewerId = anonymousViewerId()) {
    this.viewerId = viewerId;
    this.#urls = urls;
    this.#video = video;
    setInterval(() => this.#beat(), BEAT_MS);
    // A viewer counts from its first picture, not from the next interval.
    video.addEventListener('playing', () => this.#beat());
    // A paused picture is not watched: its time stops counting now rather than at the next beat.
    video.addEventListener('pause', () => this.#leave());
    addEventListener('pagehide', () => this.#leave());
  }

  /** The path the page plays now (undefined while it switches). */
  watching(path: PlaybackPath | undefined): void {
    const beating = path === 'hls' || path === 'replay' ? path : undefined;
    if (beating === this.#path) return;
    this.#leave();
    this.#path = beating;
    this.#beat();
  }

  /** A tap on the pinned product's card; `cueId` is the pin on screen when the scheduler knows it. */
  tapped(target: { productId: string; cueId?: string }): void {
    post(this.#urls.click(), { viewerId: this.viewerId, ...target });
  }

  #beat(): void {
    if (!this.#path || this.#video.paused || this.#video.ended) return;
    this.#beaten = true;
    post(this.#urls.beat(), { viewerId: this.viewerId, path: this.#path });
  }

  /** Its watch time up to now counts, and it stops counting as a viewer at once. */
  #leave(): void {
    if (!this.#path || !this.#beaten) return;
    this.#beaten = false;
    post(this.#urls.beat(), { viewerId: this.viewerId, path: this.#path, leaving: true });
  }
}

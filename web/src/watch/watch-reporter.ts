// Tells livecue what this viewer does, for the show's analytics: HLS and replay players beat every
// BEAT_MS while the picture plays (WebRTC viewers are counted by the server itself), and a tap on the
// pinned product's card is reported with the pin it was about. Same-origin requests only (CSP).
import type { PlaybackUrls } from '../player/playback-urls.ts';
import type { PlaybackPath } from './playback.ts';

/** Well inside the server's 30 s window, so a playing viewer never drops out between beats. */
const BEAT_MS = 10_000;
const IDENTITY_KEY = 'livecue-viewer';
/** A stored token this close to its end is replaced before use. */
const RENEW_BEFORE_MS = 86_400_000;

/** Who this browser is to livecue: an id, and (to chat, vote and claim) the token livecue signed for it. */
export interface ViewerIdentity {
  id: string;
  token?: string;
}

function randomLocalId(): string {
  return `v-${Array.from(crypto.getRandomValues(new Uint8Array(12)), (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * The anonymous viewer this browser keeps (a reload is the same viewer), asked of livecue the first time
 * (POST /live/viewers). Where storage is blocked or livecue does not answer, an id for this page only and no
 * token: the show plays, taking part waits for a reload.
 */
export async function viewerIdentity(issueUrl: string): Promise<ViewerIdentity> {
  try {
    const stored = JSON.parse(localStorage.getItem(IDENTITY_KEY) ?? 'null') as { id?: unknown; token?: unknown; expiresAt?: unknown } | null;
    if (
      stored &&
      typeof stored.id === 'string' &&
      typeof stored.token === 'string' &&
      typeof stored.expiresAt === 'string' &&
      Date.parse(stored.expiresAt) - Date.now() > RENEW_BEFORE_MS
    ) {
      return { id: stored.id, token: stored.token };
    }
  } catch {
    // Storage blocked or garbled: ask for a new identity.
  }
  try {
    const response = await fetch(issueUrl, { method: 'POST' });
    if (response.ok) {
      const issued = (await response.json()) as { viewerId: string; viewerToken: string; expiresAt: string };
      try {
        localStorage.setItem(IDENTITY_KEY, JSON.stringify({ id: issued.viewerId, token: issued.viewerToken, expiresAt: issued.expiresAt }));
      } catch {
        // Storage blocked (a third-party embed): this page keeps it in memory.
      }
      return { id: issued.viewerId, token: issued.viewerToken };
    }
  } catch {
    // livecue unreachable for now: watch without taking part.
  }
  return { id: randomLocalId() };
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

  constructor(urls: PlaybackUrls, video: HTMLVideoElement, viewerId: string) {
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

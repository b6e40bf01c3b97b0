// The show's recording (its full replay), from livecue's public GET /live/<playbackId>/replay: 404
// until a worker has built it, a few seconds after the show ends.
import { parseCueMessage, type CueMessage } from '../player/cue-scheduler.ts';
import type { PlaybackUrls } from '../player/playback-urls.ts';
import { fetchCueTrack } from './cue-feed.ts';

export interface Recording {
  id: string;
  /** Seconds; the cues' mediaTime is the position on this timeline (video.currentTime). */
  durationSeconds: number | undefined;
  /** Where the page fetches them (see PlaybackUrls.mediaUrl). */
  hlsUrl: string;
  posterUrl: string | undefined;
  thumbnailsVttUrl: string | undefined;
  /** The recording's cue track: every cue of the show. */
  cues: CueMessage[];
}

export type ReplayLookup = { kind: 'ready'; recording: Recording } | { kind: 'not-ready' } | { kind: 'forbidden' };

function cuesOf(body: unknown): CueMessage[] {
  const list = typeof body === 'object' && body !== null ? (body as { cues?: unknown }).cues : undefined;
  return Array.isArray(list) ? list.map(parseCueMessage).filter((cue): cue is CueMessage => cue !== undefined) : [];
}

/** One look: the newest ready recording, or why there is none to play yet. */
export async function lookUpReplay(urls: PlaybackUrls): Promise<ReplayLookup> {
  const response = await fetch(urls.replay(), { cache: 'no-store' }).catch(() => undefined);
  if (response?.status === 401 || response?.status === 403) return { kind: 'forbidden' };
  if (!response?.ok) return { kind: 'not-ready' };
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  const hlsUrl = urls.mediaUrl(body?.hlsUrl);
  const cuesUrl = urls.mediaUrl(body?.cuesUrl);
  if (!body || typeof body.recordingId !== 'string' || !hlsUrl) return { kind: 'not-ready' };
  const [recordingCues, showCues] = await Promise.all([
    cuesUrl
      ? fetch(cuesUrl)
          .then((r) => (r.ok ? r.json() : undefined))
          .then(cuesOf, () => [])
      : Promise.resolve([]),
    fetchCueTrack(urls).catch(() => []),
  ]);
  // The endpoint answers with the stream's newest *ready* recording: right after a show ends that is
  // still the previous show's, until this one's is built. A cue of the latest show missing from the
  // recording gives it away (a show without cues cannot be told apart this way).
  const held = new Set(recordingCues.map((cue) => cue.id));
  if (showCues.some((cue) => !held.has(cue.id))) return { kind: 'not-ready' };
  const duration = typeof body.durationSeconds === 'number' && body.durationSeconds > 0 ? body.durationSeconds : undefined;
  return {
    kind: 'ready',
    recording: {
      id: body.recordingId,
      durationSeconds: duration,
      hlsUrl,
      posterUrl: urls.mediaUrl(body.posterUrl),
      thumbnailsVttUrl: urls.mediaUrl(body.thumbnailsVttUrl),
      cues: recordingCues,
    },
  };
}

/** Asks every `everyMs` until a recording is ready, access is refused, or `timeoutMs` has passed (then 'not-ready'). */
export async function waitForReplay(urls: PlaybackUrls, options: { timeoutMs: number; everyMs: number; onWaiting(): void }): Promise<ReplayLookup> {
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    const found = await lookUpReplay(urls);
    if (found.kind !== 'not-ready' || performance.now() + options.everyMs > deadline) return found;
    options.onWaiting();
    await new Promise((resolve) => setTimeout(resolve, options.everyMs));
  }
}

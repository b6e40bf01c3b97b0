// What the viewer page plays through: WebRTC, live HLS or a replay, each with its own cue clock.
import type { CueMessage, CueScheduler } from '../player/cue-scheduler.ts';
import type { PlaybackUrls } from '../player/playback-urls.ts';

export type PlaybackPath = 'webrtc' | 'hls' | 'replay';

export interface Playback {
  readonly path: PlaybackPath;
  /** Fires cues when the picture reaches them; its position source fits the path. */
  readonly scheduler: CueScheduler;
  /** Seconds from livecue receiving a frame to this page showing it; NaN while unknown. */
  latencySeconds(): number;
  /** How the latency is known: 'capture-time', 'receive-time' or 'jitter-buffer' (WebRTC), 'program-date-time' (HLS). */
  readonly latencyBasis: string;
  /** The HLS master playlist played (a recording's for a replay of one); undefined for WebRTC. */
  readonly sourceUrl?: string;
  /** Where a cue sits on the video element's own timeline (replay seek bar); undefined when outside the media. */
  videoTimeOf(cue: CueMessage): number | undefined;
  close(): Promise<void>;
}

export type HlsAvailability = 'live' | 'ended' | 'offline' | 'forbidden';

/** Whether the show's HLS is there, and closed (#EXT-X-ENDLIST: a replay) or still live. */
export async function probeHls(urls: PlaybackUrls): Promise<HlsAvailability> {
  const masterUrl = urls.hlsMaster();
  const master = await fetch(masterUrl, { cache: 'no-store' }).catch(() => undefined);
  if (master?.status === 401 || master?.status === 403) return 'forbidden';
  if (!master?.ok) return 'offline';
  const variant = (await master.text())
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line !== '' && !line.startsWith('#'));
  if (!variant) return 'offline';
  const media = await fetch(new URL(variant, new URL(masterUrl, location.href)), { cache: 'no-store' }).catch(() => undefined);
  if (!media?.ok) return 'offline';
  return (await media.text()).includes('#EXT-X-ENDLIST') ? 'ended' : 'live';
}

// Live playback over WebRTC (WHEP): sub-second latency, cues over the data channel and, for what was
// placed before joining, the show's cue track.
import { CueScheduler, cueFromSocketMessage, videoFramePosition, webRtcPosition, type CueMessage } from '../player/cue-scheduler.ts';
import { VideoFrameClock } from '../player/frame-clock.ts';
import type { PlaybackUrls } from '../player/playback-urls.ts';
import { PlayoutDelay } from '../player/playout-delay.ts';
import { mediaClockFromMessage, RtpClock } from '../player/rtp-clock.ts';
import { WhepError, WhepSession } from '../player/whep-client.ts';
import { fetchCueTrack } from './cue-feed.ts';
import type { Playback } from './playback.ts';

/** An RTMP show's first picture waits for its next keyframe (README: set 1 s); beyond this, HLS is the better bet. */
const FIRST_FRAME_TIMEOUT_MS = 8000;

function firstFrame(video: HTMLVideoElement, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new WhepError(`no video within ${timeoutMs / 1000} s`)), timeoutMs);
    const done = () => (clearTimeout(timer), resolve());
    if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) done();
    else video.addEventListener('loadeddata', done, { once: true });
  });
}

export class WebRtcPlayback implements Playback {
  readonly path = 'webrtc' as const;
  readonly scheduler: CueScheduler;
  readonly #session: WhepSession;
  readonly #delay: PlayoutDelay;
  readonly #frames: VideoFrameClock | undefined;

  private constructor(scheduler: CueScheduler, session: WhepSession, delay: PlayoutDelay, frames: VideoFrameClock | undefined) {
    this.scheduler = scheduler;
    this.#session = session;
    this.#delay = delay;
    this.#frames = frames;
  }

  static async start(
    video: HTMLVideoElement,
    urls: PlaybackUrls,
    hooks: { onCues(cues: CueMessage[]): void; onLost(): void },
    viewerId?: string,
  ): Promise<WebRtcPlayback> {
    let delay: PlayoutDelay | undefined;
    const rtpClock = new RtpClock();
    // Each frame is placed by its RTP timestamp on livecue's clock messages; before the first one (or for a show
    // whose video is encoded again for WebRTC), by the estimated playout delay.
    const placeFrame = (metadata: VideoFrameCallbackMetadata) =>
      metadata.rtpTimestamp !== undefined && rtpClock.known
        ? rtpClock.wallClockOf(metadata.rtpTimestamp)
        : performance.timeOrigin + metadata.expectedDisplayTime - (delay?.seconds ?? Number.NaN) * 1000;
    const frames = VideoFrameClock.supported(video) ? new VideoFrameClock(video, placeFrame) : undefined;
    // NaN until the first frame: no cue fires before the picture it belongs to is on screen.
    const scheduler = new CueScheduler(frames ? videoFramePosition('wallClock', frames) : webRtcPosition(() => delay?.seconds ?? Number.NaN));
    frames?.onFrame(() => scheduler.tick());
    const add = (cues: CueMessage[]) => {
      const fresh = cues.filter((cue) => scheduler.add(cue));
      if (fresh.length > 0) hooks.onCues(fresh);
    };
    let session: WhepSession;
    try {
      session = await WhepSession.start(urls.whep({ viewer: viewerId }), {
        onCueMessage: (text) => {
          // The serving node is draining: reconnect now (the next offer reaches a node still ready).
          if (text.includes('"control"') && isReconnectNotice(text)) return hooks.onLost();
          const clock = mediaClockFromMessage(text);
          if (clock) return rtpClock.update(clock);
          const cue = cueFromSocketMessage(text);
          if (cue) add([cue]);
        },
        onLost: hooks.onLost,
      });
    } catch (error) {
      frames?.close();
      throw error;
    }
    try {
      video.srcObject = session.stream;
      void video.play().catch(() => {});
      const history = fetchCueTrack(urls).catch(() => []);
      await firstFrame(video, FIRST_FRAME_TIMEOUT_MS);
      delay = new PlayoutDelay(video, session, rtpClock);
      add(await history);
      return new WebRtcPlayback(scheduler, session, delay, frames);
    } catch (error) {
      frames?.close();
      delay?.close();
      video.srcObject = null;
      await session.close();
      throw error;
    }
  }

  latencySeconds(): number {
    return this.#delay.seconds;
  }

  get latencyBasis(): string {
    return this.#delay.basis;
  }

  videoTimeOf(): number | undefined {
    return undefined;
  }

  async close(): Promise<void> {
    this.#frames?.close();
    this.#delay.close();
    await this.#session.close();
  }
}

function isReconnectNotice(text: string): boolean {
  try {
    return (JSON.parse(text) as { control?: unknown }).control === 'reconnect';
  } catch {
    return false;
  }
}

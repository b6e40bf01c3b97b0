// How long ago the WebRTC frame on screen left livecue: the WebRTC viewer's live latency, and what
// `webRtcPosition` needs to place that frame on the show's timeline.
import type { RtpClock } from './rtp-clock.ts';
import type { WhepSession } from './whep-client.ts';

/** Weight of a new sample: smooth enough for a steady countdown, quick enough to follow a jitter-buffer change. */
const SMOOTHING = 0.1;

export type DelayBasis = 'rtp-clock' | 'capture-time' | 'receive-time' | 'jitter-buffer' | 'none';

export class PlayoutDelay {
  readonly #video: HTMLVideoElement;
  readonly #session: WhepSession;
  readonly #rtpClock: RtpClock | undefined;
  #seconds = Number.NaN;
  #rttSeconds = Number.NaN;
  #basis: DelayBasis = 'none';
  #frameCallback: number | undefined;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /** With an RtpClock, a frame's delay is exact: shown - its instant on the show's timeline. */
  constructor(video: HTMLVideoElement, session: WhepSession, rtpClock?: RtpClock) {
    this.#video = video;
    this.#session = session;
    this.#rtpClock = rtpClock;
    if ('requestVideoFrameCallback' in video) this.#frameCallback = video.requestVideoFrameCallback(this.#onFrame);
    this.#statsTimer = setInterval(() => void this.#poll(), 1000);
    void this.#poll();
  }

  /** Seconds; NaN until the first frame is shown. */
  get seconds(): number {
    return this.#seconds;
  }

  get basis(): DelayBasis {
    return this.#basis;
  }

  close(): void {
    this.#closed = true;
    if (this.#frameCallback !== undefined) this.#video.cancelVideoFrameCallback(this.#frameCallback);
    clearInterval(this.#statsTimer);
  }

  #sample(seconds: number, basis: DelayBasis): void {
    if (!Number.isFinite(seconds) || seconds < 0 || seconds > 30) return;
    this.#seconds = Number.isFinite(this.#seconds) && this.#basis === basis ? this.#seconds + SMOOTHING * (seconds - this.#seconds) : seconds;
    this.#basis = basis;
  }

  readonly #onFrame = (_now: number, metadata: VideoFrameCallbackMetadata): void => {
    if (this.#closed) return;
    const placed = metadata.rtpTimestamp !== undefined && this.#rtpClock?.known ? this.#rtpClock.wallClockOf(metadata.rtpTimestamp) : Number.NaN;
    if (Number.isFinite(placed)) this.#sample((performance.timeOrigin + metadata.expectedDisplayTime - placed) / 1000, 'rtp-clock');
    // captureTime: the sender's clock (RTCP sender reports) mapped onto ours, i.e. when livecue sent the frame.
    else if (metadata.captureTime !== undefined) this.#sample((metadata.expectedDisplayTime - metadata.captureTime) / 1000, 'capture-time');
    else if (metadata.receiveTime !== undefined && Number.isFinite(this.#rttSeconds)) {
      this.#sample((metadata.expectedDisplayTime - metadata.receiveTime) / 1000 + this.#rttSeconds / 2, 'receive-time');
    }
    this.#frameCallback = this.#video.requestVideoFrameCallback(this.#onFrame);
  };

  async #poll(): Promise<void> {
    const stats = await this.#session.pc.getStats().catch(() => undefined);
    if (!stats || this.#closed) return;
    let jitterBuffer = Number.NaN;
    for (const report of stats.values()) {
      if (report.type === 'candidate-pair' && report.nominated && typeof report.currentRoundTripTime === 'number') {
        this.#rttSeconds = report.currentRoundTripTime;
      }
      if (report.type === 'inbound-rtp' && report.kind === 'video' && report.jitterBufferEmittedCount > 0) {
        jitterBuffer = report.jitterBufferDelay / report.jitterBufferEmittedCount;
      }
    }
    // Without per-frame timing (no requestVideoFrameCallback), the jitter buffer is the bulk of the delay.
    if (this.#basis === 'none' || this.#basis === 'jitter-buffer') {
      const rtt = Number.isFinite(this.#rttSeconds) ? this.#rttSeconds : 0;
      this.#sample(jitterBuffer + rtt / 2, 'jitter-buffer');
    }
  }
}

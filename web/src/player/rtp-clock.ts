// The map from a WebRTC frame's RTP timestamp to the show's timeline, from the clock messages livecue sends on
// the cue data channel with each keyframe (MediaClockMessage): the frame's own timestamp, not an estimate of the
// network's delay, is what places it, so it lands exactly where HLS places the same frame.
import type { MediaClockMessage } from '../../../src/contract/cue-message.ts';

export type { MediaClockMessage };

const RTP_WRAP = 2 ** 32;

/** A clock message from a data-channel frame's text; anything else gives undefined. */
export function mediaClockFromMessage(text: string): MediaClockMessage | undefined {
  if (!text.includes('"clock"')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { type, rtpTimestamp, clockRate, mediaTime, wallClock } = value as Record<string, unknown>;
  if (type !== 'clock' || typeof rtpTimestamp !== 'number' || typeof clockRate !== 'number' || clockRate <= 0) return undefined;
  if (typeof mediaTime !== 'number' || typeof wallClock !== 'string' || !Number.isFinite(Date.parse(wallClock))) return undefined;
  return { type, rtpTimestamp, clockRate, mediaTime, wallClock };
}

export class RtpClock {
  #clock: MediaClockMessage | undefined;
  #wallClock = Number.NaN;

  /** Takes the newest clock message (a restarted bridge starts a new RTP timestamp base). */
  update(clock: MediaClockMessage): void {
    this.#clock = clock;
    this.#wallClock = Date.parse(clock.wallClock);
  }

  get known(): boolean {
    return this.#clock !== undefined;
  }

  /** The frame's instant on the EXT-X-PROGRAM-DATE-TIME timeline (ms since the epoch); NaN before the first clock message. */
  wallClockOf(rtpTimestamp: number): number {
    const clock = this.#clock;
    if (!clock) return Number.NaN;
    // The shortest way round the 32-bit timestamp circle: frames on either side of the keyframe, across a wrap.
    let ticks = (rtpTimestamp - clock.rtpTimestamp) % RTP_WRAP;
    if (ticks >= RTP_WRAP / 2) ticks -= RTP_WRAP;
    if (ticks < -RTP_WRAP / 2) ticks += RTP_WRAP;
    return this.#wallClock + (ticks / clock.clockRate) * 1000;
  }
}

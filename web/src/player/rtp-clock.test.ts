import { describe, expect, it } from 'vitest';
import { mediaClockFromMessage, RtpClock } from './rtp-clock.ts';

const clockText = (rtpTimestamp: number, wallClock = '2026-12-05T10:00:00.000Z') =>
  JSON.stringify({ type: 'clock', rtpTimestamp, clockRate: 90_000, mediaTime: 12.5, wallClock });

describe('RtpClock', () => {
  it('places frames by their RTP timestamp around the keyframe the clock message names, across the 32-bit wrap', () => {
    const clock = new RtpClock();
    expect(Number.isNaN(clock.wallClockOf(1000))).toBe(true);
    const keyframeAt = Date.parse('2026-12-05T10:00:00.000Z');
    clock.update(mediaClockFromMessage(clockText(2 ** 32 - 3000))!);
    expect(clock.known).toBe(true);
    expect(clock.wallClockOf(2 ** 32 - 3000)).toBe(keyframeAt);
    expect(clock.wallClockOf(2 ** 32 - 3000 + 3000)).toBeCloseTo(keyframeAt + 33.333, 3);
    expect(clock.wallClockOf(6000)).toBeCloseTo(keyframeAt + 100, 6);
    expect(clock.wallClockOf(2 ** 32 - 6000)).toBeCloseTo(keyframeAt - 33.333, 3);
  });

  it('reads only well-formed clock messages; cues and control messages are not clocks', () => {
    expect(mediaClockFromMessage(clockText(5))).toEqual({
      type: 'clock',
      rtpTimestamp: 5,
      clockRate: 90_000,
      mediaTime: 12.5,
      wallClock: '2026-12-05T10:00:00.000Z',
    });
    expect(mediaClockFromMessage(clockText(5, 'yesterday'))).toBeUndefined();
    expect(mediaClockFromMessage('{"type":"clock","rtpTimestamp":"5"}')).toBeUndefined();
    expect(mediaClockFromMessage('{"control":"reconnect"}')).toBeUndefined();
    expect(mediaClockFromMessage('{"id":"cue_1","type":"announcement"}')).toBeUndefined();
    expect(mediaClockFromMessage('"clock" {')).toBeUndefined();
  });
});

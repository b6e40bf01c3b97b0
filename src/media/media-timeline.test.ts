import { describe, expect, it } from 'vitest';
import { MediaTimeline } from './media-timeline.ts';

describe('MediaTimeline', () => {
  it('runs media time on across a reconnect gap while wall-clock time jumps', () => {
    const timeline = new MediaTimeline();
    const first = timeline.startSpan(1_000_000);
    timeline.extend(first, 10);
    // The encoder was away for 5 s.
    const second = timeline.startSpan(1_015_000);
    timeline.extend(second, 4);
    expect(timeline.duration).toBe(14);
    expect(second.mediaStart).toBe(10);
    expect(timeline.wallClockAt(3)).toBe(1_003_000);
    expect(timeline.wallClockAt(12)).toBe(1_017_000);
    expect(timeline.mediaTimeAt(1_002_500)).toBe(2.5);
    // Inside the gap the picture stands still at the end of the first span.
    expect(timeline.mediaTimeAt(1_012_000)).toBe(10);
    expect(timeline.mediaTimeAt(1_016_000)).toBe(11);
    expect(timeline.mediaTimeAt(999_000)).toBeUndefined();
  });

  it('moves a span start only earlier, and every time on it with it', () => {
    const timeline = new MediaTimeline();
    const span = timeline.startSpan(1_000_350);
    timeline.moveStart(span, 1_000_000);
    timeline.moveStart(span, 1_000_200);
    expect(span.wallClockStart).toBe(1_000_000);
    timeline.extend(span, 4);
    expect(timeline.wallClockAt(2)).toBe(1_002_000);
    expect(timeline.mediaTimeAt(1_003_000)).toBe(3);
  });
});

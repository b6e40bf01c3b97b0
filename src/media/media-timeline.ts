// The session's media timeline: the one place that converts between media time (seconds since the
// session started, gaps between reconnects removed) and wall-clock time (EXT-X-PROGRAM-DATE-TIME).

export interface TimelineSpan {
  /** Media time (s) at which the span starts. */
  mediaStart: number;
  /** Wall clock (ms since epoch) of the span's first frame. */
  wallClockStart: number;
  /** Seconds of media in the span so far. */
  duration: number;
}

export class MediaTimeline {
  /** One span per transcoder run; spans are contiguous in media time, with gaps in wall-clock time. */
  readonly #spans: TimelineSpan[] = [];

  get spans(): readonly TimelineSpan[] {
    return this.#spans;
  }

  get duration(): number {
    const last = this.#spans.at(-1);
    return last ? last.mediaStart + last.duration : 0;
  }

  /** A new run begins: its media continues where the previous span ended. */
  startSpan(wallClockStart: number): TimelineSpan {
    const span = { mediaStart: this.duration, wallClockStart, duration: 0 };
    this.#spans.push(span);
    return span;
  }

  /** Moves the wall clock of a span's first frame earlier (its anchor settling, before anything dated by it is out). */
  moveStart(span: TimelineSpan, wallClockStart: number): void {
    span.wallClockStart = Math.min(span.wallClockStart, wallClockStart);
  }

  /** Extends the span with media (the reference rendition's segments). */
  extend(span: TimelineSpan, endOffsetSeconds: number): void {
    span.duration = Math.max(span.duration, endOffsetSeconds);
  }

  /** The wall clock of the frame at a media time; past the end only with `extrapolate` (a live show). */
  wallClockAt(mediaTime: number, options: { extrapolate?: boolean } = {}): number | undefined {
    if (!options.extrapolate && mediaTime > this.duration + 1e-9) return undefined;
    const span = this.#spanAtMedia(mediaTime);
    return span ? span.wallClockStart + (mediaTime - span.mediaStart) * 1000 : undefined;
  }

  /**
   * Media time shown at a wall-clock instant. Inside a reconnect gap the media stands still at the
   * end of the previous span; `extrapolate` lets the last span run on (its encoder is still sending).
   */
  mediaTimeAt(wallClock: number, options: { extrapolate?: boolean } = {}): number | undefined {
    let result: number | undefined;
    this.#spans.forEach((span, index) => {
      if (wallClock < span.wallClockStart) return;
      const elapsed = (wallClock - span.wallClockStart) / 1000;
      const open = options.extrapolate && index === this.#spans.length - 1;
      result = span.mediaStart + (open ? elapsed : Math.min(elapsed, span.duration));
    });
    return result;
  }

  #spanAtMedia(mediaTime: number): TimelineSpan | undefined {
    let found: TimelineSpan | undefined;
    for (const span of this.#spans) {
      if (span.mediaStart <= mediaTime) found = span;
    }
    return found;
  }
}

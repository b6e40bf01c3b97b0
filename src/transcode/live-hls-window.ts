// The live edge of one rendition, in memory: its init segments, its last segments with their parts
// and the segment in progress. It answers what exists (for blocking reloads), serves the bytes of
// parts, segments and inits, and renders the Low-Latency HLS media playlist.
import type { LiveHlsEvent, LiveSegmentHead } from './live-hls-events.ts';
import { renderMediaPlaylist, type DateRange, type MediaPart, type MediaSegment } from './playlist.ts';

/** Closed segments whose parts stay listed: the spec drops parts only once they are three target durations from the end. */
const CLOSED_SEGMENTS_WITH_PARTS = 3;

/**
 * Whether a segment of `duration` seconds is whole: the next independent part starts a new one. The
 * packager cuts by it and the window predicts the next part's name by it, so both agree.
 */
export function segmentIsDue(duration: number, segmentSeconds: number, partTarget: number): boolean {
  return duration >= segmentSeconds - partTarget / 2;
}

export interface LiveTiming {
  segmentSeconds: number;
  targetDuration: number;
  partTarget: number;
  windowSegments: number;
}

interface LivePart extends MediaPart {
  bytes: Buffer;
}

interface LiveSegment extends LiveSegmentHead {
  uri?: string;
  duration: number;
  parts: LivePart[];
}

export class LiveHlsWindow {
  readonly #inits = new Map<string, Buffer>();
  /** Closed segments, oldest first, at most `windowSegments`. */
  #segments: LiveSegment[] = [];
  #open?: LiveSegment;
  /** Discontinuities of segments that left the window (EXT-X-DISCONTINUITY-SEQUENCE). */
  #droppedDiscontinuities = 0;
  #latestInit?: string;

  constructor(
    readonly rendition: string,
    private readonly timing: LiveTiming,
  ) {}

  addInit(uri: string, bytes: Buffer): void {
    this.#inits.set(uri, bytes);
    this.#latestInit = uri;
  }

  addPart(segment: LiveSegmentHead, index: number, part: LivePart): void {
    // A snapshot sent to another mirror replays segments this window already has: older ones are left.
    if (segment.sequence <= this.lastClosed || (this.#open && segment.sequence < this.#open.sequence)) return;
    if (!this.#open || this.#open.sequence !== segment.sequence) {
      // A mirror that joins in the middle of a segment starts with the next one.
      if (index !== 0) return void (this.#open = undefined);
      this.#open = { ...segment, duration: 0, parts: [] };
    }
    if (index !== this.#open.parts.length) return;
    this.#open.parts.push(part);
    this.#open.duration += part.duration;
  }

  closeSegment(sequence: number, uri: string, duration: number): void {
    const open = this.#open;
    if (!open || open.sequence !== sequence) return;
    this.#open = undefined;
    this.#segments.push({ ...open, uri, duration });
    while (this.#segments.length > this.timing.windowSegments) {
      const dropped = this.#segments.shift()!;
      // The first segment of the window never carries its tag, so a dropped one's successor counts.
      if (this.#segments[0]?.discontinuity) this.#droppedDiscontinuities++;
      if (dropped.map !== this.#latestInit && !this.#usesInit(dropped.map)) this.#inits.delete(dropped.map);
    }
  }

  /**
   * The live edge as events, for a mirror that joins: the inits in use, then the parts of the last closed
   * segments that still list them and of the segment in progress, each closed segment closed again. Applied
   * to an empty window, they give it the edge this one has.
   */
  snapshot(): LiveHlsEvent[] {
    const segments = [...this.#segments.slice(-CLOSED_SEGMENTS_WITH_PARTS), ...(this.#open ? [this.#open] : [])];
    const maps = new Set([...segments.map((segment) => segment.map), ...(this.#latestInit ? [this.#latestInit] : [])]);
    const events: LiveHlsEvent[] = [];
    for (const uri of maps) {
      const bytes = this.#inits.get(uri);
      if (bytes) events.push({ type: 'init', rendition: this.rendition, uri, bytes });
    }
    for (const segment of segments) {
      const head: LiveSegmentHead = {
        sequence: segment.sequence,
        discontinuity: segment.discontinuity,
        map: segment.map,
        programDateTime: segment.programDateTime,
      };
      for (const [index, part] of segment.parts.entries())
        events.push({
          type: 'part',
          rendition: this.rendition,
          segment: head,
          index,
          uri: part.uri,
          duration: part.duration,
          independent: part.independent,
          bytes: part.bytes,
        });
      if (segment.uri) events.push({ type: 'segment', rendition: this.rendition, sequence: segment.sequence, uri: segment.uri, duration: segment.duration });
    }
    return events;
  }

  /** The newest segment and part: the in-progress segment's last part, else the last closed segment's. */
  get last(): { msn: number; part: number } | undefined {
    if (this.#open && this.#open.parts.length > 0) return { msn: this.#open.sequence, part: this.#open.parts.length - 1 };
    const closed = this.#segments.at(-1);
    return closed ? { msn: closed.sequence, part: closed.parts.length - 1 } : undefined;
  }

  /** Sequence of the newest closed segment, -1 when none. */
  get lastClosed(): number {
    return this.#segments.at(-1)?.sequence ?? -1;
  }

  /** Whether segment `msn` is whole, or (with `part`) that part of it exists. */
  has(msn: number, part?: number): boolean {
    if (msn <= this.lastClosed) return true;
    if (part === undefined || !this.#open || this.#open.sequence !== msn) return false;
    return part < this.#open.parts.length;
  }

  /** The part a player asks for next: the in-progress segment's next one, or a new segment's first. */
  get nextPart(): { msn: number; part: number } {
    const open = this.#open;
    if (!open) return { msn: this.lastClosed + 1, part: 0 };
    if (segmentIsDue(open.duration, this.timing.segmentSeconds, this.timing.partTarget)) return { msn: open.sequence + 1, part: 0 };
    return { msn: open.sequence, part: open.parts.length };
  }

  /** The bytes of a part, a segment or an init segment this window holds, by its name. */
  object(name: string): { bytes: Buffer; kind: 'part' | 'segment' | 'init' } | undefined {
    const init = this.#inits.get(name);
    if (init) return { bytes: init, kind: 'init' };
    for (const segment of [...this.#segments, ...(this.#open ? [this.#open] : [])]) {
      if (segment.uri === name) return { bytes: Buffer.concat(segment.parts.map((part) => part.bytes)), kind: 'segment' };
      const part = segment.parts.find((candidate) => candidate.uri === name);
      if (part) return { bytes: part.bytes, kind: 'part' };
    }
    return undefined;
  }

  /** The LL-HLS media playlist; `skip` asks for a delta update. */
  render(input: { dateRanges: DateRange[]; ended: boolean; skip: boolean; partUri: (msn: number, part: number) => string; reports: LiveHlsWindow[] }): string {
    const { timing } = this;
    const segments: MediaSegment[] = this.#segments.map((segment) => ({
      sequence: segment.sequence,
      uri: segment.uri!,
      duration: segment.duration,
      programDateTime: new Date(segment.programDateTime),
      discontinuity: segment.discontinuity,
      map: segment.map,
      parts: segment.parts,
    }));
    const canSkipUntil = timing.targetDuration * 6;
    const windowStart = segments[0]?.programDateTime.getTime() ?? 0;
    const open = this.#open;
    const next = this.nextPart;
    return renderMediaPlaylist({
      targetDuration: timing.targetDuration,
      segments,
      discontinuitySequence: this.#droppedDiscontinuities,
      ended: input.ended,
      // Cues from the window's first date on, as the stored live playlist carries them.
      dateRanges: input.dateRanges.filter((range) => Date.parse(range.startDate) >= windowStart),
      lowLatency: {
        partTarget: timing.partTarget,
        partHoldBack: timing.partTarget * 3,
        canSkipUntil,
        partsFromSequence: this.lastClosed - CLOSED_SEGMENTS_WITH_PARTS + 1,
        open: {
          sequence: open?.sequence ?? this.lastClosed + 1,
          parts: open?.parts ?? [],
          discontinuity: open?.discontinuity ?? false,
          map: open?.map,
          programDateTime: open ? new Date(open.programDateTime) : undefined,
        },
        preloadHint: input.ended ? undefined : input.partUri(next.msn, next.part),
        skippedSegments: input.skip ? skippable(segments, canSkipUntil) : 0,
        renditionReports: input.reports
          .filter((other) => other !== this && other.last)
          .map((other) => ({ uri: `../${other.rendition}/index.m3u8`, lastMsn: other.last!.msn, lastPart: other.last!.part })),
      },
    });
  }

  #usesInit(uri: string): boolean {
    return this.#segments.some((segment) => segment.map === uri) || this.#open?.map === uri;
  }
}

/** Leading segments that end more than `canSkipUntil` seconds before the playlist's end (a delta update leaves them out). */
function skippable(segments: MediaSegment[], canSkipUntil: number): number {
  const total = segments.reduce((sum, segment) => sum + segment.duration, 0);
  let elapsed = 0;
  let count = 0;
  for (const segment of segments) {
    elapsed += segment.duration;
    if (total - elapsed < canSkipUntil) break;
    count++;
  }
  return count;
}

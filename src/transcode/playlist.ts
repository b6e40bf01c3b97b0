// HLS playlist text: parsing FFmpeg's media playlists and rendering livecue's own master and media playlists.

export interface ParsedSegment {
  uri: string;
  duration: number;
}

/** Segments FFmpeg has finished, in order (FFmpeg lists a segment only once it is complete). */
export function parseMediaPlaylist(text: string): { segments: ParsedSegment[]; ended: boolean } {
  const segments: ParsedSegment[] = [];
  let pendingDuration: number | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXTINF:')) {
      pendingDuration = Number.parseFloat(line.slice('#EXTINF:'.length));
    } else if (line && !line.startsWith('#') && pendingDuration !== undefined) {
      segments.push({ uri: line, duration: pendingDuration });
      pendingDuration = undefined;
    }
  }
  return { segments, ended: text.includes('#EXT-X-ENDLIST') };
}

export interface MediaSegment {
  /** Media sequence number, unique within the session. */
  sequence: number;
  /** Path relative to the media playlist. */
  uri: string;
  /** Seconds. */
  duration: number;
  programDateTime: Date;
  /** First segment after a reconnect or a transcoder restart. */
  discontinuity: boolean;
  /** URI of the segment's init segment (EXT-X-MAP), relative to the playlist: written where it changes. */
  map?: string;
  /** LL-HLS: the segment's parts, listed (EXT-X-PART) when the playlist shows parts for it. */
  parts?: MediaPart[];
}

/** An LL-HLS partial segment. */
export interface MediaPart {
  uri: string;
  /** Seconds. */
  duration: number;
  /** Starts on a keyframe. */
  independent: boolean;
}

/** What a Low-Latency HLS playlist adds to a live one (RFC 8216bis: parts, blocking reload, delta updates). */
export interface LowLatencyInput {
  partTarget: number;
  /** PART-HOLD-BACK, seconds (at least 3 part targets). */
  partHoldBack: number;
  /** CAN-SKIP-UNTIL, seconds (at least 6 target durations). */
  canSkipUntil: number;
  /** Parts are listed for segments from this sequence on (the last few and the one in progress). */
  partsFromSequence: number;
  /** The segment in progress (after the last listed segment): its parts so far. */
  open: { sequence: number; parts: MediaPart[]; discontinuity: boolean; map?: string; programDateTime?: Date };
  /** The part a player should ask for next (EXT-X-PRELOAD-HINT). */
  preloadHint?: string;
  /** Segments left out of this delta update (EXT-X-SKIP); they are the first ones of the window. */
  skippedSegments?: number;
  /** The other renditions' newest segment and part. */
  renditionReports: { uri: string; lastMsn: number; lastPart: number }[];
}

/** A cue as an EXT-X-DATERANGE: JSON cannot sit in an attribute, so the cue travels base64-encoded. */
export interface DateRange {
  id: string;
  className: string;
  startDate: string;
  duration?: number;
  /** X- attributes (names without the X- prefix), written as quoted strings. */
  attributes: Record<string, string>;
}

export function renderDateRange(range: DateRange): string {
  const parts = [`ID="${range.id}"`, `CLASS="${range.className}"`, `START-DATE="${range.startDate}"`];
  if (range.duration !== undefined) parts.push(`DURATION=${range.duration.toFixed(3)}`);
  for (const [name, value] of Object.entries(range.attributes)) parts.push(`X-${name}="${value.replace(/["\r\n]/g, '')}"`);
  return `#EXT-X-DATERANGE:${parts.join(',')}`;
}

export interface MediaPlaylistInput {
  targetDuration: number;
  /** Date ranges (cues) to carry, written after the header. */
  dateRanges?: DateRange[];
  /** The segments to list (the live window, or all of them). */
  segments: MediaSegment[];
  /** Discontinuities that happened before the first listed segment. */
  discontinuitySequence: number;
  ended: boolean;
  playlistType?: 'EVENT' | 'VOD';
  lowLatency?: LowLatencyInput;
}

/** Seconds as an HLS decimal: milliseconds, never rounded below the value (durations stay within their targets' check). */
const seconds = (value: number) => value.toFixed(5).replace(/0+$/, '').replace(/\.$/, '.0');

function renderPart(part: MediaPart): string {
  return `#EXT-X-PART:DURATION=${seconds(part.duration)},URI="${part.uri}"${part.independent ? ',INDEPENDENT=YES' : ''}`;
}

function lowLatencyHeader(ll: LowLatencyInput): string[] {
  return [
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${seconds(ll.partHoldBack)},CAN-SKIP-UNTIL=${seconds(ll.canSkipUntil)}`,
    `#EXT-X-PART-INF:PART-TARGET=${seconds(ll.partTarget)}`,
  ];
}

function lowLatencyTail(ll: LowLatencyInput, listed: number, map: string | undefined): string[] {
  const { open } = ll;
  const lines: string[] = [];
  if (open.parts.length > 0) {
    if (open.discontinuity && listed > 0) lines.push('#EXT-X-DISCONTINUITY');
    if (open.map && open.map !== map) lines.push(`#EXT-X-MAP:URI="${open.map}"`);
    if (open.programDateTime) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${open.programDateTime.toISOString()}`);
    lines.push(...open.parts.map(renderPart));
  }
  if (ll.preloadHint) lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${ll.preloadHint}"`);
  for (const report of ll.renditionReports) lines.push(`#EXT-X-RENDITION-REPORT:URI="${report.uri}",LAST-MSN=${report.lastMsn},LAST-PART=${report.lastPart}`);
  return lines;
}

export function renderMediaPlaylist(input: MediaPlaylistInput): string {
  const ll = input.lowLatency;
  const skipped = ll?.skippedSegments ?? 0;
  const first = input.segments[0];
  const lines = [
    '#EXTM3U',
    // 9: parts, blocking reload and delta updates; 6: EXT-X-MAP in a media playlist.
    `#EXT-X-VERSION:${ll ? 9 : 6}`,
    `#EXT-X-TARGETDURATION:${input.targetDuration}`,
    ...(ll ? lowLatencyHeader(ll) : []),
    `#EXT-X-MEDIA-SEQUENCE:${first?.sequence ?? ll?.open.sequence ?? 0}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${input.discontinuitySequence}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  if (input.playlistType) lines.push(`#EXT-X-PLAYLIST-TYPE:${input.playlistType}`);
  for (const range of input.dateRanges ?? []) lines.push(renderDateRange(range));
  if (skipped > 0) lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}`);
  let map: string | undefined;
  input.segments.slice(skipped).forEach((segment, index) => {
    // The first listed segment never carries a discontinuity tag: DISCONTINUITY-SEQUENCE accounts for it.
    if (segment.discontinuity && index + skipped > 0) lines.push('#EXT-X-DISCONTINUITY');
    if (segment.map && segment.map !== map) lines.push(`#EXT-X-MAP:URI="${(map = segment.map)}"`);
    // Every segment carries its date so cues (EXT-X-DATERANGE) map exactly onto media time.
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${segment.programDateTime.toISOString()}`);
    if (ll && segment.sequence >= ll.partsFromSequence) lines.push(...(segment.parts ?? []).map(renderPart));
    lines.push(`#EXTINF:${segment.duration.toFixed(3)},`, segment.uri);
  });
  if (ll) lines.push(...lowLatencyTail(ll, input.segments.length, map));
  if (input.ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

export interface Variant {
  uri: string;
  bandwidth: number;
  averageBandwidth: number;
  width: number;
  height: number;
  frameRate: number;
  codecs: string;
}

export function renderMasterPlaylist(variants: Variant[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const variant of variants) {
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${variant.bandwidth},AVERAGE-BANDWIDTH=${variant.averageBandwidth},` +
        `RESOLUTION=${variant.width}x${variant.height},CODECS="${variant.codecs}",FRAME-RATE=${variant.frameRate.toFixed(3)}`,
      variant.uri,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** RFC 6381 codec string of an H.264 stream from its profile_idc, constraint flags and level_idc. */
export function avc1Codec(profileIdc: number, constraintFlags: number, levelIdc: number): string {
  const hex = (value: number) => value.toString(16).padStart(2, '0').toUpperCase();
  return `avc1.${hex(profileIdc)}${hex(constraintFlags)}${hex(levelIdc)}`;
}

/** Finds the first H.264 SPS in an MPEG-TS segment and returns its RFC 6381 codec string. */
export function avc1CodecOfSegment(segment: Buffer): string | undefined {
  for (let i = 0; i + 6 < segment.length; i++) {
    if (segment[i] === 0 && segment[i + 1] === 0 && segment[i + 2] === 1) {
      const header = segment[i + 3]!;
      if ((header & 0x1f) === 7 && (header & 0x80) === 0) {
        return avc1Codec(segment[i + 4]!, segment[i + 5]!, segment[i + 6]!);
      }
    }
  }
  return undefined;
}

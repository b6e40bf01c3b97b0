// A simulated HLS player for cue timing: follows one live media playlist, keeps its cues (EXT-X-DATERANGE), decodes every new segment's frames with their PTS and stamp, and places each frame on the EXT-X-PROGRAM-DATE-TIME timeline.
import { nicedFfmpeg } from './niced-ffmpeg.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { cueFromDateRange, type CueMessage } from '../../web/src/player/cue-scheduler.ts';
import { readStamp } from './frame-clock.ts';

export interface HlsFrame {
  /** Media sequence number of the segment holding the frame. */
  segment: number;
  /** ms since the epoch on the PDT timeline: the segment's EXT-X-PROGRAM-DATE-TIME + (pts - the segment's first video pts). */
  position: number;
  /** Capture time read from the frame; undefined when unreadable. */
  stamp?: number;
  /** Seconds (MPEG-TS PTS, not shifted). */
  pts: number;
  key: boolean;
}

export interface HlsSegmentRecord {
  sequence: number;
  uri: string;
  programDateTime: number;
  duration: number;
  /** The fMP4 init segment it decodes behind (EXT-X-MAP); none for MPEG-TS. */
  map?: string;
  /** Date.now() of the playlist fetch that first listed it. */
  listedAt: number;
  frames: number;
  unreadable: number;
  firstPts?: number;
  firstIsKey?: boolean;
  error?: string;
}

export interface ListedCue {
  cue: CueMessage;
  /** Date.now() of the playlist fetch that first carried its DATERANGE. */
  listedAt: number;
  startDate: string;
}

interface PlaylistSegment {
  sequence: number;
  uri: string;
  duration: number;
  programDateTime: number;
  /** The fMP4 init segment (EXT-X-MAP) the segment decodes behind; none for MPEG-TS. */
  map?: string;
}

function parsePlaylist(text: string): { segments: PlaylistSegment[]; dateRanges: { id: string; attr: Record<string, string> }[] } {
  const segments: PlaylistSegment[] = [];
  const dateRanges: { id: string; attr: Record<string, string> }[] = [];
  let sequence = 0;
  let duration: number | undefined;
  let pdt: number | undefined;
  let map: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) sequence = Number(line.slice('#EXT-X-MEDIA-SEQUENCE:'.length));
    else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = Date.parse(line.slice('#EXT-X-PROGRAM-DATE-TIME:'.length));
    else if (line.startsWith('#EXT-X-MAP:')) map = /URI="([^"]+)"/.exec(line)?.[1];
    else if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice('#EXTINF:'.length));
    else if (line.startsWith('#EXT-X-DATERANGE:')) {
      const attr: Record<string, string> = {};
      for (const match of line.slice('#EXT-X-DATERANGE:'.length).matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) attr[match[1]!] = match[2]!.replace(/^"|"$/g, '');
      if (attr.ID) dateRanges.push({ id: attr.ID, attr });
    } else if (line && !line.startsWith('#')) {
      if (duration !== undefined && pdt !== undefined) segments.push({ sequence, uri: line, duration, programDateTime: pdt, map });
      sequence++;
      duration = undefined;
      pdt = undefined;
    }
  }
  return { segments, dateRanges };
}

const SHOWINFO = /\bn:\s*\d+\s+pts:\s*(-?\d+)\s+pts_time:(-?[\d.]+).*?\biskey:(\d)/;

/** Decodes a segment's video (MPEG-TS, or fMP4 after its init; no timestamp shifting) to gray frames of width x height, with the PTS of each from showinfo. */
async function decodeSegment(
  body: Buffer,
  format: 'mpegts' | 'mp4',
  width: number,
  height: number,
): Promise<{ gray: Buffer[]; pts: number[]; key: boolean[] }> {
  const { stdout, stderr } = await nicedFfmpeg(
    [
      '-nostats',
      '-loglevel',
      'info',
      '-copyts',
      '-f',
      format,
      '-i',
      'pipe:0',
      '-map',
      '0:v:0',
      '-vf',
      `showinfo,scale=${width}:${height},format=gray`,
      '-fps_mode',
      'passthrough',
      '-f',
      'rawvideo',
      'pipe:1',
    ],
    body,
  );
  const frameBytes = width * height;
  const gray = Array.from({ length: Math.floor(stdout.length / frameBytes) }, (_, i) => stdout.subarray(i * frameBytes, (i + 1) * frameBytes));
  const infos = stderr.split('\n').flatMap((line) => {
    const match = SHOWINFO.exec(line);
    return match ? [{ pts: Number(match[2]), key: match[3] === '1' }] : [];
  });
  if (infos.length !== gray.length) throw new Error(`${gray.length} frames but ${infos.length} showinfo lines`);
  return { gray, pts: infos.map((i) => i.pts), key: infos.map((i) => i.key) };
}

export class HlsCuePlayer {
  readonly #inits = new Map<string, Buffer>();
  readonly frames: HlsFrame[] = [];
  readonly segments: HlsSegmentRecord[] = [];
  readonly cues = new Map<string, ListedCue>();
  playlistFetches = 0;
  playlistFailures = 0;
  #seen = new Set<number>();
  #queue: Promise<void> = Promise.resolve();
  #running = true;
  #loop: Promise<void>;

  constructor(
    readonly playlistUrl: string,
    private readonly readWidth = 480,
    private readonly readHeight = 270,
    private readonly pollMs = 100,
  ) {
    this.#loop = this.#poll();
  }

  async #poll(): Promise<void> {
    let first = true;
    while (this.#running) {
      const response = await fetch(this.playlistUrl).catch(() => undefined);
      const fetchedAt = Date.now();
      this.playlistFetches++;
      if (response?.ok) {
        const { segments, dateRanges } = parsePlaylist(await response.text());
        for (const range of dateRanges) {
          if (this.cues.has(range.id)) continue;
          const cue = cueFromDateRange(range);
          if (cue) this.cues.set(range.id, { cue, listedAt: fetchedAt, startDate: range.attr['START-DATE'] ?? '' });
        }
        for (const segment of segments) {
          if (this.#seen.has(segment.sequence)) continue;
          this.#seen.add(segment.sequence);
          // Segments listed before the player started are not followed: it joins at the live edge.
          if (first) continue;
          const record: HlsSegmentRecord = { ...segment, listedAt: fetchedAt, frames: 0, unreadable: 0 };
          this.segments.push(record);
          // One segment at a time, in order: the decoder is niced and never runs twice at once.
          this.#queue = this.#queue.then(() => this.#decode(record));
        }
        first = false;
      } else {
        this.playlistFailures++;
        await response?.body?.cancel();
      }
      await sleep(this.pollMs);
    }
  }

  /** An init segment, fetched once. */
  async #init(uri: string): Promise<Buffer> {
    let init = this.#inits.get(uri);
    if (!init) {
      const response = await fetch(new URL(uri, this.playlistUrl));
      if (!response.ok) throw new Error(`init segment ${response.status}`);
      init = Buffer.from(await response.arrayBuffer());
      this.#inits.set(uri, init);
    }
    return init;
  }

  async #decode(record: HlsSegmentRecord): Promise<void> {
    try {
      const response = await fetch(new URL(record.uri, this.playlistUrl));
      if (!response.ok) throw new Error(`segment ${response.status}`);
      const body = Buffer.from(await response.arrayBuffer());
      const init = record.map === undefined ? undefined : await this.#init(record.map);
      const { gray, pts, key } = init
        ? await decodeSegment(Buffer.concat([init, body]), 'mp4', this.readWidth, this.readHeight)
        : await decodeSegment(body, 'mpegts', this.readWidth, this.readHeight);
      const firstPts = pts[0];
      if (firstPts === undefined) throw new Error('no video frame');
      record.firstPts = firstPts;
      record.firstIsKey = key[0];
      record.frames = gray.length;
      gray.forEach((frame, i) => {
        const stamp = readStamp(frame, this.readWidth, this.readHeight);
        if (stamp === undefined) record.unreadable++;
        this.frames.push({ segment: record.sequence, position: record.programDateTime + (pts[i]! - firstPts) * 1000, stamp, pts: pts[i]!, key: key[i]! });
      });
    } catch (error) {
      record.error = (error as Error).message;
    }
  }

  /** Stops polling and waits for the segments already listed to be decoded. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await this.#queue;
  }
}

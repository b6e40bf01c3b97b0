// Fragmented MP4 (ISO-BMFF, CMAF) as FFmpeg writes it to a pipe: the init segment (ftyp + moov), then
// fragments (moof + mdat), each read here with its decode time, duration and whether it starts on a
// video sync sample, so the packager can cut parts and segments without decoding anything.

export interface Fmp4Track {
  id: number;
  kind: 'video' | 'audio' | 'other';
  /** Ticks per second of the track's media time (mdhd). */
  timescale: number;
  /** trex defaults, used where a fragment's tfhd gives none. */
  defaultSampleDuration: number;
  defaultSampleFlags: number;
}

export interface Fmp4Init {
  /** ftyp + moov, byte for byte: the EXT-X-MAP object. */
  bytes: Buffer;
  tracks: Fmp4Track[];
  /** RFC 6381 codec string of the video track from its avcC (e.g. avc1.64001F), if it is H.264. */
  videoCodec?: string;
}

export interface Fmp4Fragment {
  /** moof + mdat, byte for byte. */
  bytes: Buffer;
  /** Seconds, on the timing track (the video track, else the fragment's first track): tfdt. */
  decodeTime: number;
  /** Seconds the timing track's samples last in this fragment. */
  duration: number;
  /** The fragment's first video sample is a sync sample (a keyframe): a player can start here. */
  independent: boolean;
}

/** Thrown on bytes that are not the fragmented MP4 this reader expects. */
export class Fmp4Error extends Error {}

const SAMPLE_IS_NON_SYNC = 0x10000;

interface Box {
  type: string;
  /** Offsets into the buffer the box was read from: its payload (after the header) and its end. */
  start: number;
  end: number;
}

/** The boxes between `start` and `end` of `data`, one level deep. */
function* boxes(data: Buffer, start: number, end: number): Generator<Box> {
  let offset = start;
  while (offset + 8 <= end) {
    let size = data.readUInt32BE(offset);
    const type = data.toString('latin1', offset + 4, offset + 8);
    let header = 8;
    if (size === 1) {
      size = Number(data.readBigUInt64BE(offset + 8));
      header = 16;
    } else if (size === 0) {
      size = end - offset;
    }
    if (size < header || offset + size > end) throw new Fmp4Error(`box ${type} at ${offset} runs past its parent`);
    yield { type, start: offset + header, end: offset + size };
    offset += size;
  }
}

function child(data: Buffer, parent: Box, type: string): Box | undefined {
  for (const box of boxes(data, parent.start, parent.end)) if (box.type === type) return box;
  return undefined;
}

function path(data: Buffer, parent: Box, ...types: string[]): Box | undefined {
  let box: Box | undefined = parent;
  for (const type of types) box = box && child(data, box, type);
  return box;
}

/** RFC 6381 codec string from an avcC box's profile, constraint flags and level. */
function avcCodec(data: Buffer, avcC: Box): string {
  const hex = (value: number) => value.toString(16).padStart(2, '0').toUpperCase();
  return `avc1.${hex(data[avcC.start + 1]!)}${hex(data[avcC.start + 2]!)}${hex(data[avcC.start + 3]!)}`;
}

/** Reads an init segment (ftyp + moov): its tracks and the video codec. */
export function parseInit(bytes: Buffer): Fmp4Init {
  const top = { type: 'file', start: 0, end: bytes.length };
  const moov = child(bytes, top, 'moov');
  if (!moov) throw new Fmp4Error('init segment without moov');
  const defaults = new Map<number, { duration: number; flags: number }>();
  const mvex = child(bytes, moov, 'mvex');
  if (mvex) {
    for (const trex of boxes(bytes, mvex.start, mvex.end)) {
      if (trex.type !== 'trex') continue;
      // version+flags, track_ID, default_sample_description_index, duration, size, flags
      defaults.set(bytes.readUInt32BE(trex.start + 4), { duration: bytes.readUInt32BE(trex.start + 12), flags: bytes.readUInt32BE(trex.start + 20) });
    }
  }
  const tracks: Fmp4Track[] = [];
  let videoCodec: string | undefined;
  for (const trak of boxes(bytes, moov.start, moov.end)) {
    if (trak.type !== 'trak') continue;
    const tkhd = child(bytes, trak, 'tkhd');
    const mdhd = path(bytes, trak, 'mdia', 'mdhd');
    const hdlr = path(bytes, trak, 'mdia', 'hdlr');
    if (!tkhd || !mdhd || !hdlr) throw new Fmp4Error('track without tkhd, mdhd or hdlr');
    const id = bytes.readUInt32BE(tkhd.start + (bytes[tkhd.start] === 1 ? 20 : 12));
    const timescale = bytes.readUInt32BE(mdhd.start + (bytes[mdhd.start] === 1 ? 20 : 12));
    const handler = bytes.toString('latin1', hdlr.start + 8, hdlr.start + 12);
    const kind = handler === 'vide' ? 'video' : handler === 'soun' ? 'audio' : 'other';
    const trackDefaults = defaults.get(id);
    tracks.push({ id, kind, timescale, defaultSampleDuration: trackDefaults?.duration ?? 0, defaultSampleFlags: trackDefaults?.flags ?? 0 });
    const stsd = path(bytes, trak, 'mdia', 'minf', 'stbl', 'stsd');
    if (kind === 'video' && stsd && !videoCodec) {
      // stsd: version+flags, entry_count, then sample entries; avc1's box children start after 78 bytes of fields.
      for (const entry of boxes(bytes, stsd.start + 8, stsd.end)) {
        if (entry.type !== 'avc1' && entry.type !== 'avc3') continue;
        const avcC = child(bytes, { type: entry.type, start: entry.start + 78, end: entry.end }, 'avcC');
        if (avcC) videoCodec = avcCodec(bytes, avcC);
      }
    }
  }
  if (tracks.length === 0) throw new Fmp4Error('init segment without tracks');
  return { bytes, tracks, videoCodec };
}

interface TrackRun {
  trackId: number;
  decodeTime: number;
  duration: number;
  firstSampleFlags?: number;
}

/** One traf: its track, tfdt, the total duration of its samples and its first sample's flags. */
function readTraf(data: Buffer, traf: Box, tracks: Fmp4Track[]): TrackRun {
  const tfhd = child(data, traf, 'tfhd');
  if (!tfhd) throw new Fmp4Error('traf without tfhd');
  const tfhdFlags = data.readUInt32BE(tfhd.start) & 0xffffff;
  const trackId = data.readUInt32BE(tfhd.start + 4);
  const track = tracks.find((candidate) => candidate.id === trackId);
  let offset = tfhd.start + 8;
  if (tfhdFlags & 0x1) offset += 8; // base_data_offset
  if (tfhdFlags & 0x2) offset += 4; // sample_description_index
  let defaultDuration = track?.defaultSampleDuration ?? 0;
  let defaultFlags = track?.defaultSampleFlags ?? 0;
  if (tfhdFlags & 0x8) defaultDuration = data.readUInt32BE((offset += 4) - 4);
  if (tfhdFlags & 0x10) offset += 4; // default_sample_size
  if (tfhdFlags & 0x20) defaultFlags = data.readUInt32BE(offset);
  const tfdt = child(data, traf, 'tfdt');
  const decodeTime = !tfdt ? 0 : data[tfdt.start] === 1 ? Number(data.readBigUInt64BE(tfdt.start + 4)) : data.readUInt32BE(tfdt.start + 4);
  let duration = 0;
  let firstSampleFlags: number | undefined;
  for (const trun of boxes(data, traf.start, traf.end)) {
    if (trun.type !== 'trun') continue;
    const flags = data.readUInt32BE(trun.start) & 0xffffff;
    const count = data.readUInt32BE(trun.start + 4);
    let at = trun.start + 8;
    if (flags & 0x1) at += 4; // data_offset
    let runFirstFlags: number | undefined;
    if (flags & 0x4) runFirstFlags = data.readUInt32BE((at += 4) - 4);
    for (let sample = 0; sample < count; sample++) {
      if (flags & 0x100) duration += data.readUInt32BE((at += 4) - 4);
      else duration += defaultDuration;
      if (flags & 0x200) at += 4;
      if (flags & 0x400) {
        if (sample === 0) runFirstFlags ??= data.readUInt32BE(at);
        at += 4;
      }
      if (flags & 0x800) at += 4;
    }
    if (count > 0) firstSampleFlags ??= runFirstFlags ?? defaultFlags;
  }
  return { trackId, decodeTime, duration, firstSampleFlags };
}

/** Reads one fragment (moof + mdat) against its init segment's tracks. */
export function parseFragment(bytes: Buffer, init: Fmp4Init): Fmp4Fragment {
  const top = { type: 'file', start: 0, end: bytes.length };
  const moof = child(bytes, top, 'moof');
  if (!moof) throw new Fmp4Error('fragment without moof');
  const runs = [...boxes(bytes, moof.start, moof.end)].filter((box) => box.type === 'traf').map((traf) => readTraf(bytes, traf, init.tracks));
  // Timed by the video track; a fragment without video (FFmpeg's audio tail at the end of a run) by what it has.
  const video = init.tracks.find((track) => track.kind === 'video');
  const run = runs.find((candidate) => candidate.trackId === video?.id) ?? runs[0];
  const timing = init.tracks.find((track) => track.id === run?.trackId);
  if (!run || !timing) return { bytes, decodeTime: 0, duration: 0, independent: false };
  const independent = timing.kind !== 'video' || (run.firstSampleFlags !== undefined && (run.firstSampleFlags & SAMPLE_IS_NON_SYNC) === 0);
  return { bytes, decodeTime: run.decodeTime / timing.timescale, duration: run.duration / timing.timescale, independent };
}

export interface Fmp4ReaderEvents {
  init(init: Fmp4Init): void;
  fragment(fragment: Fmp4Fragment): void;
}

/**
 * Reads a fragmented MP4 byte stream chunk by chunk: hands on the init segment once, then every whole
 * fragment. Boxes other than ftyp, moov, moof and mdat (FFmpeg's closing mfra) are skipped.
 */
export class Fmp4Reader {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #ftyp?: Buffer;
  #init?: Fmp4Init;
  #moof?: Buffer;

  constructor(private readonly on: Fmp4ReaderEvents) {}

  get init(): Fmp4Init | undefined {
    return this.#init;
  }

  /** Takes the next bytes; throws Fmp4Error on a stream that is not fragmented MP4. */
  push(chunk: Buffer): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    for (;;) {
      const box = this.#nextBox();
      if (!box) return;
      this.#take(box);
    }
  }

  /** The next whole top-level box, if the pending bytes hold one. */
  #nextBox(): { type: string; bytes: Buffer } | undefined {
    if (this.#pendingBytes < 8) return undefined;
    if (this.#pending.length > 1) this.#pending = [Buffer.concat(this.#pending)];
    const data = this.#pending[0]!;
    let size = data.readUInt32BE(0);
    if (size === 1) {
      if (data.length < 16) return undefined;
      size = Number(data.readBigUInt64BE(8));
    }
    if (size < 8) throw new Fmp4Error(`box of ${size} bytes in the stream`);
    if (data.length < size) return undefined;
    const type = data.toString('latin1', 4, 8);
    const bytes = data.subarray(0, size);
    const rest = data.subarray(size);
    this.#pending = rest.length > 0 ? [rest] : [];
    this.#pendingBytes = rest.length;
    return { type, bytes };
  }

  #take({ type, bytes }: { type: string; bytes: Buffer }): void {
    if (type === 'ftyp') this.#ftyp = Buffer.from(bytes);
    else if (type === 'moov') {
      this.#init = parseInit(Buffer.concat([this.#ftyp ?? Buffer.alloc(0), bytes]));
      this.on.init(this.#init);
    } else if (type === 'moof') this.#moof = Buffer.from(bytes);
    else if (type === 'mdat') {
      if (!this.#init || !this.#moof) throw new Fmp4Error('media data before the init segment or its moof');
      const fragment = parseFragment(Buffer.concat([this.#moof, bytes]), this.#init);
      this.#moof = undefined;
      this.on.fragment(fragment);
    }
  }
}

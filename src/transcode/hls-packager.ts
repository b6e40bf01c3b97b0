// Turns the transcoder's fragmented MP4 into livecue's HLS: each fragment is an LL-HLS part, handed to
// the show's live window at once (LiveHlsEvents); parts add up to segments, cut at the first
// independent part once a segment holds SEGMENT_SECONDS. Each run's init segment and each whole
// segment are uploaded under names unique to the session, then the rendition's playlists that name
// them (the live window, and the DVR playlist from the show's first segment), then the master playlists.
import type { Logger } from '../log.ts';
import type { MediaTimeline, TimelineSpan } from '../media/media-timeline.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { UploadQueue } from '../storage/upload-queue.ts';
import type { Rendition } from './ladder.ts';
import type { CueMessage } from '../contract/cue-message.ts';
import type { Fmp4Fragment, Fmp4Init } from '../media/fmp4.ts';
import type { LiveHlsEvent, LiveSegmentHead } from './live-hls-events.ts';
import { segmentIsDue } from './live-hls-window.ts';
import { partUri } from './live-hls-windows.ts';
import { renderMasterPlaylist, renderMediaPlaylist, type DateRange, type MediaSegment } from './playlist.ts';
import type { RunInfo } from './transcoder.ts';

export const PLAYLIST_CACHE_CONTROL = 'public, max-age=1';
export const ENDED_PLAYLIST_CACHE_CONTROL = 'public, max-age=60';
export const SEGMENT_CACHE_CONTROL = 'public, max-age=31536000, immutable';
export const PLAYLIST_CONTENT_TYPE = 'application/vnd.apple.mpegurl';
export const SEGMENT_CONTENT_TYPE = 'video/mp4';
/** The live window's own names, next to the live playlist: the rewind (DVR) playlists. */
export const DVR_PLAYLIST = 'dvr.m3u8';

export interface StoredSegment extends MediaSegment {
  rendition: string;
  run: number;
  mediaStart: number;
  objectKey: string;
  bytes: number;
  /** Object key of the init segment (EXT-X-MAP) of the segment's run. */
  initKey?: string;
}

/** The segment a rendition is filling with parts. */
interface OpenSegment {
  head: LiveSegmentHead;
  run: number;
  parts: Buffer[];
  duration: number;
}

interface RenditionState {
  rendition: Rendition;
  segments: StoredSegment[];
  nextSequence: number;
  lastRun?: number;
  /** Seconds of media this rendition has in each run. */
  runOffsets: Map<number, number>;
  mediaEnd: number;
  targetDuration: number;
  codecs?: string;
  playlistWritten: boolean;
  open?: OpenSegment;
  /** Each run's init segment: its name next to the playlist. */
  inits: Map<number, string>;
}

export interface HlsPackagerOptions {
  /** Object key prefix of the stream's HLS, e.g. hls/<playbackId>. */
  prefix: string;
  /** Short tag unique to the session; segment names are <tag>-<sequence>.m4s and never repeat. */
  sessionTag: string;
  segmentSeconds: number;
  /** LL-HLS part duration FFmpeg cuts fragments at. */
  partSeconds: number;
  windowSegments: number;
  uploads: UploadQueue;
  timeline: MediaTimeline;
  logger: Logger;
  metrics: Metrics;
  onSegmentStored?: (segment: StoredSegment) => void;
  onPlayable?: () => void;
  /** The session's cues, carried as EXT-X-DATERANGE in every media playlist. */
  cues?: () => readonly CueMessage[];
  /** The live window's feed: every part as it comes, segments as they close, cues, the end. */
  publish?: (event: LiveHlsEvent) => void;
}

/**
 * Segments the live window holds at least: twice CAN-SKIP-UNTIL (six target durations), so a delta update
 * (`_HLS_skip`) leaves out about half of the playlist.
 */
export const LIVE_WINDOW_MIN_SEGMENTS = 12;

/**
 * The part target players are told: FFmpeg cuts a fragment at the first frame at or past PART_SECONDS, so a
 * part lasts PART_SECONDS rounded up to whole frames; the longest over the rungs' frame rates, up to the millisecond.
 */
export function partTarget(partSeconds: number, frameRates: number[]): number {
  const longest = Math.max(...frameRates.map((rate) => Math.max(1, Math.ceil(partSeconds * rate - 1e-6)) / rate));
  return Math.ceil(longest * 1000) / 1000;
}

export function cueDateRange(cue: CueMessage): DateRange {
  return {
    id: cue.id,
    className: `com.livecue.${cue.type}`,
    startDate: cue.wallClock,
    duration: cue.duration,
    attributes: {
      'LIVECUE-SEQ': String(cue.seq),
      'LIVECUE-TYPE': cue.type,
      'LIVECUE-MEDIA-TIME': cue.mediaTime.toFixed(3),
      'LIVECUE-CUE': Buffer.from(JSON.stringify(cue)).toString('base64'),
    },
  };
}

export class HlsPackager {
  #renditions = new Map<string, RenditionState>();
  #runs = new Map<number, { info: RunInfo; span: TimelineSpan }>();
  #hasAudio = false;
  #masterWritten = false;
  #ended = false;
  /** The part target the live window announces: segments are cut by it, as the window predicts. */
  #partTarget = 0;

  constructor(private readonly options: HlsPackagerOptions) {}

  get masterWritten(): boolean {
    return this.#masterWritten;
  }

  runStarted(info: RunInfo): void {
    this.#hasAudio = info.hasAudio;
    const { segmentSeconds, partSeconds, windowSegments } = this.options;
    if (this.#renditions.size === 0) {
      this.#partTarget = partTarget(partSeconds, info.renditions.length > 0 ? info.renditions.map((rendition) => rendition.frameRate) : [30]);
      this.#publish({
        type: 'started',
        renditions: info.renditions.map((rendition) => rendition.name),
        segmentSeconds,
        targetDuration: Math.ceil(segmentSeconds),
        partTarget: this.#partTarget,
        windowSegments: Math.max(windowSegments, LIVE_WINDOW_MIN_SEGMENTS),
      });
    }
    for (const rendition of info.renditions) {
      if (!this.#renditions.has(rendition.name)) {
        this.#renditions.set(rendition.name, {
          rendition,
          segments: [],
          nextSequence: 0,
          runOffsets: new Map(),
          mediaEnd: 0,
          targetDuration: Math.ceil(segmentSeconds),
          playlistWritten: false,
          inits: new Map(),
        });
      }
    }
    this.#runs.set(info.run, { info, span: this.options.timeline.startSpan(info.wallClockStart) });
  }

  /** A run's init segment: uploaded first (its segments' EXT-X-MAP), and handed to the live window. */
  initReady({ run, rendition, init }: { run: number; rendition: string; init: Fmp4Init }): void {
    const state = this.#renditions.get(rendition);
    if (!state || this.#ended) return;
    const uri = `${this.options.sessionTag}-init-${run}.mp4`;
    state.inits.set(run, uri);
    state.codecs ??= init.videoCodec;
    this.#publish({ type: 'init', rendition, uri, bytes: init.bytes });
    const key = `${this.options.prefix}/${rendition}/${uri}`;
    this.options.uploads
      .enqueue(key, init.bytes, { contentType: SEGMENT_CONTENT_TYPE, cacheControl: SEGMENT_CACHE_CONTROL })
      .catch((error: Error) => this.options.logger.error({ err: error, key }, 'init segment lost'));
  }

  /** A fragment is a part: it closes the segment in progress when it is independent and that one is whole. */
  fragmentReady({ run, rendition, fragment }: { run: number; rendition: string; fragment: Fmp4Fragment }): void {
    const state = this.#renditions.get(rendition);
    const runInfo = this.#runs.get(run);
    const map = state?.inits.get(run);
    if (!state || !runInfo || !map || this.#ended) return;
    const { segmentSeconds, sessionTag } = this.options;
    if (state.open && (state.open.run !== run || (fragment.independent && segmentIsDue(state.open.duration, segmentSeconds, this.#partTarget)))) {
      this.#closeSegment(state);
    }
    if (!state.open) {
      const runOffset = state.runOffsets.get(run) ?? 0;
      const head: LiveSegmentHead = {
        sequence: state.nextSequence++,
        discontinuity: state.lastRun !== undefined && state.lastRun !== run,
        map,
        programDateTime: new Date(runInfo.info.wallClockStart + runOffset * 1000).toISOString(),
      };
      state.lastRun = run;
      state.open = { head, run, parts: [], duration: 0 };
    }
    const open = state.open;
    const index = open.parts.length;
    open.parts.push(fragment.bytes);
    open.duration += fragment.duration;
    this.#publish({
      type: 'part',
      rendition,
      segment: open.head,
      index,
      uri: partUri(sessionTag, open.head.sequence, index),
      duration: fragment.duration,
      independent: fragment.independent,
      bytes: fragment.bytes,
    });
  }

  /** A run's FFmpeg is gone: the segments it was filling are whole. */
  runEnded({ run }: { run: number }): void {
    for (const state of this.#renditions.values()) if (state.open?.run === run) this.#closeSegment(state);
  }

  /** A cue was placed: playlists are written again at once rather than at the next segment. */
  cuesChanged(): void {
    if (this.#ended) return;
    this.#publish({ type: 'cues', dateRanges: this.#dateRanges() });
    for (const state of this.#renditions.values()) {
      if (state.segments.length > 0) this.#writeMediaPlaylists(state).catch(() => {});
    }
  }

  /** The session is over: every playlist gets EXT-X-ENDLIST; resolves when storage has it all. */
  async finish(timeoutMs: number): Promise<boolean> {
    for (const state of this.#renditions.values()) if (state.open) this.#closeSegment(state);
    this.#ended = true;
    for (const state of this.#renditions.values()) {
      if (state.segments.length > 0) this.#writeMediaPlaylists(state).catch(() => {});
    }
    const deadline = Date.now() + timeoutMs;
    // A segment finishing its upload now enqueues one more playlist after it: drain until quiet.
    let drained = await this.options.uploads.drain(timeoutMs);
    while (drained && this.options.uploads.pendingCount > 0 && Date.now() < deadline) {
      drained = await this.options.uploads.drain(deadline - Date.now());
    }
    this.#publish({ type: 'ended' });
    return drained;
  }

  #publish(event: LiveHlsEvent): void {
    try {
      this.options.publish?.(event);
    } catch (error) {
      this.options.logger.error({ err: error, event: event.type }, 'live HLS window rejected an event');
    }
  }

  #dateRanges(): DateRange[] {
    return (this.options.cues?.() ?? []).map(cueDateRange);
  }

  /** The segment in progress is whole: the live window lists it now, storage gets it, then the playlists. */
  #closeSegment(state: RenditionState): void {
    const open = state.open!;
    state.open = undefined;
    const run = this.#runs.get(open.run)!;
    const body = Buffer.concat(open.parts);
    const { prefix, sessionTag } = this.options;
    const name = state.rendition.name;
    const runOffset = state.runOffsets.get(open.run) ?? 0;
    const segment: StoredSegment = {
      sequence: open.head.sequence,
      uri: `${sessionTag}-${open.head.sequence}.m4s`,
      duration: open.duration,
      programDateTime: new Date(open.head.programDateTime),
      discontinuity: open.head.discontinuity,
      map: open.head.map,
      rendition: name,
      run: open.run,
      mediaStart: state.mediaEnd,
      objectKey: `${prefix}/${name}/${sessionTag}-${open.head.sequence}.m4s`,
      bytes: body.length,
      initKey: `${prefix}/${name}/${open.head.map}`,
    };
    state.runOffsets.set(open.run, runOffset + open.duration);
    state.mediaEnd += open.duration;
    state.targetDuration = Math.max(state.targetDuration, Math.ceil(open.duration));
    if (state.rendition === run.info.renditions[0]) this.options.timeline.extend(run.span, runOffset + open.duration);
    this.#publish({ type: 'segment', rendition: name, sequence: segment.sequence, uri: segment.uri, duration: segment.duration });

    const started = performance.now();
    const { uploads, metrics } = this.options;
    uploads
      .enqueue(segment.objectKey, body, { contentType: SEGMENT_CONTENT_TYPE, cacheControl: SEGMENT_CACHE_CONTROL })
      .then(() => {
        metrics.uploadSeconds.observe({ kind: 'segment' }, (performance.now() - started) / 1000);
        metrics.segmentsUploaded.inc({ rendition: name });
        state.segments.push(segment);
        this.options.onSegmentStored?.(segment);
        return this.#writeMediaPlaylists(state);
      })
      .catch((error: Error) => this.options.logger.error({ err: error, key: segment.objectKey }, 'segment lost'));
  }

  /** The stored live playlist (the window, without parts: nodes without the show and the CDN's tail read it) and the DVR one. */
  #writeMediaPlaylists(state: RenditionState): Promise<void> {
    const window = state.segments.slice(-this.options.windowSegments);
    const hiddenDiscontinuities = state.segments
      .slice(0, state.segments.length - window.length + 1)
      .filter((segment, index) => segment.discontinuity && index > 0).length;
    // Cues from the window's first date on (a live playlist); a closed playlist keeps them all.
    const windowStart = this.#ended ? 0 : (window[0]?.programDateTime.getTime() ?? 0);
    const allRanges = this.#dateRanges();
    const live = renderMediaPlaylist({
      targetDuration: state.targetDuration,
      dateRanges: allRanges.filter((range) => Date.parse(range.startDate) >= windowStart),
      segments: window,
      discontinuitySequence: hiddenDiscontinuities,
      ended: this.#ended,
    });
    // Rewind while live: every segment from the show's first, as an EVENT playlist.
    const dvr = renderMediaPlaylist({
      targetDuration: state.targetDuration,
      dateRanges: allRanges,
      segments: state.segments,
      discontinuitySequence: 0,
      ended: this.#ended,
      playlistType: 'EVENT',
    });
    const cacheControl = this.#ended ? ENDED_PLAYLIST_CACHE_CONTROL : PLAYLIST_CACHE_CONTROL;
    const started = performance.now();
    const folder = `${this.options.prefix}/${state.rendition.name}`;
    const { uploads } = this.options;
    void uploads.enqueueReplace(`${folder}/${DVR_PLAYLIST}`, Buffer.from(dvr), { contentType: PLAYLIST_CONTENT_TYPE, cacheControl }).catch(() => {});
    return uploads.enqueueReplace(`${folder}/index.m3u8`, Buffer.from(live), { contentType: PLAYLIST_CONTENT_TYPE, cacheControl }).then(() => {
      this.options.metrics.uploadSeconds.observe({ kind: 'playlist' }, (performance.now() - started) / 1000);
      state.playlistWritten = true;
      return this.#writeMasterWhenReady();
    });
  }

  async #writeMasterWhenReady(): Promise<void> {
    const states = [...this.#renditions.values()];
    if (this.#masterWritten || !states.every((state) => state.playlistWritten)) return;
    this.#masterWritten = true;
    const audioCodec = this.#hasAudio ? ',mp4a.40.2' : '';
    const variants = (playlist: string) =>
      states.map(({ rendition, codecs }) => {
        const audio = this.#hasAudio ? rendition.audioBitrate : 0;
        return {
          uri: `${rendition.name}/${playlist}`,
          bandwidth: rendition.maxBitrate + audio,
          averageBandwidth: rendition.videoBitrate + audio,
          width: rendition.width,
          height: rendition.height,
          frameRate: rendition.frameRate,
          codecs: `${codecs ?? 'avc1.64001F'}${audioCodec}`,
        };
      });
    const options = { contentType: PLAYLIST_CONTENT_TYPE, cacheControl: PLAYLIST_CACHE_CONTROL };
    await this.options.uploads.enqueueReplace(`${this.options.prefix}/${DVR_PLAYLIST}`, Buffer.from(renderMasterPlaylist(variants(DVR_PLAYLIST))), options);
    await this.options.uploads.enqueueReplace(`${this.options.prefix}/master.m3u8`, Buffer.from(renderMasterPlaylist(variants('index.m3u8'))), options);
    this.options.onPlayable?.();
  }
}

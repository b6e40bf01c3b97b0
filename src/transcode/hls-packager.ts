// Turns the transcoder's finished segments into livecue's HLS in object storage: each segment is
// uploaded under a name unique to the session, then the rendition's live playlist that names it,
// then (once every rendition has one) the master playlist.
import { readFileSync, rmSync } from 'node:fs';
import type { Logger } from '../log.ts';
import type { MediaTimeline, TimelineSpan } from '../media/media-timeline.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { UploadQueue } from '../storage/upload-queue.ts';
import type { FinishedSegment } from './segment-watcher.ts';
import type { Rendition } from './ladder.ts';
import type { CueMessage } from '../contract/cue-message.ts';
import { avc1CodecOfSegment, renderMasterPlaylist, renderMediaPlaylist, type DateRange, type MediaSegment } from './playlist.ts';
import type { RunInfo } from './transcoder.ts';

export const PLAYLIST_CACHE_CONTROL = 'public, max-age=1';
export const ENDED_PLAYLIST_CACHE_CONTROL = 'public, max-age=60';
export const SEGMENT_CACHE_CONTROL = 'public, max-age=31536000, immutable';
export const PLAYLIST_CONTENT_TYPE = 'application/vnd.apple.mpegurl';
export const SEGMENT_CONTENT_TYPE = 'video/mp2t';

export interface StoredSegment extends MediaSegment {
  rendition: string;
  run: number;
  mediaStart: number;
  objectKey: string;
  bytes: number;
  /** Object key of the init segment (EXT-X-MAP) of the segment's run. */
  initKey?: string;
}

interface RenditionState {
  rendition: Rendition;
  segments: MediaSegment[];
  nextSequence: number;
  lastRun?: number;
  /** Seconds of media this rendition has in each run. */
  runOffsets: Map<number, number>;
  mediaEnd: number;
  targetDuration: number;
  codecs?: string;
  playlistWritten: boolean;
}

export interface HlsPackagerOptions {
  /** Object key prefix of the stream's HLS, e.g. hls/<playbackId>. */
  prefix: string;
  /** Short tag unique to the session; segment names are <tag>-<sequence>.ts and never repeat. */
  sessionTag: string;
  segmentSeconds: number;
  windowSegments: number;
  uploads: UploadQueue;
  timeline: MediaTimeline;
  logger: Logger;
  metrics: Metrics;
  onSegmentStored?: (segment: StoredSegment) => void;
  onPlayable?: () => void;
  /** The session's cues, carried as EXT-X-DATERANGE in every media playlist. */
  cues?: () => readonly CueMessage[];
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

  constructor(private readonly options: HlsPackagerOptions) {}

  get masterWritten(): boolean {
    return this.#masterWritten;
  }

  runStarted(info: RunInfo): void {
    this.#hasAudio = info.hasAudio;
    for (const rendition of info.renditions) {
      if (!this.#renditions.has(rendition.name)) {
        this.#renditions.set(rendition.name, {
          rendition,
          segments: [],
          nextSequence: 0,
          runOffsets: new Map(),
          mediaEnd: 0,
          targetDuration: Math.ceil(this.options.segmentSeconds),
          playlistWritten: false,
        });
      }
    }
    this.#runs.set(info.run, { info, span: this.options.timeline.startSpan(info.wallClockStart) });
  }

  /** Called synchronously from the transcoder's event: the file is read before FFmpeg's folder can go. */
  segmentFinished(finished: FinishedSegment & { run: number }): void {
    const state = this.#renditions.get(finished.rendition);
    const run = this.#runs.get(finished.run);
    if (!state || !run || this.#ended) return;
    let body: Buffer;
    try {
      body = readFileSync(finished.file);
      rmSync(finished.file, { force: true });
    } catch (error) {
      this.options.logger.error({ err: error, rendition: finished.rendition }, 'finished segment is missing');
      return;
    }
    const runOffset = state.runOffsets.get(finished.run) ?? 0;
    const segment: StoredSegment = {
      sequence: state.nextSequence++,
      uri: `${this.options.sessionTag}-${state.nextSequence - 1}.ts`,
      duration: finished.duration,
      programDateTime: new Date(run.info.wallClockStart + runOffset * 1000),
      discontinuity: state.lastRun !== undefined && state.lastRun !== finished.run,
      rendition: finished.rendition,
      run: finished.run,
      mediaStart: state.mediaEnd,
      objectKey: `${this.options.prefix}/${finished.rendition}/${this.options.sessionTag}-${state.nextSequence - 1}.ts`,
      bytes: body.length,
    };
    state.lastRun = finished.run;
    state.runOffsets.set(finished.run, runOffset + finished.duration);
    state.mediaEnd += finished.duration;
    state.targetDuration = Math.max(state.targetDuration, Math.ceil(finished.duration));
    state.codecs ??= avc1CodecOfSegment(body);
    if (state.rendition === run.info.renditions[0]) this.options.timeline.extend(run.span, runOffset + finished.duration);

    const started = performance.now();
    const { uploads, metrics } = this.options;
    uploads
      .enqueue(segment.objectKey, body, { contentType: SEGMENT_CONTENT_TYPE, cacheControl: SEGMENT_CACHE_CONTROL })
      .then(() => {
        metrics.uploadSeconds.observe({ kind: 'segment' }, (performance.now() - started) / 1000);
        metrics.segmentsUploaded.inc({ rendition: finished.rendition });
        state.segments.push(segment);
        this.options.onSegmentStored?.(segment);
        return this.#writeMediaPlaylist(state);
      })
      .catch((error: Error) => this.options.logger.error({ err: error, key: segment.objectKey }, 'segment lost'));
  }

  /** A cue was placed: playlists are written again at once rather than at the next segment. */
  cuesChanged(): void {
    if (this.#ended) return;
    for (const state of this.#renditions.values()) {
      if (state.segments.length > 0) this.#writeMediaPlaylist(state).catch(() => {});
    }
  }

  /** The session is over: every playlist gets EXT-X-ENDLIST; resolves when storage has it all. */
  async finish(timeoutMs: number): Promise<boolean> {
    this.#ended = true;
    for (const state of this.#renditions.values()) {
      if (state.segments.length > 0) this.#writeMediaPlaylist(state).catch(() => {});
    }
    const deadline = Date.now() + timeoutMs;
    // A segment finishing its upload now enqueues one more playlist after it: drain until quiet.
    let drained = await this.options.uploads.drain(timeoutMs);
    while (drained && this.options.uploads.pendingCount > 0 && Date.now() < deadline) {
      drained = await this.options.uploads.drain(deadline - Date.now());
    }
    return drained;
  }

  #writeMediaPlaylist(state: RenditionState): Promise<void> {
    const window = state.segments.slice(-this.options.windowSegments);
    const hiddenDiscontinuities = state.segments
      .slice(0, state.segments.length - window.length + 1)
      .filter((segment, index) => segment.discontinuity && index > 0).length;
    // Cues from the window's first date on (a live playlist); a closed playlist keeps them all.
    const windowStart = this.#ended ? 0 : (window[0]?.programDateTime.getTime() ?? 0);
    const dateRanges = (this.options.cues?.() ?? []).filter((cue) => Date.parse(cue.wallClock) >= windowStart).map(cueDateRange);
    const text = renderMediaPlaylist({
      targetDuration: state.targetDuration,
      dateRanges,
      segments: window,
      discontinuitySequence: hiddenDiscontinuities,
      ended: this.#ended,
    });
    const started = performance.now();
    return this.options.uploads
      .enqueueReplace(`${this.options.prefix}/${state.rendition.name}/index.m3u8`, Buffer.from(text), {
        contentType: PLAYLIST_CONTENT_TYPE,
        cacheControl: this.#ended ? ENDED_PLAYLIST_CACHE_CONTROL : PLAYLIST_CACHE_CONTROL,
      })
      .then(() => {
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
    const text = renderMasterPlaylist(
      states.map(({ rendition, codecs }) => {
        const audio = this.#hasAudio ? rendition.audioBitrate : 0;
        return {
          uri: `${rendition.name}/index.m3u8`,
          bandwidth: rendition.maxBitrate + audio,
          averageBandwidth: rendition.videoBitrate + audio,
          width: rendition.width,
          height: rendition.height,
          frameRate: rendition.frameRate,
          codecs: `${codecs ?? 'avc1.64001F'}${audioCodec}`,
        };
      }),
    );
    await this.options.uploads.enqueueReplace(`${this.options.prefix}/master.m3u8`, Buffer.from(text), {
      contentType: PLAYLIST_CONTENT_TYPE,
      cacheControl: PLAYLIST_CACHE_CONTROL,
    });
    this.options.onPlayable?.();
  }
}

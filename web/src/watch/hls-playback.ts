// HLS playback through hls.js (loaded only when needed): the live fallback when WebRTC is blocked or
// fails, and replays: the show's recording (VOD, the whole show) or, when no recording is ready, the
// closed live playlists (their last segments only). Cues come from the playlists' EXT-X-DATERANGEs and
// the cue track (the recording's own, or the show's), live also from the WebSocket.
import type HlsType from 'hls.js';
import type { Fragment, LevelDetails } from 'hls.js';
import {
  CueScheduler,
  cueFromDateRange,
  hlsJsPosition,
  nativeHlsPosition,
  replayPosition,
  videoFramePosition,
  type CueMessage,
} from '../player/cue-scheduler.ts';
import { VideoFrameClock } from '../player/frame-clock.ts';
import type { PlaybackUrls } from '../player/playback-urls.ts';
import { fetchCueTrack, type CueFeed } from './cue-feed.ts';
import type { Playback } from './playback.ts';
import type { Recording } from './replay-source.ts';

export interface HlsOptions {
  replay: boolean;
  /** Replay the show's recording; without it a replay plays the closed live playlists. */
  recording?: Recording;
  /** Live: the page's socket, for cues the playlists do not carry yet. */
  feed?: CueFeed;
  /** With `replay`: the live show's rewind playlist (dvrHlsUrl), from its first segment to now, instead of a recording. */
  dvr?: boolean;
}

export interface HlsHooks {
  onCues(cues: CueMessage[]): void;
  /** A live playlist got #EXT-X-ENDLIST: the show is over. */
  onEnded(): void;
  onFatal(message: string): void;
}

interface FragmentTime {
  start: number;
  duration: number;
  programDateTime: number;
}

/** The EXT-X-PROGRAM-DATE-TIME instant (ms) of a video time, from the fragment holding it; NaN outside the fragments listed. */
function programDateAt(fragments: readonly FragmentTime[], time: number): number {
  const fragment = fragments.find((f) => f.start <= time && time < f.start + f.duration);
  return fragment ? fragment.programDateTime + (time - fragment.start) * 1000 : Number.NaN;
}

/**
 * Where each listed piece of media sits on the PDT timeline: the whole segments, and (LL-HLS) the parts, which also
 * cover the segment still in progress, whose frames play before the segment is listed whole.
 */
function fragmentTimes(details: LevelDetails): FragmentTime[] {
  const whole = details.fragments
    .filter((fragment: Fragment) => fragment.programDateTime !== null)
    .map((fragment: Fragment) => ({ start: fragment.start, duration: fragment.duration, programDateTime: fragment.programDateTime! }));
  const parts = (details.partList ?? [])
    .filter((part) => part.fragment.programDateTime !== null)
    .map((part) => ({ start: part.start, duration: part.duration, programDateTime: part.fragment.programDateTime! + part.fragOffset * 1000 }));
  return [...whole, ...parts];
}

export class HlsPlayback implements Playback {
  readonly path: 'hls' | 'replay';
  readonly scheduler: CueScheduler;
  /** The master playlist played. */
  readonly sourceUrl: string;
  readonly recording: Recording | undefined;
  readonly #video: HTMLVideoElement;
  readonly #hls: HlsType | undefined;
  readonly #frames: VideoFrameClock | undefined;
  readonly #unfollowFeed: (() => void) | undefined;
  readonly #hooks: HlsHooks;
  readonly #cues = new Map<string, CueMessage>();
  #fragments: FragmentTime[] = [];
  /** Replay: the show's media time at the video's time 0 (a closed live playlist starts mid-show; a recording at 0). */
  #mediaOffset = 0;
  #endedReported = false;
  #closed = false;

  static async start(video: HTMLVideoElement, urls: PlaybackUrls, options: HlsOptions, hooks: HlsHooks): Promise<HlsPlayback> {
    const { default: Hls } = await import('hls.js/light');
    return new HlsPlayback(Hls, video, urls, options, hooks);
  }

  private constructor(Hls: typeof HlsType, video: HTMLVideoElement, urls: PlaybackUrls, options: HlsOptions, hooks: HlsHooks) {
    const replay = options.replay || options.recording !== undefined;
    const recording = options.recording;
    this.path = replay ? 'replay' : 'hls';
    this.recording = recording;
    this.#video = video;
    this.#hooks = hooks;
    const url = recording?.hlsUrl ?? (options.dvr ? urls.dvrMaster() : urls.hlsMaster());
    this.sourceUrl = url;
    // The recording's poster stands in until the first picture.
    if (recording?.posterUrl) video.poster = recording.posterUrl;
    else video.removeAttribute('poster');
    const mediaOffset = () => this.#mediaOffset;
    const mediaClock = {
      get currentTime() {
        return video.currentTime + mediaOffset();
      },
    };
    video.srcObject = null;
    // Each presented frame is placed by its own media time: on a recording's timeline, or on the date of the fragment it comes from.
    const native = !Hls.isSupported();
    const startDate = () => (video as HTMLVideoElement & { getStartDate?(): Date }).getStartDate?.().getTime() ?? Number.NaN;
    const placeFrame = ({ mediaTime }: VideoFrameCallbackMetadata) =>
      replay ? mediaTime + mediaOffset() : native ? startDate() + mediaTime * 1000 : programDateAt(this.#playingFragments(), mediaTime);
    const frames = VideoFrameClock.supported(video) ? new VideoFrameClock(video, placeFrame) : undefined;
    this.#frames = frames;
    const framePosition = frames && videoFramePosition(replay ? 'mediaTime' : 'wallClock', frames);

    if (Hls.isSupported()) {
      // Cues are read from the playlists' date ranges directly: no metadata text tracks needed.
      const metadata = { enableDateRangeMetadataCues: false, enableID3MetadataCues: false, enableEmsgMetadataCues: false };
      // Live: Low-Latency HLS (parts, blocking reloads) at the playlist's PART-HOLD-BACK. No live sync count is set
      // here: hls.js lets a configured liveSyncDuration(Count) override the server's hold-back, which would play
      // an LL show whole segments behind. A playlist without parts plays at hls.js's default of 3 segments.
      const hls = new Hls(
        replay
          ? // A rewind opens a moment behind the live edge (its playlist grows like a live one); a replay at its start.
            { ...metadata, startPosition: options.dvr ? -1 : 0, backBufferLength: 60 }
          : { ...metadata, lowLatencyMode: true, maxLiveSyncPlaybackRate: 1.1, backBufferLength: 30 },
      );
      this.#hls = hls;
      this.scheduler = new CueScheduler(framePosition ?? (replay ? replayPosition(mediaClock) : hlsJsPosition(hls)));
      hls.on(Hls.Events.LEVEL_LOADED, (_event, data) => this.#onPlaylist(data.details));
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
        else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
        else hooks.onFatal(`HLS playback failed (${data.details})`);
      });
      hls.loadSource(url);
      hls.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      // Safari plays HLS itself; cues then come from the cue track and the WebSocket.
      this.#hls = undefined;
      this.scheduler = new CueScheduler(
        framePosition ?? (replay ? replayPosition(video) : nativeHlsPosition(video as HTMLVideoElement & { getStartDate(): Date })),
      );
      video.src = url;
    } else {
      throw new Error('this browser cannot play HLS');
    }
    frames?.onFrame(() => this.scheduler.tick());
    void video.play().catch(() => {});
    this.#unfollowFeed = replay ? undefined : options.feed?.followCues((cues) => this.#add(cues));
    if (recording) this.#add(recording.cues);
    else
      void fetchCueTrack(urls).then(
        (cues) => this.#add(cues),
        () => {},
      );
  }

  get latencyBasis(): string {
    return this.path === 'replay' ? 'none' : 'program-date-time';
  }

  latencySeconds(): number {
    if (this.path === 'replay') return Number.NaN;
    const playing = this.#hls?.playingDate;
    return playing ? (Date.now() - playing.getTime()) / 1000 : Number.NaN;
  }

  /**
   * The video time of a cue. A recording's timeline is the show's media timeline. A closed live
   * playlist's: placed by its date on the fragments' EXT-X-PROGRAM-DATE-TIME, as hls.js places DATERANGEs.
   */
  videoTimeOf(cue: CueMessage): number | undefined {
    if (this.recording) {
      const duration = Number.isFinite(this.#video.duration) ? this.#video.duration : this.recording.durationSeconds;
      return duration === undefined || cue.mediaTime <= duration ? cue.mediaTime : undefined;
    }
    const at = Date.parse(cue.wallClock);
    const fragment = this.#fragments.find((f) => f.programDateTime <= at && at < f.programDateTime + f.duration * 1000);
    if (fragment) return fragment.start + (at - fragment.programDateTime) / 1000;
    const time = cue.mediaTime - this.#mediaOffset;
    const end = this.#fragments.at(-1);
    return time >= 0 && (!end || time <= end.start + end.duration) ? time : undefined;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#frames?.close();
    this.#unfollowFeed?.();
    this.#hls?.destroy();
  }

  /** The fragments of the level playing (their start follows the media's own timestamps once parsed), else the last loaded. */
  #playingFragments(): readonly FragmentTime[] {
    const hls = this.#hls;
    const details = hls && hls.currentLevel >= 0 ? hls.levels[hls.currentLevel]?.details : undefined;
    return details ? fragmentTimes(details) : this.#fragments;
  }

  #add(cues: CueMessage[]): void {
    if (this.#closed) return;
    const fresh = cues.filter((cue) => this.scheduler.add(cue));
    for (const cue of fresh) this.#cues.set(cue.id, cue);
    if (fresh.length > 0) {
      this.#updateMediaOffset();
      this.#hooks.onCues(fresh);
    }
  }

  #onPlaylist(details: LevelDetails): void {
    if (this.#closed) return;
    this.#fragments = fragmentTimes(details);
    const cues: CueMessage[] = [];
    for (const range of Object.values(details.dateRanges)) {
      const cue = range && cueFromDateRange(range);
      if (cue) cues.push(cue);
    }
    this.#updateMediaOffset();
    this.#add(cues);
    if (!details.live && this.path === 'hls' && !this.#endedReported) {
      this.#endedReported = true;
      this.#hooks.onEnded();
    }
  }

  /** Anchors video time to media time with a cue inside the listed fragments, else with the nearest one before them. */
  #updateMediaOffset(): void {
    if (this.recording) return;
    const first = this.#fragments[0];
    if (!first || this.#cues.size === 0) return;
    const cues = [...this.#cues.values()].sort((a, b) => Date.parse(a.wallClock) - Date.parse(b.wallClock));
    let offset: number | undefined;
    for (const cue of cues) {
      const at = Date.parse(cue.wallClock);
      const fragment = this.#fragments.find((f) => f.programDateTime <= at && at < f.programDateTime + f.duration * 1000);
      if (fragment) {
        offset = cue.mediaTime - (fragment.start + (at - fragment.programDateTime) / 1000);
        break;
      }
    }
    if (offset === undefined) {
      const before = cues.filter((cue) => Date.parse(cue.wallClock) <= first.programDateTime).at(-1);
      offset = before ? before.mediaTime + (first.programDateTime - Date.parse(before.wallClock)) / 1000 - first.start : 0;
    }
    const changed = Math.abs(offset - this.#mediaOffset) > 0.001;
    this.#mediaOffset = Math.max(0, offset);
    if (changed && this.path === 'replay') this.scheduler.seek();
  }
}

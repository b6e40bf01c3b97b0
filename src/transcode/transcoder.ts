// The supervised transcoder of one live session: feeds the ingest's FLV tags to an FFmpeg run,
// starts a new run (a discontinuity) after a reconnect or a crash, with backoff, at a keyframe.
import type { Config } from '../config/schema.ts';
import { FfmpegProcess } from '../ffmpeg/ffmpeg-process.ts';
import { FfmpegSupervisor, type RestartPolicy } from '../ffmpeg/ffmpeg-supervisor.ts';
import type { Logger } from '../log.ts';
import { FLV_CODEC_H264, flvStreamStart, parseAvcSequenceHeader, presentationTime } from '../media/flv-tag.ts';
import type { IngestPacket } from '../media/ingest-packet.ts';
import type { SourceInfo } from '../media/source-info.ts';
import { TypedEmitter } from '../contract/typed-emitter.ts';
import { Fmp4Reader, type Fmp4Fragment, type Fmp4Init } from '../media/fmp4.ts';
import { ladderArgs } from './ffmpeg-args.ts';
import { parseLadderHeights, renditionLadder, type Rendition } from './ladder.ts';

/** The least a pulled run gets to write its first fragment before it is restarted. */
const FIRST_PULLED_SEGMENT_MS = 10_000;
/** FFmpeg input queued beyond this is dropped until the next keyframe rather than held in memory. */
export const MAX_STDIN_BACKLOG_BYTES = 32 * 1024 * 1024;

/** Backoff 0.25 s, 0.5 s, 1 s ... capped at 8 s; a start that fails waits 5 s; the new run starts at the next keyframe after it. */
function transcoderRestarts(maxRestarts: number): RestartPolicy {
  return { backoffMs: (failures) => Math.min(8000, 250 * 2 ** Math.min(failures - 1, 5)), maxFailures: maxRestarts, startErrorDelayMs: 5000 };
}

export interface RunInfo {
  run: number;
  /** Wall-clock time (ms) at which the run's first frame arrived. */
  wallClockStart: number;
  /** Presentation time (ms, encoder clock) of the run's first frame, when the ingest gives one (RTMP). */
  firstPts?: number;
  renditions: Rendition[];
  source: SourceInfo;
  hasAudio: boolean;
}

/** A source FFmpeg reads by itself (RTP from the SFU), instead of FLV tags written to its stdin. */
export interface PulledSource {
  inputArgs(): string[];
  start(): Promise<void>;
  hasAudio: boolean;
  info: SourceInfo;
}

/** The ladder of a session: chosen from its first run's source and kept. */
interface SessionLadder {
  renditions: Rendition[];
  source: SourceInfo;
  hasAudio: boolean;
}

export type TranscoderEvents = {
  runStarted: [RunInfo];
  /** A rendition's init segment (ftyp + moov) of a run: before any of its fragments. */
  init: [{ run: number; rendition: string; init: Fmp4Init }];
  /** A whole fragment (moof + mdat) of a rendition: an LL-HLS part. */
  fragment: [{ run: number; rendition: string; fragment: Fmp4Fragment }];
  /** A run's FFmpeg is gone and every fragment it wrote has been reported. */
  runEnded: [{ run: number }];
  progress: [{ speed: number }];
  died: [{ run: number; code: number | null; signal: NodeJS.Signals | null }];
  gaveUp: [{ restarts: number }];
};

export class Transcoder extends TypedEmitter<TranscoderEvents> {
  readonly #ffmpeg: FfmpegSupervisor;
  /** The run FFmpeg is on now, and whether its input is dropped until a keyframe (FFmpeg fell behind). */
  #current?: { process: FfmpegProcess; run: number; dropping: boolean };
  #runCount = 0;
  #audioHeader?: Buffer;
  #videoHeader?: IngestPacket;
  #pulled?: PulledSource;
  /** The first run's ladder is kept for the whole session, so renditions never change mid-show. */
  #ladder?: SessionLadder;

  constructor(private readonly options: { config: Config; workDir: string; logger: Logger; sourceHint?: Partial<SourceInfo> }) {
    super((error, event) => options.logger.error({ err: error, event }, 'transcoder listener threw'));
    this.#ffmpeg = new FfmpegSupervisor(transcoderRestarts(options.config.MAX_TRANSCODER_RESTARTS), options.logger);
    this.#ffmpeg.on('died', (exit) => this.#runDied(exit));
    this.#ffmpeg.on('gaveUp', ({ failures }) => this.emit('gaveUp', { restarts: failures }));
  }

  get pid(): number | undefined {
    return this.#ffmpeg.current?.pid;
  }

  get restarts(): number {
    return this.#ffmpeg.failures;
  }

  get renditions(): Rendition[] {
    return this.#ladder?.renditions ?? [];
  }

  write(packet: IngestPacket): void {
    if (this.#ffmpeg.closed) return;
    if (packet.kind === 'audio-header') this.#audioHeader = packet.tag;
    if (packet.kind === 'video-header') this.#videoHeader = packet;
    if (packet.kind === 'metadata') return;

    const current = this.#current;
    if (!current || this.#ffmpeg.current !== current.process) {
      if (packet.kind === 'video-key' && this.#videoHeader && this.#ffmpeg.canStart) void this.#startRun(packet);
      return;
    }
    if (current.dropping) {
      if (packet.kind !== 'video-key') return;
      current.dropping = false;
    }
    if (current.process.backlogBytes > MAX_STDIN_BACKLOG_BYTES) {
      this.options.logger.warn({ backlog: current.process.backlogBytes }, 'ffmpeg is not keeping up: dropping input until the next keyframe');
      current.dropping = true;
      return;
    }
    this.#ffmpeg.write(packet.tag);
  }

  /** The ingest stopped (encoder gone): let FFmpeg finish its last segment. The next keyframe starts a new run. */
  endInput(): Promise<void> {
    this.#pulled = undefined;
    this.#current = undefined;
    return this.#ffmpeg.stop();
  }

  /** Starts a run on a source FFmpeg reads itself; it is restarted the same way if FFmpeg dies. */
  startPulled(source: PulledSource): void {
    if (this.#ffmpeg.closed) return;
    this.#pulled = source;
    this.#ffmpeg.retryAfterBackoff(() => void this.#startRun(undefined));
  }

  /** Ends the input and waits until every run has written its last segment. */
  close(): Promise<void> {
    this.#pulled = undefined;
    this.#current = undefined;
    return this.#ffmpeg.close();
  }

  #sourceInfo(): SourceInfo {
    const hint = this.options.sourceHint ?? {};
    const fromHeader = this.#videoHeader ? parseAvcSequenceHeader(this.#videoHeader.tag) : undefined;
    return {
      width: fromHeader?.width ?? hint.width ?? 1280,
      height: fromHeader?.height ?? hint.height ?? 720,
      frameRate: hint.frameRate && hint.frameRate > 0 ? hint.frameRate : 30,
      videoCodec: this.#videoHeader?.codecId === FLV_CODEC_H264 ? 'h264' : 'other',
    };
  }

  #chooseLadder(pulled: PulledSource | undefined): SessionLadder {
    const source = pulled?.info ?? this.#sourceInfo();
    const { config } = this.options;
    return {
      source,
      hasAudio: pulled ? pulled.hasAudio : this.#audioHeader !== undefined,
      renditions: renditionLadder(source, { heights: parseLadderHeights(config.LADDER), passthrough: config.PASSTHROUGH }),
    };
  }

  async #startRun(firstKeyframe: IngestPacket | undefined): Promise<void> {
    const { config, logger } = this.options;
    const pulled = this.#pulled;
    // The run's timeline is anchored on the arrival of its first frame, not on FFmpeg's start-up.
    const firstFrameAt = Date.now();
    const { renditions, source, hasAudio } = (this.#ladder ??= this.#chooseLadder(pulled));
    const run = this.#runCount++;
    const names = renditions.map((r) => r.name);
    const runLogger = logger.child({ run });
    const args = ladderArgs({
      renditions,
      hasAudio: pulled ? pulled.hasAudio && hasAudio : hasAudio,
      segmentSeconds: config.SEGMENT_SECONDS,
      partSeconds: config.PART_SECONDS,
      preset: config.X264_PRESET,
      input: pulled?.inputArgs(),
      sourceFrameRate: source.frameRate,
    });
    const firstInput = pulled ? [] : flvStreamStart({ audio: this.#audioHeader, video: this.#videoHeader!.tag }, firstKeyframe!.tag, hasAudio);
    let process: FfmpegProcess | undefined;
    try {
      process = await this.#ffmpeg.start(
        async () => FfmpegProcess.start({ ffmpegPath: config.FFMPEG_PATH, args, logger: runLogger, outputPipes: names.length }),
        firstInput,
      );
    } catch (error) {
      return void logger.error({ err: error }, 'cannot start ffmpeg');
    }
    if (!process) return;
    runLogger.info({ renditions: names }, 'transcoder run started');
    this.#current = { process, run, dropping: false };
    this.#readOutputs(process, names, run, runLogger);
    process.on('progress', ({ speed }) => this.emit('progress', { speed }));
    // A pulled (WHIP) source's first frame reaches FFmpeg only once it runs and a keyframe was asked for.
    const wallClockStart = pulled ? Date.now() : firstFrameAt;
    this.emit('runStarted', { run, wallClockStart, firstPts: firstKeyframe ? presentationTime(firstKeyframe) : undefined, renditions, source, hasAudio });
    if (pulled) await this.#startPulledInput(pulled, process, run);
  }

  /** Reads each rendition's fragmented MP4 pipe; `runEnded` once FFmpeg exited (by then every pipe is read). */
  #readOutputs(process: FfmpegProcess, names: string[], run: number, logger: Logger): void {
    process.outputs.forEach((output, index) => {
      const rendition = names[index]!;
      const reader = new Fmp4Reader({
        init: (init) => this.emit('init', { run, rendition, init }),
        fragment: (fragment) => this.emit('fragment', { run, rendition, fragment }),
      });
      let failed = false;
      output.on('data', (chunk: Buffer) => {
        if (failed) return;
        try {
          reader.push(chunk);
        } catch (error) {
          failed = true;
          logger.error({ err: error, rendition }, 'unreadable fragmented MP4 from ffmpeg; restarting the run');
          process.abort();
        }
      });
    });
    void process.exited.then(() => this.emit('runEnded', { run }));
  }

  /**
   * A pulled source (WHIP over RTP) whose FFmpeg writes no fragment in a while is stuck on its start (it
   * waits on stream parameters it never got): it is killed, and the fresh run asks for a keyframe again.
   */
  async #startPulledInput(pulled: PulledSource, process: FfmpegProcess, run: number): Promise<void> {
    const { config, logger } = this.options;
    const firstSegmentMs = Math.max(FIRST_PULLED_SEGMENT_MS, config.SEGMENT_SECONDS * 4000);
    const watchdog = setTimeout(() => {
      logger.warn({ run, waitedMs: firstSegmentMs }, 'no media from the pulled source yet; restarting ffmpeg');
      process.abort();
    }, firstSegmentMs);
    watchdog.unref();
    const firstFragment = ({ run: fragmentRun }: { run: number }) => {
      if (fragmentRun !== run) return;
      clearTimeout(watchdog);
      this.off('fragment', firstFragment);
    };
    this.on('fragment', firstFragment);
    process.once('exited', () => this.off('fragment', firstFragment));
    process.once('exited', () => clearTimeout(watchdog));
    try {
      await pulled.start();
    } catch (error) {
      logger.error({ err: error }, 'cannot start the pulled source');
    }
  }

  #runDied(exit: { code: number | null; signal: NodeJS.Signals | null; stderr: string; failures: number; retryInMs: number }): void {
    const run = this.#current?.run ?? this.#runCount - 1;
    this.#current = undefined;
    this.options.logger.error({ run, code: exit.code, signal: exit.signal, stderr: exit.stderr.slice(-300) }, 'ffmpeg died');
    this.emit('died', { run, code: exit.code, signal: exit.signal });
    const pulled = this.#pulled;
    if (pulled && !this.#ffmpeg.closed) this.#ffmpeg.retryAfterBackoff(() => this.#pulled === pulled && void this.#startRun(undefined));
  }
}

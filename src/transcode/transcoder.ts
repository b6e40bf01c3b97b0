// The supervised transcoder of one live session: feeds the ingest's FLV tags to an FFmpeg run,
// starts a new run (a discontinuity) after a reconnect or a crash, with backoff, at a keyframe.
import path from 'node:path';
import { rm } from 'node:fs/promises';
import type { Config } from '../config/schema.ts';
import type { IngestPacket } from '../ingest/ingest-packet.ts';
import { flvFileHeader, parseAvcSequenceHeader } from '../ingest/ingest-packet.ts';
import type { Logger } from '../log.ts';
import { TypedEmitter } from '../typed-emitter.ts';
import { ladderArgs } from './ffmpeg-args.ts';
import { FfmpegRun, MAX_STDIN_BACKLOG_BYTES, type FinishedSegment } from './ffmpeg-run.ts';
import { parseLadderHeights, renditionLadder, type Rendition, type SourceInfo } from './ladder.ts';

/** The least a pulled run gets to write its first segment before it is restarted. */
const FIRST_PULLED_SEGMENT_MS = 10_000;

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

export type TranscoderEvents = {
  runStarted: [RunInfo];
  segment: [FinishedSegment & { run: number }];
  progress: [{ speed: number }];
  died: [{ run: number; code: number | null; signal: NodeJS.Signals | null }];
  gaveUp: [{ restarts: number }];
};

const FLV_CODEC_H264 = 7;

/** A video packet's presentation time (ms): its decode time plus the FLV composition offset. */
export function presentationTime(packet: IngestPacket): number {
  const tag = packet.tag;
  if (tag.length < 16 || packet.codecId !== FLV_CODEC_H264) return packet.dts;
  const cts = tag.readUIntBE(11 + 2, 3);
  return packet.dts + (cts & 0x800000 ? cts - 0x1000000 : cts);
}

export class Transcoder extends TypedEmitter<TranscoderEvents> {
  #current?: { run: FfmpegRun; info: RunInfo; dropping: boolean };
  #starting = false;
  #runCount = 0;
  #restarts = 0;
  #restartNotBefore = 0;
  #audioHeader?: Buffer;
  #videoHeader?: IngestPacket;
  #closed = false;
  #closing?: Promise<void>;
  #pulled?: PulledSource;
  #pullRetry?: NodeJS.Timeout;
  #ending: Promise<void>[] = [];
  /** The first run's ladder is kept for the whole session, so renditions never change mid-show. */
  #ladder?: { renditions: Rendition[]; source: SourceInfo; hasAudio: boolean };

  constructor(
    private readonly options: { config: Config; workDir: string; logger: Logger; sourceHint?: Partial<SourceInfo> },
  ) {
    super((error, event) => options.logger.error({ err: error, event }, 'transcoder listener threw'));
  }

  get pid(): number | undefined {
    return this.#current?.run.pid;
  }

  get restarts(): number {
    return this.#restarts;
  }

  get renditions(): Rendition[] {
    return this.#ladder?.renditions ?? [];
  }

  write(packet: IngestPacket): void {
    if (this.#closed) return;
    if (packet.kind === 'audio-header') this.#audioHeader = packet.tag;
    if (packet.kind === 'video-header') this.#videoHeader = packet;
    if (packet.kind === 'metadata') return;

    const current = this.#current;
    if (!current) {
      if (packet.kind === 'video-key' && this.#videoHeader && !this.#starting && Date.now() >= this.#restartNotBefore) {
        void this.#startRun(packet);
      }
      return;
    }
    if (current.dropping) {
      if (packet.kind !== 'video-key') return;
      current.dropping = false;
    }
    if (current.run.backlogBytes > MAX_STDIN_BACKLOG_BYTES) {
      this.options.logger.warn({ backlog: current.run.backlogBytes }, 'ffmpeg is not keeping up: dropping input until the next keyframe');
      current.dropping = true;
      return;
    }
    current.run.write(packet.tag);
  }

  /** The ingest stopped (encoder gone): let FFmpeg finish its last segment. The next keyframe starts a new run. */
  endInput(): Promise<void> {
    this.#pulled = undefined;
    clearTimeout(this.#pullRetry);
    const current = this.#current;
    this.#current = undefined;
    if (!current) return Promise.resolve();
    const ended = current.run.stop();
    this.#ending.push(ended);
    return ended;
  }

  /** Starts a run on a source FFmpeg reads itself; it is restarted the same way if FFmpeg dies. */
  startPulled(source: PulledSource): void {
    if (this.#closed) return;
    this.#pulled = source;
    void this.#startRun(undefined);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await this.endInput();
      await Promise.all(this.#ending);
    })();
    return this.#closing;
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

  async #startRun(firstKeyframe: IngestPacket | undefined): Promise<void> {
    const { config, logger } = this.options;
    const pulled = this.#pulled;
    // The run's timeline is anchored on the arrival of its first frame, not on FFmpeg's start-up.
    const firstFrameAt = Date.now();
    this.#starting = true;
    try {
      if (!this.#ladder) {
        const source = pulled?.info ?? this.#sourceInfo();
        this.#ladder = {
          source,
          hasAudio: pulled ? pulled.hasAudio : this.#audioHeader !== undefined,
          renditions: renditionLadder(source, { heights: parseLadderHeights(config.LADDER), passthrough: config.PASSTHROUGH }),
        };
      }
      const { renditions, source, hasAudio } = this.#ladder;
      const run = this.#runCount++;
      const outDir = path.join(this.options.workDir, `run-${run}`);
      const ffmpeg = await FfmpegRun.start({
        ffmpegPath: config.FFMPEG_PATH,
        args: ladderArgs({
          renditions,
          hasAudio: pulled ? pulled.hasAudio && hasAudio : hasAudio,
          segmentSeconds: config.SEGMENT_SECONDS,
          preset: config.X264_PRESET,
          outDir,
          input: pulled?.inputArgs(),
          sourceFrameRate: source.frameRate,
        }),
        outDir,
        renditions: renditions.map((r) => r.name),
        logger: logger.child({ run }),
      });
      if (this.#closed) {
        await ffmpeg.stop();
        return;
      }
      // A pulled (WHIP) source's first frame reaches FFmpeg only once it runs and a keyframe was asked for.
      const info: RunInfo = {
        run,
        wallClockStart: pulled ? Date.now() : firstFrameAt,
        firstPts: firstKeyframe ? presentationTime(firstKeyframe) : undefined,
        renditions,
        source,
        hasAudio,
      };
      this.#current = { run: ffmpeg, info, dropping: false };
      ffmpeg.on('segment', (segment) => this.emit('segment', { ...segment, run }));
      ffmpeg.on('progress', ({ speed }) => this.emit('progress', { speed }));
      ffmpeg.on('died', (exit) => this.#runDied(ffmpeg, run, exit));
      ffmpeg.on('exited', () => void rm(outDir, { recursive: true, force: true }).catch(() => {}));
      this.emit('runStarted', info);
      if (pulled) {
        // A pulled source (WHIP over RTP) whose FFmpeg writes no segment in this long is stuck on its start (it
        // waits on stream parameters it never got): a fresh run asks the source for a keyframe again.
        const firstSegmentMs = Math.max(FIRST_PULLED_SEGMENT_MS, config.SEGMENT_SECONDS * 4000);
        const watchdog = setTimeout(() => {
          logger.warn({ run, waitedMs: firstSegmentMs }, 'no segment from the pulled source yet; restarting ffmpeg');
          ffmpeg.abort();
        }, firstSegmentMs);
        watchdog.unref();
        ffmpeg.once('segment', () => clearTimeout(watchdog));
        ffmpeg.once('died', () => clearTimeout(watchdog));
        ffmpeg.once('exited', () => clearTimeout(watchdog));
        await pulled.start();
        return;
      }
      ffmpeg.write(flvFileHeader(hasAudio, true));
      if (hasAudio && this.#audioHeader) ffmpeg.write(this.#audioHeader);
      ffmpeg.write(this.#videoHeader!.tag);
      ffmpeg.write(firstKeyframe!.tag);
    } catch (error) {
      logger.error({ err: error }, 'cannot start ffmpeg');
      this.#restartNotBefore = Date.now() + 5000;
    } finally {
      this.#starting = false;
    }
  }

  #runDied(ffmpeg: FfmpegRun, run: number, exit: { code: number | null; signal: NodeJS.Signals | null; stderr: string }): void {
    const { logger, config } = this.options;
    if (this.#current?.run === ffmpeg) this.#current = undefined;
    if (this.#closed) return;
    this.#restarts++;
    logger.error({ run, code: exit.code, signal: exit.signal, stderr: exit.stderr.slice(-300) }, 'ffmpeg died');
    this.emit('died', { run, code: exit.code, signal: exit.signal });
    if (this.#restarts > config.MAX_TRANSCODER_RESTARTS) {
      this.#closed = true;
      this.emit('gaveUp', { restarts: this.#restarts });
      return;
    }
    // Backoff 0.25 s, 0.5 s, 1 s ... capped at 8 s; the new run starts at the next keyframe after it.
    const backoff = Math.min(8000, 250 * 2 ** Math.min(this.#restarts - 1, 5));
    this.#restartNotBefore = Date.now() + backoff;
    const pulled = this.#pulled;
    if (pulled) this.#pullRetry = setTimeout(() => this.#pulled === pulled && void this.#startRun(undefined), backoff);
  }
}

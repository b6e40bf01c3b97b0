// One live show: opened by an accepted publish, it owns the media timeline, the transcoder, the HLS
// packager and the upload queue; it survives encoder drops for the reconnect window, then ends.
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Config } from '../config/schema.ts';
import type { Db } from '../db/database.ts';
import { liveSessions, renditions as renditionsTable, segments as segmentsTable } from '../db/schema.ts';
import type { IngestConnection } from '../ingest/ingest-connection.ts';
import type { IngestPacket } from '../media/ingest-packet.ts';
import type { CueMessage, MediaClockMessage } from '../contract/cue-message.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { UploadQueue } from '../storage/upload-queue.ts';
import { randomBase62 } from '../streams/stream-keys.ts';
import type { StreamRow, StreamStore } from '../streams/stream-store.ts';
import { HlsPackager, type StoredSegment } from '../transcode/hls-packager.ts';
import type { LiveHlsWindows } from '../transcode/live-hls-windows.ts';
import { presentationTime } from '../media/flv-tag.ts';
import { Transcoder, type RunInfo } from '../transcode/transcoder.ts';
import { TypedEmitter } from '../contract/typed-emitter.ts';
import { RtmpBridge } from '../sfu/rtmp-bridge.ts';
import { RtpExport } from '../sfu/rtp-export.ts';
import { SfuRoom, type WebRtcSettings } from '../sfu/sfu-room.ts';
import type { WorkerPool } from '../sfu/worker-pool.ts';
import { MediaTimeline } from '../media/media-timeline.ts';

export interface LiveSessionDeps {
  config: Config;
  db: Db;
  streams: StreamStore;
  store: ObjectStore;
  metrics: Metrics;
  logger: Logger;
  nodeId: string;
  /** Absent on a node that runs no mediasoup workers (role api), which takes no publishes. */
  sfu?: { pool: WorkerPool; settings: WebRtcSettings };
  /** This node's live HLS windows: the show's packager feeds its own (the origin serves LL-HLS from it). */
  hlsWindows?: LiveHlsWindows;
  /** Awaited once the show has ended and flushed, before `closed` (the registry tells its listeners). */
  ended?: (session: LiveSession, reason: string) => Promise<void>;
}

export type LiveSessionEvents = {
  /** The first master playlist is in storage: HLS viewers can start. */
  playable: [];
  /** Each packet from the encoder, after the transcoder and the SFU bridge had it (restreams follow these). */
  packet: [IngestPacket];
  /** The encoder left (it may come back within the reconnect window). */
  inputEnded: [];
  /** The show is ending (its last segments are being stored): what follows it stops now. */
  ending: [{ reason: string }];
  closed: [{ reason: string }];
};

const FINAL_UPLOAD_TIMEOUT_MS = 60_000;
const DB_WRITE_TIMEOUT_MS = 5000;

export class LiveSession extends TypedEmitter<LiveSessionEvents> {
  readonly timeline = new MediaTimeline();
  readonly transcoder: Transcoder;
  /** Sub-second viewing: the show's router, producers and WHEP viewers. */
  readonly room: SfuRoom;
  /** RTMP shows reach the SFU through this bridge; WHIP shows produce into the room directly. */
  readonly rtmpBridge?: RtmpBridge;
  #ingest?: IngestConnection;
  #detachIngest?: () => void;
  #reconnectTimer?: NodeJS.Timeout;
  #reconnects = 0;
  #closing?: Promise<void>;
  #packager: HlsPackager;
  #uploads: UploadQueue;
  #workDir: string;
  #bitrateTimer: NodeJS.Timeout;
  #lastBytes = 0;
  #pendingWrites = new Set<Promise<unknown>>();
  #writesClosed = false;
  #rtpExport?: RtpExport;
  #cues: CueMessage[] = [];
  #newestVideoPts?: number;
  #currentRun?: RunInfo;
  /** Whether the current run's timeline anchor is fixed (its first segment has its date). */
  #anchorSettled = false;
  readonly logger: Logger;

  private constructor(
    readonly id: string,
    readonly stream: StreamRow,
    readonly protocol: IngestConnection['protocol'],
    private readonly deps: LiveSessionDeps,
    ingest: IngestConnection,
    room: SfuRoom,
  ) {
    const logger = deps.logger.child({ streamId: stream.id, sessionId: id });
    super((error, event) => logger.error({ err: error, event }, 'live session listener threw'));
    this.logger = logger;
    this.room = room;
    const { config, metrics } = deps;
    if (protocol === 'rtmp')
      this.rtmpBridge = new RtmpBridge(
        room,
        config,
        logger,
        () => this.#ingest?.sourceHint.frameRate,
        (rtpTimestamp, pts) => this.#sendMediaClock(rtpTimestamp, pts),
      );
    this.#workDir = path.join(config.LIVECUE_DATA_DIR, 'work', id);
    mkdirSync(this.#workDir, { recursive: true });
    this.#uploads = new UploadQueue({
      store: deps.store,
      maxSpoolBytes: config.UPLOAD_SPOOL_MAX_MB * 1024 * 1024,
      logger,
      onRetry: () => metrics.uploadFailures.inc(),
      onFailure: () => metrics.uploadFailures.inc(),
    });
    this.transcoder = new Transcoder({ config, workDir: this.#workDir, logger, sourceHint: ingest.sourceHint });
    const sessionTag = id.slice(-8);
    this.#packager = new HlsPackager({
      prefix: `hls/${stream.playbackId}`,
      sessionTag,
      segmentSeconds: config.SEGMENT_SECONDS,
      partSeconds: config.PART_SECONDS,
      windowSegments: config.LIVE_WINDOW_SEGMENTS,
      uploads: this.#uploads,
      timeline: this.timeline,
      logger,
      metrics,
      onSegmentStored: (segment) => this.#persist('segment', () => this.#recordSegment(segment)),
      onPlayable: () => this.emit('playable'),
      cues: () => this.#cues,
      publish: (event) => deps.hlsWindows?.publish({ playbackId: stream.playbackId, sessionTag, event }),
    });
    this.transcoder.on('runStarted', (info) => {
      this.#currentRun = info;
      this.#anchorSettled = false;
      this.#packager.runStarted(info);
      if (info.run === 0) this.#persist('renditions', () => this.#recordRenditions(info));
    });
    this.transcoder.on('init', (init) => this.#packager.initReady(init));
    this.transcoder.on('fragment', (fragment) => {
      // The run's first part takes its EXT-X-PROGRAM-DATE-TIME now: from here on its anchor is fixed.
      if (fragment.run === this.#currentRun?.run) this.#anchorSettled = true;
      this.#packager.fragmentReady(fragment);
    });
    this.transcoder.on('runEnded', (ended) => this.#packager.runEnded(ended));
    this.transcoder.on('progress', ({ speed }) => metrics.transcoderSpeed.set({ stream_id: stream.id }, speed));
    this.transcoder.on('died', () => metrics.transcoderRestarts.inc());
    this.transcoder.on('gaveUp', () => void this.end('transcoder_failed'));
    this.#bitrateTimer = setInterval(() => this.#sampleBitrate(), 2000);
    this.#bitrateTimer.unref();
    metrics.activeSessions.inc();
    this.#attach(ingest);
  }

  /**
   * Opens a session for an authenticated publish. The database's one-open-session-per-stream index
   * makes this the point where a second encoder (on any node) is refused: undefined means "already live".
   */
  static async open(stream: StreamRow, ingest: IngestConnection, deps: LiveSessionDeps): Promise<LiveSession | undefined> {
    const sfu = deps.sfu;
    if (!sfu) throw new Error('this node runs no SFU and cannot host a show');
    const id = `ses_${randomBase62(16)}`;
    const inserted = await deps.db
      .insert(liveSessions)
      .values({ id, streamId: stream.id, nodeId: deps.nodeId, ingestProtocol: ingest.protocol })
      .onConflictDoNothing()
      .returning({ id: liveSessions.id });
    if (inserted.length === 0) return undefined;
    try {
      const room = await SfuRoom.create(sfu.pool, sfu.settings, deps.logger.child({ streamId: stream.id, sessionId: id }));
      await deps.streams.setStatus(stream.id, 'live');
      return new LiveSession(id, stream, ingest.protocol, deps, ingest, room);
    } catch (error) {
      await deps.db.delete(liveSessions).where(eq(liveSessions.id, id));
      throw error;
    }
  }

  get connected(): boolean {
    return this.#ingest !== undefined;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  /** Bytes waiting for object storage. */
  get spoolBytes(): number {
    return this.#uploads.pendingBytes;
  }

  get playable(): boolean {
    return this.#packager.masterWritten;
  }

  /** Where the show is now: the media time of the frame arriving now and its wall clock. */
  now(at = Date.now()): { mediaTime: number; wallClock: number } {
    const last = this.timeline.spans.at(-1);
    if (!last) return { mediaTime: 0, wallClock: at };
    if (this.connected) {
      // "Now" is the newest frame that has arrived, placed by its own timestamp: exactly where that
      // frame sits on the segments' timeline, whatever the network jitter.
      const newest = this.#newestVideoPts === undefined ? undefined : this.frameAt(this.#newestVideoPts);
      if (newest) return newest;
      return { mediaTime: last.mediaStart + Math.max(0, at - last.wallClockStart) / 1000, wallClock: at };
    }
    const mediaTime = this.timeline.duration;
    return { mediaTime, wallClock: this.timeline.wallClockAt(mediaTime) ?? at };
  }

  get cues(): readonly CueMessage[] {
    return this.#cues;
  }

  /** A cue was placed on this show: into the HLS playlists and down the WebRTC data channel. */
  addCue(cue: CueMessage): void {
    this.#cues.push(cue);
    this.#packager.cuesChanged();
    this.room.sendCue(JSON.stringify(cue));
  }

  /**
   * Tells WebRTC viewers where a keyframe's RTP timestamp sits on the show's timeline (the frame's
   * EXT-X-PROGRAM-DATE-TIME instant and media time), so a player places every frame by its own RTP
   * timestamp, exactly as HLS places it by its fragment's date. Sent with each keyframe: a viewer who
   * joins has it with its first picture.
   */
  #sendMediaClock(rtpTimestamp: number, pts: number): void {
    const placed = this.frameAt(pts);
    if (!placed) return;
    const clock: MediaClockMessage = {
      type: 'clock',
      rtpTimestamp,
      clockRate: 90_000,
      mediaTime: placed.mediaTime,
      wallClock: new Date(placed.wallClock).toISOString(),
    };
    this.room.sendCue(JSON.stringify(clock));
  }

  /**
   * A run's timeline is anchored on the arrival of its first keyframe, which often comes later than the frames
   * after it (an encoder's first frame takes longest). Until the run's first segment is out, a frame that
   * arrives earlier than the anchor predicts moves the anchor back to it, so a frame's place on the timeline
   * is when frames like it reach livecue, not that first frame's delay carried through the whole run.
   */
  #settleAnchor(pts: number, arrivedAt: number): void {
    const run = this.#currentRun;
    const span = this.timeline.spans.at(-1);
    if (this.#anchorSettled || !run || run.firstPts === undefined || !span || pts < run.firstPts) return;
    const anchor = arrivedAt - (pts - run.firstPts);
    if (anchor >= span.wallClockStart) return;
    this.timeline.moveStart(span, anchor);
    // The packager renders the run's EXT-X-PROGRAM-DATE-TIME from the run's start: the same instant.
    run.wallClockStart = span.wallClockStart;
  }

  /** Where the frame with this presentation time (ms, the encoder's clock, current run) sits on the show's timeline. */
  frameAt(pts: number): { mediaTime: number; wallClock: number } | undefined {
    const firstPts = this.#currentRun?.firstPts;
    const last = this.timeline.spans.at(-1);
    if (firstPts === undefined || !last || pts < firstPts) return undefined;
    const offsetMs = pts - firstPts;
    return { mediaTime: last.mediaStart + offsetMs / 1000, wallClock: last.wallClockStart + offsetMs };
  }

  /** A WHIP publisher's producers are in the room: bridge them to the HLS ladder. */
  whipConnected(ingest: IngestConnection): void {
    void (async () => {
      try {
        const rtp = await RtpExport.open(this.room, this.#workDir, this.logger);
        if (this.#ingest !== ingest) return rtp.close();
        this.#rtpExport = rtp;
        const size = await rtp.probe(this.deps.config.FFPROBE_PATH);
        if (this.#ingest !== ingest) return rtp.close();
        this.transcoder.startPulled({
          inputArgs: () => rtp.inputArgs(),
          start: () => rtp.start(),
          hasAudio: rtp.hasAudio,
          info: { width: size?.width ?? 1280, height: size?.height ?? 720, frameRate: 30, videoCodec: rtp.videoCodec },
        });
      } catch (error) {
        this.logger.error({ err: error }, 'cannot bridge the WHIP show to HLS');
      }
    })();
  }

  /** An encoder came back within the reconnect window: the same session continues. */
  resume(ingest: IngestConnection): boolean {
    if (this.#ingest || this.#closing) return false;
    clearTimeout(this.#reconnectTimer);
    this.#reconnects++;
    const reconnects = this.#reconnects;
    this.#persist('reconnects', () => this.deps.db.update(liveSessions).set({ reconnects }).where(eq(liveSessions.id, this.id)));
    this.logger.info({ reconnects: this.#reconnects }, 'encoder reconnected');
    this.#attach(ingest);
    return true;
  }

  /** Ends the show now: drops the encoder, flushes the last segments, marks the stream ended. */
  end(reason: string): Promise<void> {
    this.#closing ??= this.#close(reason);
    return this.#closing;
  }

  #attach(ingest: IngestConnection): void {
    this.#ingest = ingest;
    this.#lastBytes = ingest.bytesReceived;
    const onPacket = (packet: IngestPacket) => {
      if (packet.kind === 'video' || packet.kind === 'video-key') {
        this.#newestVideoPts = presentationTime(packet);
        this.#settleAnchor(this.#newestVideoPts, Date.now());
      }
      this.transcoder.write(packet);
      this.rtmpBridge?.write(packet);
      this.emit('packet', packet);
    };
    const onClosed = () => this.#ingestLost();
    ingest.on('packet', onPacket);
    ingest.once('closed', onClosed);
    this.#detachIngest = () => {
      ingest.off('packet', onPacket);
      ingest.off('closed', onClosed);
    };
  }

  #ingestLost(): void {
    // A reconnecting encoder starts its timestamps afresh: the next run re-anchors them.
    this.#newestVideoPts = undefined;
    this.#currentRun = undefined;
    this.#detachIngest?.();
    this.#ingest = undefined;
    this.deps.metrics.ingestBitrate.remove({ stream_id: this.stream.id, protocol: this.protocol });
    void this.transcoder.endInput();
    void this.rtmpBridge?.endInput();
    this.emit('inputEnded');
    this.#rtpExport?.close();
    this.#rtpExport = undefined;
    const windowMs = this.deps.config.RECONNECT_WINDOW_SECONDS * 1000;
    this.logger.info({ windowSeconds: this.deps.config.RECONNECT_WINDOW_SECONDS }, 'encoder disconnected; waiting for it to reconnect');
    this.#reconnectTimer = setTimeout(() => void this.end('encoder_left'), windowMs);
  }

  #sampleBitrate(): void {
    const ingest = this.#ingest;
    if (!ingest) return;
    const bytes = ingest.bytesReceived;
    this.deps.metrics.ingestBitrate.set({ stream_id: this.stream.id, protocol: this.protocol }, ((bytes - this.#lastBytes) * 8) / 2);
    this.#lastBytes = bytes;
  }

  async #close(reason: string): Promise<void> {
    const { db, metrics, streams } = this.deps;
    this.emit('ending', { reason });
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#bitrateTimer);
    const ingest = this.#ingest;
    this.#detachIngest?.();
    this.#ingest = undefined;
    ingest?.disconnect('session ended');
    if (ingest) this.emit('inputEnded');
    await Promise.all([this.transcoder.close(), this.rtmpBridge?.close()]);
    this.#rtpExport?.close();
    this.room.close();
    const complete = await this.#packager.finish(FINAL_UPLOAD_TIMEOUT_MS);
    if (!complete) this.logger.error('object storage did not take the last segments in time');
    this.#uploads.close();
    const endedAt = new Date();
    this.#persist('session end', async () => {
      await db.update(liveSessions).set({ endedAt, endReason: reason }).where(eq(liveSessions.id, this.id));
      await streams.setStatus(this.stream.id, 'ended');
    });
    this.#writesClosed = true;
    const flushed = await Promise.race([
      Promise.allSettled(this.#pendingWrites).then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), FINAL_UPLOAD_TIMEOUT_MS)),
    ]);
    if (!flushed) this.logger.error("the database did not take the session's last rows in time");
    metrics.activeSessions.dec();
    metrics.ingestBitrate.remove({ stream_id: this.stream.id, protocol: this.protocol });
    metrics.transcoderSpeed.remove({ stream_id: this.stream.id });
    await rm(this.#workDir, { recursive: true, force: true }).catch(() => {});
    this.logger.info({ reason, reconnects: this.#reconnects, mediaSeconds: this.timeline.duration }, 'live session ended');
    await this.deps.ended?.(this, reason).catch((error: Error) => this.logger.error({ err: error }, "a listener of the show's end failed"));
    this.emit('closed', { reason });
  }

  /**
   * A database write that must not be lost (the replay is built from these rows): retried with
   * backoff while the database is unreachable, until it lands or, after the show, a final deadline.
   * Writes are idempotent (conflicts ignored, absolute values), so a retry after a lost reply is safe.
   */
  #persist(what: string, write: () => PromiseLike<unknown>): void {
    const deadline = () => (this.#writesClosed ? Date.now() + FINAL_UPLOAD_TIMEOUT_MS : Number.POSITIVE_INFINITY);
    let giveUpAt = Number.POSITIVE_INFINITY;
    const attempt = async (): Promise<void> => {
      for (let tries = 0; ; tries++) {
        try {
          // A query caught on a connection that died mid-flight may never settle: give up on it and retry.
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            Promise.resolve(write()).finally(() => clearTimeout(timer)),
            new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('database write timed out')), DB_WRITE_TIMEOUT_MS))),
          ]);
          if (tries > 0) this.logger.info({ what, tries: tries + 1 }, 'database write landed after retries');
          return;
        } catch (error) {
          if (tries === 0) this.logger.warn({ err: error, what }, 'database write failed; retrying');
          this.deps.metrics.databaseWriteRetries.inc();
          giveUpAt = Math.min(giveUpAt, deadline());
          if (Date.now() > giveUpAt) {
            this.logger.error({ err: error, what }, 'database write lost');
            this.deps.metrics.databaseWritesLost.inc();
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** Math.min(tries, 5))));
        }
      }
    };
    const promise = attempt();
    this.#pendingWrites.add(promise);
    void promise.finally(() => this.#pendingWrites.delete(promise));
  }

  async #recordRenditions(info: RunInfo): Promise<void> {
    const { source } = info;
    await this.deps.db
      .update(liveSessions)
      .set({ sourceWidth: source.width, sourceHeight: source.height, sourceVideoCodec: source.videoCodec })
      .where(eq(liveSessions.id, this.id));
    await this.deps.db
      .insert(renditionsTable)
      .values(
        info.renditions.map((rendition) => ({
          id: `ren_${randomBase62(16)}`,
          sessionId: this.id,
          name: rendition.name,
          width: rendition.width,
          height: rendition.height,
          videoBitrate: rendition.videoBitrate,
          audioBitrate: info.hasAudio ? rendition.audioBitrate : 0,
          frameRate: rendition.frameRate,
          passthrough: rendition.passthrough ? 1 : 0,
        })),
      )
      .onConflictDoNothing();
  }

  async #recordSegment(segment: StoredSegment): Promise<void> {
    await this.deps.db
      .insert(segmentsTable)
      .values({
        sessionId: this.id,
        rendition: segment.rendition,
        sequence: segment.sequence,
        run: segment.run,
        discontinuity: segment.discontinuity ? 1 : 0,
        mediaStartMs: Math.round(segment.mediaStart * 1000),
        durationMs: Math.round(segment.duration * 1000),
        programDateTime: segment.programDateTime,
        objectKey: segment.objectKey,
        bytes: segment.bytes,
        initKey: segment.initKey ?? null,
      })
      .onConflictDoNothing();
  }
}

// RTMP -> SFU: an FFmpeg fed with the show's FLV tags sends RTP into two PlainTransports of the room.
// H.264 without B-frames in Baseline, Main or High is passed through, declared with the profile-level-id
// of its own SPS; anything else (B-frames, other profiles, other codecs) is encoded once for WebRTC, with a
// keyframe on every source keyframe. AAC becomes Opus. FFmpeg sends from fixed local ports, so a restarted
// FFmpeg lands on the same producers and viewers keep their consumers. Either way each source keyframe is
// paired with the RTP timestamp it leaves with, so viewers can place RTP frames on the show's timeline.
import type { types } from 'mediasoup';
import type { Config } from '../config/schema.ts';
import { FfmpegProcess } from '../ffmpeg/ffmpeg-process.ts';
import { FfmpegSupervisor, type RestartPolicy } from '../ffmpeg/ffmpeg-supervisor.ts';
import type { Logger } from '../log.ts';
import { avcConfiguration, compositionTimeOffset, FLV_CODEC_H264, flvStreamStart, presentationTime } from '../media/flv-tag.ts';
import type { IngestPacket } from '../media/ingest-packet.ts';
import type { SfuRoom } from './sfu-room.ts';
import { declarableProfileLevelId, spsProfileLevelId } from './h264-profile.ts';
import { freeRtpPortPair } from './udp-ports.ts';

const VIDEO_PT = 102;
const AUDIO_PT = 100;
const VIDEO_SSRC = 0x4c430001;
const AUDIO_SSRC = 0x4c430002;
/** Keyframe interval of the WebRTC encode: a new viewer waits at most this long for a picture. */
const WEBRTC_GOP_SECONDS = 1;

/**
 * A keyframe seen as RTP longer than this after it was written to FFmpeg is not paired with it (FFmpeg fell
 * behind). A pass-through keyframe leaves at once; an encoded one after its decoder's reordering delay (a few
 * frames with B-frames) and x264's zerolatency encode.
 */
const KEYFRAME_PASS_MS = 500;
/** FFmpeg input queued beyond this is dropped: a live WebRTC picture is worth more than a late one. */
const MAX_BACKLOG_BYTES = 8 * 1024 * 1024;
/** The encoder left: FFmpeg gets this long to end before SIGTERM (and as long again before SIGKILL). */
const STOP_TIMEOUT_MS = 1000;
/** Backoff 0.5 s, 1 s, 2 s ... capped at 8 s; a start that fails waits 5 s; the restart comes at the next keyframe after it. */
const BRIDGE_RESTARTS: RestartPolicy = { backoffMs: (failures) => Math.min(8000, 250 * 2 ** Math.min(failures, 5)), startErrorDelayMs: 5000 };

/**
 * The source's profile-level-id (RFC 6184) from the SPS of an FLV AVC sequence header tag
 * (AVCDecoderConfigurationRecord), falling back to the record's own copy of those three bytes.
 */
export function profileLevelId(videoHeaderTag: Buffer): { profileIdc: number; id: string } | undefined {
  const configuration = avcConfiguration(videoHeaderTag);
  if (!configuration) return undefined;
  const id = (configuration.sps && spsProfileLevelId(configuration.sps)) ?? configuration.recordProfileLevelId;
  return { profileIdc: parseInt(id.slice(0, 2), 16), id };
}

interface BridgeMedia {
  videoTransport: types.PlainTransport;
  audioTransport: types.PlainTransport;
  videoSourcePort: number;
  audioSourcePort: number;
  passthrough: boolean;
  hasAudio: boolean;
}

/** A keyframe seen twice: in the FLV the bridge was given (its presentation time, ms) and as RTP leaving it (90 kHz). */
export type KeyframeRtp = (rtpTimestamp: number, pts: number) => void;

export class RtmpBridge {
  readonly #ffmpeg: FfmpegSupervisor;
  /** The keyframe last written to the running FFmpeg and not yet seen as RTP: its presentation time and when. */
  #keyframeInFlight?: { pts: number; writtenAt: number };
  #lastKeyframeRtp?: number;
  #audioHeader?: Buffer;
  #videoHeader?: IngestPacket;
  #media?: BridgeMedia;
  #closing?: Promise<void>;

  constructor(
    private readonly room: SfuRoom,
    private readonly config: Config,
    private readonly logger: Logger,
    /** The encoder's announced frame rate (FLV metadata), for the keyframe interval of a WebRTC encode. */
    private readonly sourceFrameRate: () => number | undefined = () => undefined,
    /** Each source keyframe's RTP timestamp with its FLV time, so viewers can place RTP frames on the show's timeline. */
    private readonly onKeyframeRtp?: KeyframeRtp,
  ) {
    this.#ffmpeg = new FfmpegSupervisor(BRIDGE_RESTARTS, logger);
    this.#ffmpeg.on('died', ({ code, signal }) => this.logger.error({ code, signal }, 'rtmp -> sfu bridge ffmpeg died; restarting at the next keyframe'));
    room.on('originLost', () => {
      // The producers died with their worker: build them again on the new origin at the next keyframe.
      this.#media = undefined;
      void this.#ffmpeg.stop();
    });
  }

  get pid(): number | undefined {
    return this.#ffmpeg.current?.pid;
  }

  get passthrough(): boolean | undefined {
    return this.#media?.passthrough;
  }

  write(packet: IngestPacket): void {
    if (this.#ffmpeg.closed) return;
    if (packet.kind === 'audio-header') this.#audioHeader = packet.tag;
    if (packet.kind === 'video-header') this.#videoHeader = packet;
    if (packet.kind === 'metadata') return;
    const ffmpeg = this.#ffmpeg.current;
    if (!ffmpeg) {
      if (packet.kind === 'video-key' && this.#videoHeader && this.#ffmpeg.canStart) void this.#start(packet);
      return;
    }
    if (ffmpeg.backlogBytes > MAX_BACKLOG_BYTES) return;
    if (packet.kind === 'video-key') this.#keyframeWritten(packet);
    this.#ffmpeg.write(packet.tag);
  }

  #keyframeWritten(packet: IngestPacket): void {
    // A WebRTC encode forces a keyframe on each source keyframe (-force_key_frames source): the same picture
    // with the same presentation time, so it pairs as a passed-through one does.
    if (!this.onKeyframeRtp || !this.#media) return;
    this.#keyframeInFlight = { pts: presentationTime(packet), writtenAt: Date.now() };
  }

  /**
   * The producer saw a keyframe's packets (one timestamp, several packets): it is the keyframe written last, a few
   * ms ago (FFmpeg passes a keyframe through at once or encodes it within a few frames, and source keyframes are a
   * second or more apart). A WebRTC encode's own GOP keyframes come out with nothing in flight and are not paired.
   * FFmpeg swallows the first keyframes while it probes its input, so counting keyframes in and out would pair
   * the wrong ones.
   */
  #keyframeRtpSeen(rtpTimestamp: number): void {
    if (rtpTimestamp === this.#lastKeyframeRtp) return;
    this.#lastKeyframeRtp = rtpTimestamp;
    const written = this.#keyframeInFlight;
    this.#keyframeInFlight = undefined;
    if (written && Date.now() - written.writtenAt < KEYFRAME_PASS_MS) this.onKeyframeRtp?.(rtpTimestamp, written.pts);
  }

  /** The encoder left: stop FFmpeg; the producers stay so viewers resume when it comes back. */
  endInput(): Promise<void> {
    return this.#ffmpeg.stop();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#ffmpeg.close();
      this.#media?.videoTransport.close();
      this.#media?.audioTransport.close();
    })();
    return this.#closing;
  }

  async #prepareMedia(keyframe: IngestPacket): Promise<BridgeMedia> {
    const router = this.room.router;
    const profile = profileLevelId(this.#videoHeader!.tag);
    const hasBFrames = compositionTimeOffset(keyframe.tag) !== 0;
    // Baseline, Main and High (8-bit 4:2:0) without B-frames pass through under their own profile;
    // WebRTC has no B-frames (no reordering), and other profiles have no WebRTC decoders.
    const declared = this.#videoHeader!.codecId === FLV_CODEC_H264 && profile ? declarableProfileLevelId(profile.id) : undefined;
    const passthrough = declared !== undefined && !hasBFrames;
    // FFmpeg sends RTP and RTCP from fixed ports (no comedia: its RTCP would otherwise claim the tuple).
    const listenInfo = { protocol: 'udp' as const, ip: '127.0.0.1' };
    const videoSourcePort = await freeRtpPortPair();
    const audioSourcePort = await freeRtpPortPair();
    const videoTransport = await router.createPlainTransport({ listenInfo, rtcpMux: false, comedia: false });
    const audioTransport = await router.createPlainTransport({ listenInfo, rtcpMux: false, comedia: false });
    await videoTransport.connect({ ip: '127.0.0.1', port: videoSourcePort, rtcpPort: videoSourcePort + 1 });
    await audioTransport.connect({ ip: '127.0.0.1', port: audioSourcePort, rtcpPort: audioSourcePort + 1 });
    const videoProducer = await videoTransport.produce({
      kind: 'video',
      rtpParameters: {
        codecs: [
          {
            mimeType: 'video/H264',
            payloadType: VIDEO_PT,
            clockRate: 90000,
            parameters: { 'packetization-mode': 1, 'profile-level-id': passthrough ? declared : '42e029', 'level-asymmetry-allowed': 1 },
            rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
          },
        ],
        encodings: [{ ssrc: VIDEO_SSRC }],
      },
    });
    this.room.setProducer('video', videoProducer);
    if (this.onKeyframeRtp) {
      // Keyframes only: about one trace event a second, each carrying the RTP timestamp FFmpeg gave it.
      await videoProducer.enableTraceEvent(['keyframe']);
      videoProducer.on('trace', (trace) => {
        const timestamp = (trace.info as { rtpPacket?: { timestamp?: number } } | undefined)?.rtpPacket?.timestamp;
        if (trace.type === 'keyframe' && trace.direction === 'in' && typeof timestamp === 'number') this.#keyframeRtpSeen(timestamp);
      });
    }
    const hasAudio = this.#audioHeader !== undefined;
    if (hasAudio) {
      const audioProducer = await audioTransport.produce({
        kind: 'audio',
        rtpParameters: {
          codecs: [{ mimeType: 'audio/opus', payloadType: AUDIO_PT, clockRate: 48000, channels: 2, parameters: { 'sprop-stereo': 1 } }],
          encodings: [{ ssrc: AUDIO_SSRC }],
        },
      });
      this.room.setProducer('audio', audioProducer);
    }
    this.logger.info({ passthrough, profile: profile?.id, declared: passthrough ? declared : '42e029', hasBFrames }, 'rtmp -> sfu bridge ready');
    return { videoTransport, audioTransport, videoSourcePort, audioSourcePort, passthrough, hasAudio };
  }

  async #start(keyframe: IngestPacket): Promise<void> {
    const launch = async () => {
      this.#media ??= await this.#prepareMedia(keyframe);
      const args = bridgeArgs(this.#media, this.sourceFrameRate());
      return FfmpegProcess.start({
        ffmpegPath: this.config.FFMPEG_PATH,
        args,
        logger: this.logger.child({ bridge: 'rtmp-sfu' }),
        stopTimeoutMs: STOP_TIMEOUT_MS,
      });
    };
    try {
      // The media is known only once prepared: the stream's first input is built when the launch returns.
      const process = await this.#ffmpeg.start(launch);
      // A new FFmpeg has a new RTP timestamp base: keyframes written to the previous one will never come out.
      this.#keyframeInFlight = undefined;
      if (process) this.#keyframeWritten(keyframe);
      if (process)
        for (const data of flvStreamStart({ audio: this.#audioHeader, video: this.#videoHeader!.tag }, keyframe.tag, this.#media!.hasAudio))
          process.write(data);
    } catch (error) {
      this.logger.error({ err: error }, 'cannot start the rtmp -> sfu bridge');
    }
  }
}

/** FFmpeg's command line: FLV on stdin, video (passed through or encoded once for WebRTC) and Opus out as RTP. */
function bridgeArgs(media: BridgeMedia, announcedFrameRate: number | undefined): string[] {
  const rtpUrl = (transport: types.PlainTransport, sourcePort: number) =>
    `rtp://127.0.0.1:${transport.tuple.localPort}?localrtpport=${sourcePort}&localrtcpport=${sourcePort + 1}` +
    `&rtcpport=${transport.rtcpTuple!.localPort}&pkt_size=1200`;
  const args = ['-hide_banner', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1', '-fflags', 'nobuffer', '-f', 'flv', '-i', 'pipe:0', '-map', '0:v:0'];
  if (media.passthrough) {
    args.push('-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb');
  } else {
    const fps = announcedFrameRate && announcedFrameRate > 0 && announcedFrameRate <= 120 ? Math.round(announcedFrameRate) : 30;
    args.push(
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-profile:v',
      'baseline',
      '-level:v',
      '4.1',
      '-pix_fmt',
      'yuv420p',
      '-bf',
      '0',
      '-g',
      String(fps * WEBRTC_GOP_SECONDS),
      // The source's keyframes stay keyframes: each is paired with its RTP timestamp for the viewers' clock.
      '-force_key_frames',
      'source',
      '-b:v',
      '2500k',
      '-maxrate',
      '3000k',
      '-bufsize',
      '1500k',
    );
  }
  args.push('-an', '-f', 'rtp', '-payload_type', String(VIDEO_PT), '-ssrc', String(VIDEO_SSRC), rtpUrl(media.videoTransport, media.videoSourcePort));
  if (media.hasAudio) {
    args.push(
      '-map',
      '0:a:0',
      '-vn',
      '-c:a',
      'libopus',
      '-b:a',
      '96k',
      '-ar',
      '48000',
      '-ac',
      '2',
      '-application',
      'lowdelay',
      '-f',
      'rtp',
      '-payload_type',
      String(AUDIO_PT),
      '-ssrc',
      String(AUDIO_SSRC),
      rtpUrl(media.audioTransport, media.audioSourcePort),
    );
  }
  return args;
}

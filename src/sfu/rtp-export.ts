// SFU -> HLS: consumes the show's producers over PlainTransports to local UDP ports and describes
// them in an SDP file FFmpeg reads, so WHIP shows get the same ladder as RTMP shows. Keyframes are
// requested when FFmpeg starts so segments begin on a picture.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { types } from 'mediasoup';
import type { Logger } from '../log.ts';
import { execFileOwned } from '../owned-process.ts';
import type { SourceInfo } from '../media/source-info.ts';
import type { SfuRoom } from './sfu-room.ts';
import { freeRtpPortPair } from './udp-ports.ts';

const run = execFileOwned;

function sdpSection(consumer: types.Consumer, port: number): string[] {
  const codec = consumer.rtpParameters.codecs[0]!;
  const [, name] = codec.mimeType.split('/');
  const lines = [
    `m=${consumer.kind} ${port} RTP/AVP ${codec.payloadType}`,
    `a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${codec.channels ? `/${codec.channels}` : ''}`,
  ];
  const fmtp = Object.entries(codec.parameters ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(';');
  if (fmtp) lines.push(`a=fmtp:${codec.payloadType} ${fmtp}`);
  lines.push('a=recvonly');
  return lines;
}

export class RtpExport {
  #closed = false;
  #keyframeTimer?: NodeJS.Timeout;

  private constructor(
    readonly sdpPath: string,
    private readonly transports: types.PlainTransport[],
    private readonly consumers: types.Consumer[],
    private readonly logger: Logger,
  ) {}

  static async open(room: SfuRoom, workDir: string, logger: Logger): Promise<RtpExport> {
    const transports: types.PlainTransport[] = [];
    const consumers: types.Consumer[] = [];
    const sdp = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=livecue', 'c=IN IP4 127.0.0.1', 't=0 0'];
    try {
      for (const kind of ['video', 'audio'] as const) {
        const producer = room.producer(kind);
        if (!producer) continue;
        const transport = await room.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
        transports.push(transport);
        const port = await freeRtpPortPair();
        await transport.connect({ ip: '127.0.0.1', port, rtcpPort: port + 1 });
        const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: room.router.rtpCapabilities, paused: true });
        consumers.push(consumer);
        sdp.push(...sdpSection(consumer, port));
      }
      if (consumers.length === 0) throw new Error('the show has no producers to bridge');
      await mkdir(workDir, { recursive: true });
      const sdpPath = path.join(workDir, `rtp-${Date.now()}.sdp`);
      await writeFile(sdpPath, `${sdp.join('\n')}\n`);
      return new RtpExport(sdpPath, transports, consumers, logger);
    } catch (error) {
      for (const transport of transports) transport.close();
      throw error;
    }
  }

  get hasAudio(): boolean {
    return this.consumers.some((consumer) => consumer.kind === 'audio');
  }

  get videoCodec(): SourceInfo['videoCodec'] {
    const video = this.consumers.find((consumer) => consumer.kind === 'video');
    return video?.rtpParameters.codecs[0]?.mimeType.toLowerCase() === 'video/h264' ? 'h264' : 'other';
  }

  /** FFmpeg input options for this export. */
  inputArgs(): string[] {
    return ['-protocol_whitelist', 'file,udp,rtp', '-fflags', '+genpts', '-analyzeduration', '1000000', '-i', this.sdpPath];
  }

  /**
   * Starts the media flowing. Keyframes are asked for every second at first (FFmpeg may still be
   * opening its input, and a WebRTC sender only sends one when asked), then every few seconds, so a
   * decoder that missed one recovers soon.
   */
  async start(): Promise<void> {
    for (const consumer of this.consumers) await consumer.resume();
    this.requestKeyFrame();
    let ticks = 0;
    clearInterval(this.#keyframeTimer);
    this.#keyframeTimer = setInterval(() => {
      ticks++;
      if (ticks <= 10 || ticks % 4 === 0) this.requestKeyFrame();
    }, 1000);
  }

  requestKeyFrame(): void {
    for (const consumer of this.consumers) if (consumer.kind === 'video') void consumer.requestKeyFrame().catch(() => {});
  }

  /** Reads the source's size from the stream itself (a browser does not announce it). */
  async probe(ffprobePath: string): Promise<Pick<SourceInfo, 'width' | 'height'> | undefined> {
    await this.start();
    try {
      const { stdout } = await run(
        ffprobePath,
        ['-v', 'error', ...this.inputArgs().slice(0, -2), '-i', this.sdpPath, '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'json'],
        { timeout: 8000 },
      );
      const stream = (JSON.parse(stdout) as { streams?: { width?: number; height?: number }[] }).streams?.[0];
      return stream?.width && stream.height ? { width: stream.width, height: stream.height } : undefined;
    } catch (error) {
      this.logger.warn({ err: error }, 'could not probe the WHIP source size');
      return undefined;
    } finally {
      for (const consumer of this.consumers) await consumer.pause().catch(() => {});
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#keyframeTimer);
    for (const transport of this.transports) transport.close();
  }
}

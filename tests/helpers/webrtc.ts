// WebRTC peers for tests: a werift WHEP viewer that keeps the H.264 it receives (to decode it with
// FFmpeg), and WHIP/WHEP HTTP exchanges.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, useH264, useOPUS, useVP8, type RtpPacket } from 'werift';
import { QUIET_FFMPEG, testPatternInputs, x264Args } from './encoder-args.ts';

export interface WhepResult {
  status: number;
  location?: string;
  answer: string;
}

export async function postSdp(url: string, offer: string, headers: Record<string, string> = {}): Promise<WhepResult> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body: offer });
  return { status: response.status, location: response.headers.get('location') ?? undefined, answer: await response.text() };
}

/** Turns received H.264 RTP payloads (single NAL, STAP-A, FU-A) into an Annex B byte stream. */
export class H264Depacketizer {
  readonly chunks: Buffer[] = [];
  #fragment: Buffer[] = [];
  keyframes = 0;

  push(payload: Buffer): void {
    const type = payload[0]! & 0x1f;
    if (type >= 1 && type <= 23) return this.#nal(payload);
    if (type === 24) {
      for (let offset = 1; offset + 2 <= payload.length;) {
        const size = payload.readUInt16BE(offset);
        this.#nal(payload.subarray(offset + 2, offset + 2 + size));
        offset += 2 + size;
      }
      return;
    }
    if (type === 28) {
      const header = payload[1]!;
      if (header & 0x80) this.#fragment = [Buffer.from([(payload[0]! & 0xe0) | (header & 0x1f)])];
      if (this.#fragment.length > 0) this.#fragment.push(payload.subarray(2));
      if (header & 0x40 && this.#fragment.length > 0) {
        this.#nal(Buffer.concat(this.#fragment));
        this.#fragment = [];
      }
    }
  }

  #nal(nal: Buffer): void {
    if ((nal[0]! & 0x1f) === 5) this.keyframes++;
    this.chunks.push(Buffer.from([0, 0, 0, 1]), nal);
  }

  async save(file: string): Promise<void> {
    await writeFile(file, Buffer.concat(this.chunks));
  }
}

/** A video codec a test peer offers: its MIME type and fmtp. */
export interface VideoCodecSpec {
  mimeType: 'video/H264' | 'video/VP8';
  fmtp?: string;
}

/** What Debian's Chromium offers to receive video, less VP9/AV1: VP8 and H.264 42001f, 42e01f, 4d001f and f4001f in packetization-mode 1 and 0 (no 64xxxx). */
export const CHROMIUM_H264: VideoCodecSpec[] = [
  { mimeType: 'video/VP8' },
  ...['42001f', '42e01f', '4d001f', 'f4001f'].flatMap((profile): VideoCodecSpec[] => [
    { mimeType: 'video/H264', fmtp: `level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${profile}` },
    { mimeType: 'video/H264', fmtp: `level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=${profile}` },
  ]),
];

const weriftVideoCodec = (spec: VideoCodecSpec) =>
  new RTCRtpCodecParameters({
    mimeType: spec.mimeType,
    clockRate: 90000,
    rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }],
    ...(spec.fmtp ? { parameters: spec.fmtp } : {}),
  });

export class WeriftViewer {
  readonly pc: RTCPeerConnection;

  /** By default werift's own offer (H.264 42e01f, VP8, Opus); else these video codecs, in this order. */
  constructor(videoCodecs?: VideoCodecSpec[]) {
    this.pc = new RTCPeerConnection({ codecs: { video: videoCodecs ? videoCodecs.map(weriftVideoCodec) : [useH264(), useVP8()], audio: [useOPUS()] } });
  }

  readonly video = new H264Depacketizer();
  videoPackets = 0;
  /** Pictures received (distinct RTP timestamps of video). */
  videoFrames = 0;
  #lastVideoTimestamp?: number;
  audioPackets = 0;
  firstVideoAt?: number;
  videoCodec?: string;
  readonly messages: { text: string; at: number }[] = [];

  /** A negotiated data channel opened before the offer, so the offer carries m=application. */
  openCueChannel(id = 0): void {
    const channel = this.pc.createDataChannel('livecue-cues', { negotiated: true, id, ordered: true });
    channel.onMessage.subscribe((data) => this.messages.push({ text: data.toString(), at: Date.now() }));
  }

  async offer(): Promise<string> {
    const video = this.pc.addTransceiver('video', { direction: 'recvonly' });
    const audio = this.pc.addTransceiver('audio', { direction: 'recvonly' });
    video.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
        this.videoPackets++;
        if (rtp.header.timestamp !== this.#lastVideoTimestamp) {
          this.videoFrames++;
          this.#lastVideoTimestamp = rtp.header.timestamp;
        }
        this.firstVideoAt ??= Date.now();
        this.videoCodec ??= video.codecs.find((codec) => codec.payloadType === rtp.header.payloadType)?.mimeType;
        if (this.videoCodec?.toLowerCase() === 'video/h264') this.video.push(rtp.payload);
      });
    });
    audio.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => this.audioPackets++));
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.pc.localDescription!.sdp;
  }

  async accept(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  async close(): Promise<void> {
    await this.pc.close();
  }
}

/**
 * A WHIP publisher sending real H.264 under a declared profile-level-id, and Opus: FFmpeg encodes a
 * test pattern with x264 (veryfast, zerolatency: High, no B-frames) and a tone to RTP, and werift
 * sends those packets as they are.
 */
export class WeriftH264Publisher {
  readonly pc: RTCPeerConnection;
  readonly #video = new MediaStreamTrack({ kind: 'video' });
  readonly #audio = new MediaStreamTrack({ kind: 'audio' });
  #sockets: Socket[] = [];
  #encoder?: ChildProcess;

  constructor(
    profileLevelId: string,
    private readonly source: { size: string; rate: number },
  ) {
    this.pc = new RTCPeerConnection({
      codecs: {
        video: [weriftVideoCodec({ mimeType: 'video/H264', fmtp: `profile-level-id=${profileLevelId};packetization-mode=1;level-asymmetry-allowed=1` })],
        audio: [useOPUS()],
      },
    });
  }

  async offer(): Promise<string> {
    this.pc.addTransceiver(this.#video, { direction: 'sendonly' });
    this.pc.addTransceiver(this.#audio, { direction: 'sendonly' });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.pc.localDescription!.sdp;
  }

  async accept(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
    const listen = async (track: MediaStreamTrack): Promise<number> => {
      const socket = createSocket('udp4');
      this.#sockets.push(socket);
      socket.on('message', (packet) => track.writeRtp(packet));
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      return socket.address().port;
    };
    const videoPort = await listen(this.#video);
    const audioPort = await listen(this.#audio);
    const { rate, size } = this.source;
    this.#encoder = spawn(
      'ffmpeg',
      [
        ...QUIET_FFMPEG,
        ...testPatternInputs({ size, rate }),
        '-map',
        '0:v',
        ...x264Args({ preset: 'veryfast', bitrate: '800k' }, rate),
        '-f',
        'rtp',
        '-payload_type',
        '96',
        `rtp://127.0.0.1:${videoPort}?pkt_size=1200`,
        '-map',
        '1:a',
        '-c:a',
        'libopus',
        '-b:a',
        '64k',
        '-ar',
        '48000',
        '-ac',
        '2',
        '-f',
        'rtp',
        '-payload_type',
        '111',
        `rtp://127.0.0.1:${audioPort}?pkt_size=1200`,
      ],
      { stdio: 'ignore' },
    );
  }

  async close(): Promise<void> {
    this.#encoder?.kill('SIGKILL');
    for (const socket of this.#sockets) socket.close();
    await this.pc.close();
  }
}

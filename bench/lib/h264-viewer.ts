// A werift WHEP viewer negotiating H.264 (what livecue passes through from RTMP) whose video is decoded by
// FFmpeg; every decoded frame's stamp is read, and the decoder's own delay is measured per frame.
import { RTCPeerConnection, useH264, useOPUS, type RtpPacket } from 'werift';
import { FirstArrival } from '../../tests/helpers/first-arrival.ts';
import { readStamp } from './frame-clock.ts';
import { H264Decoder, H264Depacketizer } from './h264-decoder.ts';

export interface H264Frame {
  /** Date.now() when the decoded frame was read from FFmpeg. */
  at: number;
  stamp?: number;
  /** Date.now() when its access unit was complete (its last RTP packet arrived) and written to FFmpeg. */
  auAt?: number;
}

export class H264StampViewer {
  readonly pc = new RTCPeerConnection({ codecs: { video: [useH264()], audio: [useOPUS()] }, iceUseIpv6: false });
  readonly frames: H264Frame[] = [];
  readonly decoder: H264Decoder;
  readonly depacketizer: H264Depacketizer;
  firstPacketAt?: number;
  firstKeyframeAt?: number;
  videoPackets = 0;
  readonly #firstFrame = new FirstArrival();

  /** The decoder's output size: the stamp is read from frames of this size (the publisher's frame size). */
  constructor(
    width: number,
    height: number,
    private readonly keep = true,
    /** Offer to receive audio too (werift cannot take an answer that rejects it, i.e. a show without audio). */
    private readonly audio = true,
  ) {
    this.decoder = new H264Decoder(width, height, ({ at, gray }, index) => {
      this.#firstFrame.mark(at);
      if (this.keep) this.frames.push({ at, stamp: readStamp(gray, width, height), auAt: this.decoder.auWrittenAt[index] });
    });
    this.depacketizer = new H264Depacketizer((annexB, keyframe) => {
      if (keyframe) this.firstKeyframeAt ??= Date.now();
      this.decoder.write(annexB);
    });
  }

  async offer(): Promise<string> {
    const video = this.pc.addTransceiver('video', { direction: 'recvonly' });
    if (this.audio) this.pc.addTransceiver('audio', { direction: 'recvonly' });
    video.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
        this.videoPackets++;
        this.firstPacketAt ??= Date.now();
        this.depacketizer.push(rtp.payload, rtp.header.timestamp, rtp.header.marker);
      });
    });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.pc.localDescription!.sdp;
  }

  async accept(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  /** Resolves with Date.now() of the first decoded frame, or undefined after `timeoutMs`. */
  firstFrame(timeoutMs: number): Promise<number | undefined> {
    return this.#firstFrame.wait(timeoutMs);
  }

  async close(): Promise<void> {
    await this.pc.close();
    await this.decoder.close();
  }
}

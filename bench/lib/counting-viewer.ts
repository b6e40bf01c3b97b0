// A lightweight WHEP viewer for capacity runs: werift does ICE and DTLS, but received SRTP is never decrypted;
// packets are counted and sequence-number gaps found from the RTP header, which SRTP leaves in the clear.
import { RTCDtlsTransport, RTCPeerConnection, useH264, useOPUS, useVP8 } from 'werift';

interface SsrcCount {
  firstSeq: number;
  /** Extended (unwrapped) highest sequence number seen. */
  highest: number;
  received: number;
  bytes: number;
}

export interface ViewerCounts {
  /** Packets the sender numbered between the first and the highest seen (all SSRCs). */
  expected: number;
  received: number;
  bytes: number;
  /** Bytes of the busiest SSRC (the video). */
  videoBytes: number;
}

/** One datagram of SRTP, counted (called with every packet on the viewer's ICE connection). */
function countPacket(counts: Map<number, SsrcCount>, data: Buffer): void {
  if (data.length < 12 || data[0]! < 128 || data[0]! > 191) return; // not RTP/RTCP
  if (data[1]! >= 192 && data[1]! <= 223) return; // RTCP (RFC 5761)
  const seq = data.readUInt16BE(2);
  const ssrc = data.readUInt32BE(8);
  const count = counts.get(ssrc);
  if (!count) return void counts.set(ssrc, { firstSeq: seq, highest: seq, received: 1, bytes: data.length });
  count.received++;
  count.bytes += data.length;
  // Unwrap relative to the highest: a step of less than half the sequence space forward is new.
  const delta = (seq - (count.highest & 0xffff) + 0x10000) % 0x10000;
  if (delta > 0 && delta < 0x8000) count.highest += delta;
}

const counters = new WeakMap<RTCDtlsTransport, Map<number, SsrcCount>>();

/**
 * Replaces werift's SRTP start (process-wide): keys are still derived (werift sends SRTCP receiver reports),
 * but incoming media is only counted. Media decryption is what makes werift viewers expensive.
 */
export function installCountingSrtp(): void {
  RTCDtlsTransport.prototype.startSrtp = function (this: RTCDtlsTransport) {
    if (this.srtpStarted) return;
    this.srtpStarted = true;
    this.updateSrtpSession();
    const counts = new Map<number, SsrcCount>();
    counters.set(this, counts);
    this.iceTransport.connection.onData.subscribe((data: Buffer) => countPacket(counts, data));
  };
}

export class CountingViewer {
  readonly pc = new RTCPeerConnection({ codecs: { video: [useH264(), useVP8()], audio: [useOPUS()] }, iceUseIpv6: false });
  location?: string;

  async offer(): Promise<string> {
    this.pc.addTransceiver('video', { direction: 'recvonly' });
    this.pc.addTransceiver('audio', { direction: 'recvonly' });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.pc.localDescription!.sdp;
  }

  async accept(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  #counts(): Map<number, SsrcCount> | undefined {
    const transport = this.pc.getTransceivers()[0]?.dtlsTransport;
    return transport ? counters.get(transport) : undefined;
  }

  get receiving(): boolean {
    return [...(this.#counts()?.values() ?? [])].some((count) => count.received > 0);
  }

  counts(): ViewerCounts {
    const all = [...(this.#counts()?.values() ?? [])];
    return {
      expected: all.reduce((sum, c) => sum + (c.highest - c.firstSeq + 1), 0),
      received: all.reduce((sum, c) => sum + c.received, 0),
      bytes: all.reduce((sum, c) => sum + c.bytes, 0),
      videoBytes: Math.max(0, ...all.map((c) => c.bytes)),
    };
  }

  async close(): Promise<void> {
    await this.pc.close();
  }
}

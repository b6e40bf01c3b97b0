// libwebrtc peers (@roamhq/wrtc) for the bench: a WHIP publisher whose VP8 frames carry their capture time in
// the luma, and a WHEP viewer that reads that time back from every decoded frame.
import { createRequire } from 'node:module';
import { readI420Stamp, stampI420 } from './i420-clock.ts';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const wrtc = require('@roamhq/wrtc') as any;

/** Sets the local offer and waits (up to 3 s) for ICE gathering, so the offer carries its candidates (WHIP/WHEP have no trickle here). */
async function gatheredOffer(pc: any): Promise<string> {
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') (clearTimeout(timer), resolve());
      });
    });
  }
  return pc.localDescription.sdp as string;
}

/** A textured picture twice as wide as the frame; a window of it scrolls by, so the encoder codes real motion. */
function texture(width: number, height: number, block: number, seed: number): Uint8Array {
  const wide = width * 2;
  const out = new Uint8Array(wide * height);
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const blocksX = Math.ceil(wide / block);
  const values = Array.from({ length: blocksX * Math.ceil(height / block) }, () => 40 + Math.floor(random() * 180));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < wide; x++) out[y * wide + x] = values[Math.floor(y / block) * blocksX + Math.floor(x / block)]!;
  }
  return out;
}

export class StampedPublisher {
  readonly pc = new wrtc.RTCPeerConnection();
  #video = new wrtc.nonstandard.RTCVideoSource();
  #audio = new wrtc.nonstandard.RTCAudioSource();
  #timer?: NodeJS.Timeout;
  framesSent = 0;
  /** Frames skipped because the pacing timer came more than a frame late. */
  framesSkipped = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly fps = 30,
  ) {}

  async offer(): Promise<string> {
    this.pc.addTransceiver(this.#video.createTrack(), { direction: 'sendonly' });
    this.pc.addTransceiver(this.#audio.createTrack(), { direction: 'sendonly' });
    return gatheredOffer(this.pc);
  }

  /** Applies the WHIP answer and starts sending frames paced by the wall clock, each stamped when handed to the encoder. */
  async accept(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
    const { width, height, fps } = this;
    const luma = texture(width, height, 16, 1);
    const chroma = [texture(width / 2, height / 2, 8, 2), texture(width / 2, height / 2, 8, 3)];
    const frame = new Uint8ClampedArray((width * height * 3) / 2);
    const samples = new Int16Array(480);
    let phase = 0;
    const start = Date.now();
    let audioChunks = 0;
    const scroll = (source: Uint8Array, w: number, h: number, offset: number, at: number) => {
      for (let y = 0; y < h; y++) frame.set(source.subarray(y * w * 2 + offset, y * w * 2 + offset + w), at + y * w);
    };
    const pump = () => {
      const elapsed = Date.now() - start;
      const due = Math.floor((elapsed * fps) / 1000);
      if (due > this.framesSent + this.framesSkipped) {
        this.framesSkipped += due - (this.framesSent + this.framesSkipped) - 1;
        const offset = (due * 4) % width;
        scroll(luma, width, height, offset, 0);
        scroll(chroma[0]!, width / 2, height / 2, offset / 2, width * height);
        scroll(chroma[1]!, width / 2, height / 2, offset / 2, (width * height * 5) / 4);
        stampI420(frame, width, height, Date.now());
        this.#video.onFrame({ width, height, data: frame });
        this.framesSent++;
      }
      // 10 ms of a 440 Hz tone per chunk, as many chunks as are due (at most 10 at once).
      const audioDue = Math.floor(elapsed / 10);
      for (let n = 0; audioChunks < audioDue && n < 10; n++, audioChunks++) {
        for (let i = 0; i < samples.length; i++) samples[i] = Math.round(6000 * Math.sin(phase + (2 * Math.PI * 440 * i) / 48000));
        phase += (2 * Math.PI * 440 * samples.length) / 48000;
        this.#audio.onData({ samples, sampleRate: 48000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 });
      }
      audioChunks = Math.max(audioChunks, audioDue - 10);
      const next = start + ((this.framesSent + this.framesSkipped + 1) * 1000) / fps;
      this.#timer = setTimeout(pump, Math.max(1, Math.min(next, start + (audioChunks + 1) * 10) - Date.now()));
    };
    pump();
  }

  get connectionState(): string {
    return this.pc.connectionState;
  }

  close(): void {
    clearTimeout(this.#timer);
    this.pc.close();
  }
}

export interface StampedFrame {
  /** Date.now() when the decoded frame reached the sink. */
  at: number;
  /** The capture time read from the frame, undefined when unreadable. */
  stamp?: number;
}

/** A WHEP viewer that decodes with libwebrtc (VP8 only: this build of wrtc offers no H.264) and reads each frame's stamp. */
export class StampViewer {
  readonly pc = new wrtc.RTCPeerConnection();
  readonly frames: StampedFrame[] = [];
  firstFrameAt?: number;
  #sinks: any[] = [];
  #onFirst?: () => void;

  constructor(private readonly keep = true) {}

  async offer(): Promise<string> {
    this.pc.addTransceiver('video', { direction: 'recvonly' });
    this.pc.addTransceiver('audio', { direction: 'recvonly' });
    this.pc.ontrack = (event: any) => {
      if (event.track.kind !== 'video') return;
      const sink = new wrtc.nonstandard.RTCVideoSink(event.track);
      sink.onframe = ({ frame }: { frame: { width: number; height: number; data: Uint8ClampedArray } }) => {
        const at = Date.now();
        if (this.firstFrameAt === undefined) {
          this.firstFrameAt = at;
          this.#onFirst?.();
        }
        if (this.keep) this.frames.push({ at, stamp: readI420Stamp(frame.data, frame.width, frame.height) });
      };
      this.#sinks.push(sink);
    };
    return gatheredOffer(this.pc);
  }

  async accept(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  /** Resolves with Date.now() of the first decoded frame, or undefined after `timeoutMs`. */
  firstFrame(timeoutMs: number): Promise<number | undefined> {
    if (this.firstFrameAt !== undefined) return Promise.resolve(this.firstFrameAt);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.#onFirst = () => (clearTimeout(timer), resolve(this.firstFrameAt));
    });
  }

  close(): void {
    for (const sink of this.#sinks) sink.stop();
    this.pc.close();
  }
}

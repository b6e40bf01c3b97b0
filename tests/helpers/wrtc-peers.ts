// libwebrtc peers (@roamhq/wrtc), for the tests and the benches: a WHIP publisher that sends real VP8 video
// and Opus audio from raw frames paced by the wall clock, and a WHEP viewer that decodes what it receives.
import { createRequire } from 'node:module';
import { FirstArrival } from './first-arrival.ts';

const require = createRequire(import.meta.url);

const wrtc = require('@roamhq/wrtc');

/** Sets the local offer and waits (up to 3 s) for ICE gathering, so the offer carries its candidates (WHIP/WHEP have no trickle here). */
async function gatheredOffer(pc: any): Promise<string> {
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') {
          clearTimeout(timer);
          resolve();
        }
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
  const random = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const blocksX = Math.ceil(wide / block);
  const values = Array.from({ length: blocksX * Math.ceil(height / block) }, () => 40 + Math.floor(random() * 180));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < wide; x++) out[y * wide + x] = values[Math.floor(y / block) * blocksX + Math.floor(x / block)]!;
  }
  return out;
}

/** Marks an I420 frame (in place) with the time it is handed to the encoder, e.g. the benches' frame clock. */
export type FrameStamp = (frame: Uint8ClampedArray, width: number, height: number, ms: number) => void;

export class WrtcPublisher {
  readonly pc = new wrtc.RTCPeerConnection();
  #video = new wrtc.nonstandard.RTCVideoSource();
  #audio = new wrtc.nonstandard.RTCAudioSource();
  #timer?: NodeJS.Timeout;
  #closed = false;
  framesSent = 0;
  /** Frames skipped because the pacing timer came more than a frame late. */
  framesSkipped = 0;

  constructor(
    readonly width = 640,
    readonly height = 360,
    readonly fps = 30,
    private readonly stamp?: FrameStamp,
  ) {}

  async offer(): Promise<string> {
    this.pc.addTransceiver(this.#video.createTrack(), { direction: 'sendonly' });
    this.pc.addTransceiver(this.#audio.createTrack(), { direction: 'sendonly' });
    return gatheredOffer(this.pc);
  }

  /** Applies the WHIP answer and starts sending frames and a 440 Hz tone, paced by the wall clock. */
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
        this.stamp?.(frame, width, height, Date.now());
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
    if (!this.#closed) pump();
  }

  get connectionState(): string {
    return this.pc.connectionState;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.pc.close();
  }
}

export interface DecodedFrame {
  width: number;
  height: number;
  /** I420 */
  data: Uint8ClampedArray;
}

export class WrtcViewer {
  readonly pc = new wrtc.RTCPeerConnection();
  framesDecoded = 0;
  lastFrameSize?: { width: number; height: number };
  audioTracks = 0;
  readonly #firstFrame = new FirstArrival();
  #sinks: any[] = [];
  #closed = false;

  async offer(): Promise<string> {
    this.pc.addTransceiver('video', { direction: 'recvonly' });
    this.pc.addTransceiver('audio', { direction: 'recvonly' });
    this.pc.ontrack = (event: any) => {
      if (event.track.kind !== 'video') return void this.audioTracks++;
      const sink = new wrtc.nonstandard.RTCVideoSink(event.track);
      sink.onframe = ({ frame }: { frame: DecodedFrame }) => {
        const at = Date.now();
        this.framesDecoded++;
        this.lastFrameSize = { width: frame.width, height: frame.height };
        this.#firstFrame.mark(at);
        this.frameDecoded(frame, at);
      };
      this.#sinks.push(sink);
    };
    return gatheredOffer(this.pc);
  }

  async accept(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  /** Resolves with Date.now() when the first decoded frame reached the sink, or undefined after `timeoutMs`. */
  firstFrame(timeoutMs: number): Promise<number | undefined> {
    return this.#firstFrame.wait(timeoutMs);
  }

  /** Each decoded frame, at Date.now() `at`; a subclass reads what it needs from it. */
  protected frameDecoded(_frame: DecodedFrame, _at: number): void {}

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const sink of this.#sinks) sink.stop();
    this.pc.close();
  }
}

// Received H.264 RTP -> Annex B access units -> an FFmpeg decoder on a pipe -> gray frames, timed on arrival.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

const START = Buffer.from([0, 0, 0, 1]);
/** An access unit delimiter after each complete access unit: FFmpeg's H.264 parser then ends the frame at
 * once instead of waiting for the next frame's first slice (a frame interval of extra delay). */
const AUD = Buffer.from([0, 0, 0, 1, 0x09, 0xf0]);

/**
 * Depacketizes H.264 RTP (single NAL, STAP-A, FU-A; RFC 6184) into Annex B access units. An access unit ends
 * on the marker bit (or when the RTP timestamp changes). Units before the first one carrying an SPS or an IDR
 * are dropped, so a decoder fed from the start never sees a P frame without its reference.
 */
export class H264Depacketizer {
  #nals: Buffer[] = [];
  #fragment: Buffer[] = [];
  #timestamp?: number;
  #started = false;
  keyframes = 0;
  accessUnits = 0;

  constructor(private readonly onAccessUnit: (annexB: Buffer, keyframe: boolean) => void) {}

  push(payload: Buffer, timestamp: number, marker: boolean): void {
    if (this.#timestamp !== undefined && timestamp !== this.#timestamp && this.#nals.length > 0) this.#flush();
    this.#timestamp = timestamp;
    const type = payload[0]! & 0x1f;
    if (type >= 1 && type <= 23) this.#nals.push(payload);
    else if (type === 24) {
      for (let offset = 1; offset + 2 <= payload.length;) {
        const size = payload.readUInt16BE(offset);
        this.#nals.push(payload.subarray(offset + 2, offset + 2 + size));
        offset += 2 + size;
      }
    } else if (type === 28) {
      const header = payload[1]!;
      if (header & 0x80) this.#fragment = [Buffer.from([(payload[0]! & 0xe0) | (header & 0x1f)])];
      if (this.#fragment.length > 0) this.#fragment.push(payload.subarray(2));
      if (header & 0x40 && this.#fragment.length > 0) {
        this.#nals.push(Buffer.concat(this.#fragment));
        this.#fragment = [];
      }
    }
    if (marker) this.#flush();
  }

  #flush(): void {
    const nals = this.#nals;
    this.#nals = [];
    if (nals.length === 0) return;
    const types = nals.map((nal) => nal[0]! & 0x1f);
    const keyframe = types.includes(5);
    if (keyframe) this.keyframes++;
    this.#started ||= keyframe || types.includes(7);
    if (!this.#started) return;
    this.accessUnits++;
    this.onAccessUnit(Buffer.concat([...nals.flatMap((nal) => [START, nal]), AUD]), keyframe);
  }
}

export interface DecodedFrame {
  /** Date.now() when the whole gray frame had been read from FFmpeg. */
  at: number;
  gray: Buffer;
}

/**
 * FFmpeg decoding Annex B from stdin to gray frames of a known size on stdout: single-threaded (frame threads
 * would hold frames back), no probing buffer, low-delay flags. `auWrittenAt` and the frames come in the same
 * order (no B-frames), so the decoder's own delay is frame arrival - access unit written.
 */
export class H264Decoder {
  readonly child: ChildProcessWithoutNullStreams;
  /** Date.now() when each access unit was written to FFmpeg. */
  readonly auWrittenAt: number[] = [];
  framesOut = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #stderr = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly width: number,
    readonly height: number,
    private readonly onFrame: (frame: DecodedFrame, index: number) => void,
  ) {
    const args = [
      '-hide_banner',
      '-loglevel',
      'error',
      '-flags',
      'low_delay',
      '-probesize',
      '32',
      '-analyzeduration',
      '0',
      '-threads',
      '1',
      '-f',
      'h264',
      '-i',
      'pipe:0',
      '-fps_mode',
      'passthrough',
      '-vf',
      `scale=${width}:${height}`,
      '-pix_fmt',
      'gray',
      '-f',
      'rawvideo',
      '-flush_packets',
      '1',
      'pipe:1',
    ];
    this.child = spawn('ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin.on('error', () => {});
    this.child.stderr.on('data', (chunk: Buffer) => (this.#stderr = (this.#stderr + chunk.toString()).slice(-2000)));
    const frameBytes = width * height;
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      while (this.#pendingBytes >= frameBytes) {
        const all = Buffer.concat(this.#pending);
        const gray = all.subarray(0, frameBytes);
        const rest = all.subarray(frameBytes);
        this.#pending = rest.length ? [rest] : [];
        this.#pendingBytes = rest.length;
        this.onFrame({ at: Date.now(), gray }, this.framesOut++);
      }
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  write(accessUnit: Buffer): void {
    if (!this.child.stdin.writable) return;
    this.auWrittenAt.push(Date.now());
    this.child.stdin.write(accessUnit);
  }

  get stderr(): string {
    return this.#stderr;
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(kill);
  }
}

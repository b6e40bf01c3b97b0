// The benches' RTMP camera: Node writes a gray band carrying the capture time (lib/frame-clock.ts) in real time to
// an FFmpeg x264 encoder (zerolatency, no B-frames, 1 s GOP; or x264's own tuning with B-frames, as OBS) that overlays it on a moving testsrc2 pattern, adds
// an AAC tone and pushes FLV to livecue. The moving pattern makes a ladder encode realistic motion, not a still.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { aacArgs, QUIET_FFMPEG, toneInput, x264Args } from '../../tests/helpers/encoder-args.ts';
import { bandHeight, stampBand } from './frame-clock.ts';

export interface StampedCameraOptions {
  width: number;
  height: number;
  fps: number;
  /** x264 preset: ultrafast (default) gives constrained baseline; veryfast gives High, as the README's push and OBS's x264 do. */
  preset?: string;
  /** Constant-ish video bitrate (kbit/s); default: x264's CRF 23. */
  videoKbps?: number;
  /** With an AAC tone (default); without, FFmpeg's FLV muxer has no audio to interleave the video with. */
  audio?: boolean;
  /**
   * x264's own tuning with its B-frames and lookahead, as OBS's x264 sends (livecue encodes such a stream once
   * for WebRTC); default false: zerolatency without B-frames, which livecue passes through to WebRTC.
   */
  bFrames?: boolean;
  /** Names the camera in its exit message. */
  name?: string;
}

/** Grace after stdin ends for the encoder to flush and exit, then SIGINT; SIGKILL as long again after that. */
const EXIT_GRACE_MS = 5000;

export class StampedCamera {
  readonly pid: number;
  /** performance.now() when the encoder was spawned. */
  readonly spawnedAt: number;
  /** Date.now() stamped into frame n (its capture time), by frame index. */
  readonly stamps: number[] = [];
  /** The most frames that waited in the encoder's stdin: how far the encoder fell behind real time. */
  maxBacklogFrames = 0;
  readonly audio: boolean;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #exited: Promise<number | null>;
  readonly #name: string;
  #stderr = '';
  #pacing?: NodeJS.Timeout;
  #closing?: Promise<number | null>;

  constructor(url: string, { width, height, fps, preset = 'ultrafast', videoKbps, audio = true, bFrames = false, name = 'camera' }: StampedCameraOptions) {
    this.audio = audio;
    this.#name = name;
    const band = bandHeight(height);
    const args = [
      ...QUIET_FFMPEG,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'gray',
      '-s',
      `${width}x${band}`,
      '-r',
      String(fps),
      '-i',
      'pipe:0',
      ...(audio ? toneInput({ paced: true }) : []),
      '-filter_complex',
      `testsrc2=size=${width}x${height}:rate=${fps}[bg];[bg][0:v]overlay=0:0:shortest=1,format=yuv420p[v]`,
      '-map',
      '[v]',
      ...(audio ? ['-map', '1:a'] : []),
      ...x264Args({ preset, bitrate: videoKbps ? `${videoKbps}k` : undefined, ...(bFrames ? { tune: null } : {}) }, fps),
      ...(bFrames ? [] : ['-bf', '0']),
      ...(audio ? aacArgs({ bitrate: '128k' }) : []),
      '-shortest',
      '-flush_packets',
      '1',
      '-f',
      'flv',
      url,
    ];
    this.#child = spawn('ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.spawnedAt = performance.now();
    this.pid = this.#child.pid!;
    this.#child.stderr.on('data', (chunk: Buffer) => (this.#stderr = (this.#stderr + chunk.toString()).slice(-2000)));
    this.#child.stdout.resume();
    this.#child.stdin.on('error', () => {});
    this.#exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
    this.#pace(width, height, fps);
  }

  get framesWritten(): number {
    return this.stamps.length;
  }

  /** Ends the encoder's input and resolves with its exit code; safe to call twice. */
  close(): Promise<number | null> {
    this.#closing ??= this.#stop();
    return this.#closing;
  }

  #pace(width: number, height: number, fps: number): void {
    const stdin = this.#child.stdin;
    const frameBytes = width * bandHeight(height);
    const start = Date.now();
    const pump = () => {
      // Frames are due by the wall clock; a late timer writes the frames it owes, each stamped when written.
      const due = Math.floor(((Date.now() - start) * fps) / 1000) + 1;
      while (this.stamps.length < due && stdin.writable) {
        const now = Date.now();
        stdin.write(stampBand(now, width, height));
        this.stamps.push(now);
      }
      this.maxBacklogFrames = Math.max(this.maxBacklogFrames, Math.floor(stdin.writableLength / frameBytes));
      this.#pacing = setTimeout(pump, Math.max(1, start + (this.stamps.length * 1000) / fps - Date.now()));
    };
    pump();
  }

  async #stop(): Promise<number | null> {
    clearTimeout(this.#pacing);
    this.#child.stdin.end();
    const interrupt = setTimeout(() => this.#child.kill('SIGINT'), EXIT_GRACE_MS);
    const kill = setTimeout(() => this.#child.kill('SIGKILL'), 2 * EXIT_GRACE_MS);
    const code = await this.#exited;
    clearTimeout(interrupt);
    clearTimeout(kill);
    if (code !== 0 && this.#stderr.trim()) console.error(`${this.#name} exited ${code}: ${this.#stderr.trim().slice(-300)}`);
    return code;
  }
}

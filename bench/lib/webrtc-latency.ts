// Glass-to-glass latency of a live show to one WHEP viewer: receive time - the capture time stamped in each frame.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { deleteSession, postSdp } from './livecue-api.ts';
import { H264StampViewer } from './h264-viewer.ts';
import { stats, type Stats } from './stats.ts';
import type { BenchContext, Show } from './webrtc-shows.ts';
import { StampViewer } from './stamp-viewer.ts';

/** A stamp older than this (or in the future) was misread, not merely late. */
const MAX_PLAUSIBLE_MS = 30_000;
const WARMUP_MS = 2000;

export interface LatencyResult {
  viewer: string;
  seconds: number;
  framesDecoded: number;
  /** Frames whose stamp could not be read (or failed its CRC, or was implausible). */
  unreadable: number;
  latencyMs?: Stats;
  /** H.264 viewer only: stamp -> its access unit complete at the viewer (before the bench's decoder). */
  beforeDecoderMs?: Stats;
  /** H.264 viewer only: the bench decoder's own delay, access unit written -> decoded frame read. */
  decoderDelayMs?: Stats;
  /** H.264 viewer only: frames out of the decoder / access units written to it (equal when none was dropped, so the pairing holds). */
  decoderFramesPerAccessUnits?: string;
  /** Frames the source skipped (late pacing timer) or had queued at most in the encoder pipe. */
  sourceFramesSkipped?: number;
  sourceBacklogMaxFrames?: number;
  eventLoopDelayP99Ms: number;
  error?: string;
}

export const plausible = (ms: number) => ms >= -5 && ms < MAX_PLAUSIBLE_MS;

/** A WHEP viewer that keeps what it decodes, frame by frame. */
export interface FrameViewer<F> {
  readonly frames: F[];
  offer(): Promise<string>;
  accept(answer: string): Promise<void>;
  firstFrame(timeoutMs: number): Promise<number | undefined>;
}

export interface Watched<F> {
  /** Date.now() before the offer, and when the first frame was decoded. */
  startedAt: number;
  firstFrameAt: number;
  /** The frames decoded in the measured window, after the warm-up. */
  frames: F[];
  eventLoopDelayP99Ms: number;
}

/** Joins `viewer` to a show, waits for its first frame and a warm-up, keeps the frames of the next `seconds`, and leaves. */
export async function watchWindow<F>(
  viewer: FrameViewer<F>,
  whep: { url: string; baseUrl: string },
  seconds: number,
  { firstFrameTimeoutMs = 10_000, noFrame }: { firstFrameTimeoutMs?: number; noFrame: () => string },
): Promise<Watched<F>> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const startedAt = Date.now();
  const { location, answer } = await postSdp(whep.url, await viewer.offer());
  await viewer.accept(answer);
  const firstFrameAt = await viewer.firstFrame(firstFrameTimeoutMs);
  if (firstFrameAt === undefined) throw new Error(noFrame());
  await sleep(WARMUP_MS);
  const from = viewer.frames.length;
  loop.enable();
  await sleep(seconds * 1000);
  loop.disable();
  const frames = viewer.frames.slice(from);
  await deleteSession(whep.baseUrl, location);
  return { startedAt, firstFrameAt, frames, eventLoopDelayP99Ms: loop.percentile(99) / 1e6 };
}

/** WHIP show -> libwebrtc WHEP viewer (VP8, decoded by libwebrtc; time taken when the frame reaches the sink). */
export async function whipLatency(ctx: BenchContext, show: Show, seconds: number): Promise<LatencyResult> {
  const viewer = new StampViewer();
  try {
    const { frames, eventLoopDelayP99Ms } = await watchWindow(viewer, { url: show.stream.playback.whepUrl, baseUrl: ctx.target.baseUrl }, seconds, {
      noFrame: () => 'no decoded frame within 10 s',
    });
    const latencies = frames.flatMap((frame) => (frame.stamp !== undefined && plausible(frame.at - frame.stamp) ? [frame.at - frame.stamp] : []));
    return {
      viewer: 'wrtc (libwebrtc VP8 decode, RTCVideoSink.onframe)',
      seconds,
      framesDecoded: frames.length,
      unreadable: frames.length - latencies.length,
      latencyMs: stats(latencies),
      sourceFramesSkipped: show.publisher?.framesSkipped,
      eventLoopDelayP99Ms,
    };
  } catch (error) {
    return { viewer: 'wrtc', seconds, framesDecoded: viewer.frames.length, unreadable: 0, eventLoopDelayP99Ms: 0, error: (error as Error).message };
  } finally {
    viewer.close();
  }
}

/** RTMP show -> werift WHEP viewer negotiating H.264 -> depacketized -> FFmpeg decoder (time taken when the decoded frame is read). */
export async function rtmpLatency(ctx: BenchContext, show: Show, seconds: number): Promise<LatencyResult> {
  const viewer = new H264StampViewer(ctx.width, ctx.height, true, show.camera?.audio ?? true);
  const method = 'werift H.264 -> Annex B (+AUD) -> ffmpeg -threads 1 -flags low_delay, gray frames on a pipe';
  try {
    const { frames, eventLoopDelayP99Ms } = await watchWindow(viewer, { url: show.stream.playback.whepUrl, baseUrl: ctx.target.baseUrl }, seconds, {
      noFrame: () => `no decoded frame within 10 s (${viewer.videoPackets} video packets; ffmpeg: ${viewer.decoder.stderr.slice(-200)})`,
    });
    const good = frames.filter((frame) => frame.stamp !== undefined && plausible(frame.at - frame.stamp));
    return {
      viewer: method,
      seconds,
      framesDecoded: frames.length,
      unreadable: frames.length - good.length,
      latencyMs: stats(good.map((frame) => frame.at - frame.stamp!)),
      beforeDecoderMs: stats(good.flatMap((frame) => (frame.auAt !== undefined ? [frame.auAt - frame.stamp!] : []))),
      decoderDelayMs: stats(good.flatMap((frame) => (frame.auAt !== undefined ? [frame.at - frame.auAt] : []))),
      decoderFramesPerAccessUnits: `${viewer.decoder.framesOut}/${viewer.decoder.auWrittenAt.length}`,
      sourceBacklogMaxFrames: show.camera?.maxBacklogFrames,
      eventLoopDelayP99Ms,
    };
  } catch (error) {
    return { viewer: method, seconds, framesDecoded: viewer.frames.length, unreadable: 0, eventLoopDelayP99Ms: 0, error: (error as Error).message };
  } finally {
    await viewer.close();
  }
}

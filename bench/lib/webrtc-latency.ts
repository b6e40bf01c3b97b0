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

const plausible = (ms: number) => ms >= -5 && ms < MAX_PLAUSIBLE_MS;

/** WHIP show -> libwebrtc WHEP viewer (VP8, decoded by libwebrtc; time taken when the frame reaches the sink). */
export async function whipLatency(ctx: BenchContext, show: Show, seconds: number): Promise<LatencyResult> {
  const viewer = new StampViewer();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  try {
    const { location, answer } = await postSdp(show.stream.playback.whepUrl, await viewer.offer());
    await viewer.accept(answer);
    const first = await viewer.firstFrame(10_000);
    if (first === undefined) throw new Error('no decoded frame within 10 s');
    await sleep(WARMUP_MS);
    const from = viewer.frames.length;
    loop.enable();
    await sleep(seconds * 1000);
    loop.disable();
    const frames = viewer.frames.slice(from);
    await deleteSession(ctx.target.baseUrl, location);
    const latencies = frames.flatMap((frame) => (frame.stamp !== undefined && plausible(frame.at - frame.stamp) ? [frame.at - frame.stamp] : []));
    return {
      viewer: 'wrtc (libwebrtc VP8 decode, RTCVideoSink.onframe)',
      seconds,
      framesDecoded: frames.length,
      unreadable: frames.length - latencies.length,
      latencyMs: stats(latencies),
      sourceFramesSkipped: show.publisher?.framesSkipped,
      eventLoopDelayP99Ms: loop.percentile(99) / 1e6,
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
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const method = 'werift H.264 -> Annex B (+AUD) -> ffmpeg -threads 1 -flags low_delay, gray frames on a pipe';
  try {
    const { location, answer } = await postSdp(show.stream.playback.whepUrl, await viewer.offer());
    await viewer.accept(answer);
    const first = await viewer.firstFrame(10_000);
    if (first === undefined) throw new Error(`no decoded frame within 10 s (${viewer.videoPackets} video packets; ffmpeg: ${viewer.decoder.stderr.slice(-200)})`);
    await sleep(WARMUP_MS);
    const from = viewer.frames.length;
    loop.enable();
    await sleep(seconds * 1000);
    loop.disable();
    const frames = viewer.frames.slice(from);
    await deleteSession(ctx.target.baseUrl, location);
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
      eventLoopDelayP99Ms: loop.percentile(99) / 1e6,
    };
  } catch (error) {
    return { viewer: method, seconds, framesDecoded: viewer.frames.length, unreadable: 0, eventLoopDelayP99Ms: 0, error: (error as Error).message };
  } finally {
    await viewer.close();
  }
}

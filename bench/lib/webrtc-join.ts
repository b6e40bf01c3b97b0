// Time from a WHEP POST to the first decoded frame, over repeated joins of a live show (sequential, at varying GOP phases).
import { setTimeout as sleep } from 'node:timers/promises';
import { deleteSession, postSdp } from './livecue-api.ts';
import { H264StampViewer } from './h264-viewer.ts';
import { stats, type Stats } from './stats.ts';
import type { BenchContext, Show } from './webrtc-shows.ts';
import { StampViewer } from './stamp-viewer.ts';

const JOIN_TIMEOUT_MS = 8000;

export interface JoinResult {
  viewer: string;
  joins: number;
  failed: number;
  firstFrameMs?: Stats;
  /** H.264 viewer only: POST -> first video RTP packet and -> first complete keyframe. */
  firstPacketMs?: Stats;
  firstKeyframeMs?: Stats;
  /** Every join's POST -> first frame, in order (undefined: no frame within the timeout). */
  samplesMs: (number | undefined)[];
  errors: string[];
}

/** Waits between joins: 0.3 .. 1.2 s, a fixed sequence so successive joins land at different points of the GOP. */
const pause = (join: number) => 300 + ((join * 373) % 900);

export async function measureJoins(ctx: BenchContext, show: Show, joins: number): Promise<JoinResult> {
  const samples: (number | undefined)[] = [];
  const packets: number[] = [];
  const keyframes: number[] = [];
  const errors: string[] = [];
  const h264 = show.kind === 'rtmp';
  for (let join = 0; join < joins; join++) {
    await sleep(pause(join));
    const viewer = h264 ? new H264StampViewer(ctx.width, ctx.height, false, show.camera?.audio ?? true) : new StampViewer(false);
    let location: string | undefined;
    try {
      const offer = await viewer.offer();
      const posted = Date.now();
      const result = await postSdp(show.stream.playback.whepUrl, offer);
      location = result.location;
      await viewer.accept(result.answer);
      const first = await viewer.firstFrame(JOIN_TIMEOUT_MS);
      samples.push(first === undefined ? undefined : first - posted);
      if (first === undefined) errors.push(`join ${join}: no frame within ${JOIN_TIMEOUT_MS} ms`);
      if (viewer instanceof H264StampViewer) {
        if (viewer.firstPacketAt !== undefined) packets.push(viewer.firstPacketAt - posted);
        if (viewer.firstKeyframeAt !== undefined) keyframes.push(viewer.firstKeyframeAt - posted);
      }
    } catch (error) {
      samples.push(undefined);
      errors.push(`join ${join}: ${(error as Error).message}`);
    } finally {
      await deleteSession(ctx.target.baseUrl, location);
      await viewer.close();
    }
  }
  const ok = samples.filter((sample): sample is number => sample !== undefined);
  return {
    viewer: h264 ? 'werift H.264 + ffmpeg decoder (spawned before the POST)' : 'wrtc (libwebrtc VP8)',
    joins,
    failed: joins - ok.length,
    firstFrameMs: stats(ok),
    ...(h264 && { firstPacketMs: stats(packets), firstKeyframeMs: stats(keyframes) }),
    samplesMs: samples,
    errors,
  };
}

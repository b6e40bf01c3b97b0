// Starting and stopping the bench's live shows on an in-process livecue: a WHIP show from a stamped wrtc
// publisher, an RTMP show from the stamped FFmpeg camera; each resolves once the SFU has its video producer.
import type { Livecue } from '../../src/app.ts';
import { waitForProducer } from './bench-node.ts';
import { api, createStream, deleteSession, postSdp, type AdminApi, type BenchStream } from './livecue-api.ts';
import { StampedCamera, type StampedCameraOptions } from './stamped-camera.ts';
import { WrtcPublisher } from '../../tests/helpers/wrtc-peers.ts';
import { stampI420 } from './i420-clock.ts';

export interface BenchContext {
  node: Livecue;
  target: AdminApi;
  width: number;
  height: number;
  fps: number;
}

export interface Show {
  stream: BenchStream;
  kind: 'whip' | 'rtmp';
  publisher?: WrtcPublisher;
  camera?: StampedCamera;
  /** Seconds from starting the publisher/encoder to the SFU holding its video producer. */
  readySeconds: number;
  stop(): Promise<void>;
}

export const contextOf = (node: Livecue): AdminApi => ({ baseUrl: `http://127.0.0.1:${node.httpPort}`, adminToken: node.adminToken });

/** Waits for the SFU to have the show's video, then hands the show out; stopping ends the source and deletes the stream. */
async function goLive(
  ctx: BenchContext,
  stream: BenchStream,
  started: number,
  source: Pick<Show, 'kind' | 'publisher' | 'camera'>,
  end: () => Promise<void>,
  timeoutMs: number,
): Promise<Show> {
  const stop = async () => {
    await end();
    await api(ctx.target, 'DELETE', `/v1/streams/${stream.id}`).catch(() => {});
  };
  try {
    await waitForProducer(ctx.node, stream.id, timeoutMs);
  } catch (error) {
    await stop();
    throw error;
  }
  return { stream, ...source, readySeconds: (performance.now() - started) / 1000, stop };
}

export async function startWhipShow(ctx: BenchContext, title: string): Promise<Show> {
  const stream = await createStream(ctx.target, title);
  const started = performance.now();
  const publisher = new WrtcPublisher(ctx.width, ctx.height, ctx.fps, stampI420);
  const { location, answer } = await postSdp(stream.ingest.whipUrl, await publisher.offer(), { authorization: `Bearer ${stream.ingest.streamKey}` });
  await publisher.accept(answer);
  const end = async () => {
    await deleteSession(ctx.target.baseUrl, location);
    publisher.close();
  };
  return goLive(ctx, stream, started, { kind: 'whip', publisher }, end, 15_000);
}

export async function startRtmpShow(ctx: BenchContext, title: string, options: Partial<StampedCameraOptions> = {}): Promise<Show> {
  const stream = await createStream(ctx.target, title);
  const started = performance.now();
  const camera = new StampedCamera(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, {
    width: ctx.width,
    height: ctx.height,
    fps: ctx.fps,
    preset: 'veryfast',
    name: 'rtmp camera',
    ...options,
  });
  return goLive(ctx, stream, started, { kind: 'rtmp', camera }, async () => void (await camera.close()), 20_000);
}

// Starting and stopping the bench's live shows on an in-process livecue: a WHIP show from a stamped wrtc
// publisher, an RTMP show from the stamped FFmpeg camera; each resolves once the SFU has its video producer.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Livecue } from '../../src/app.ts';
import { api, createStream, deleteSession, postSdp, type AdminApi, type BenchStream } from './livecue-api.ts';
import { startRtmpCamera, type RtmpCamera, type RtmpCameraOptions } from './rtmp-camera.ts';
import { StampedPublisher } from './wrtc-peers.ts';

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
  publisher?: StampedPublisher;
  camera?: RtmpCamera;
  /** Seconds from starting the publisher/encoder to the SFU holding its video producer. */
  readySeconds: number;
  stop(): Promise<void>;
}

export const contextOf = (node: Livecue): AdminApi => ({ baseUrl: `http://127.0.0.1:${node.httpPort}`, adminToken: node.adminToken });

async function waitForProducer(node: Livecue, streamId: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!node.registry.get(streamId)?.room.producer('video')) {
    if (Date.now() > deadline) throw new Error(`no video producer for ${streamId} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export async function startWhipShow(ctx: BenchContext, title: string): Promise<Show> {
  const stream = await createStream(ctx.target, title);
  const started = performance.now();
  const publisher = new StampedPublisher(ctx.width, ctx.height, ctx.fps);
  const { location, answer } = await postSdp(stream.ingest.whipUrl, await publisher.offer(), { authorization: `Bearer ${stream.ingest.streamKey}` });
  await publisher.accept(answer);
  await waitForProducer(ctx.node, stream.id, 15_000);
  return {
    stream,
    kind: 'whip',
    publisher,
    readySeconds: (performance.now() - started) / 1000,
    async stop() {
      await deleteSession(ctx.target.baseUrl, location);
      publisher.close();
      await api(ctx.target, 'DELETE', `/v1/streams/${stream.id}`).catch(() => {});
    },
  };
}

export async function startRtmpShow(ctx: BenchContext, title: string, options: Partial<RtmpCameraOptions> = {}): Promise<Show> {
  const stream = await createStream(ctx.target, title);
  const started = performance.now();
  const camera = startRtmpCamera(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { width: ctx.width, height: ctx.height, fps: ctx.fps, ...options });
  try {
    await waitForProducer(ctx.node, stream.id, 20_000);
  } catch (error) {
    await camera.stop();
    throw error;
  }
  return {
    stream,
    kind: 'rtmp',
    camera,
    readySeconds: (performance.now() - started) / 1000,
    async stop() {
      await camera.stop();
      await api(ctx.target, 'DELETE', `/v1/streams/${stream.id}`).catch(() => {});
    },
  };
}

// Scale-out across OS processes: an ingest node hosts the show, an sfu node serves its WebRTC viewers
// through a mediasoup PipeTransport relay from the origin, an api node forwards cues to the origin,
// and a draining node tells its viewers to move and exits once they have.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, freePort, TEST_REDIS_URL, waitFor } from './helpers/harness.ts';
import { startLivecueProcess, type LivecueProcess } from './helpers/livecue-process.ts';
import { decodeVideo, decodeVideoFrames, pushRtmp, type Encoder } from './helpers/media.ts';
import { postSdp, WeriftViewer } from './helpers/webrtc.ts';
import { newAdminToken, randomBase62 } from '../src/streams/stream-keys.ts';

const adminToken = newAdminToken();
let database: { url: string; drop(): Promise<void> };
let ingest: LivecueProcess;
let edge: LivecueProcess;
let api: LivecueProcess;
let rtmpPort: number;
let scratch: string;
const encoders: Encoder[] = [];
const viewers: WeriftViewer[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  scratch = await mkdtemp(path.join(tmpdir(), 'livecue-cluster-'));
  rtmpPort = await freePort();
  const shared = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: `lctest-${randomBase62(8)}`,
    LIVECUE_ADMIN_TOKEN: adminToken,
    LIVECUE_SECRET_KEY: randomBase62(32),
    PLAYBACK_TOKEN_SECRET: randomBase62(32),
    SFU_WORKERS: 1,
    LADDER: '360',
    LOG_LEVEL: 'info',
  };
  const started = await Promise.allSettled([
    startLivecueProcess({ ...shared, ROLE: 'ingest', NODE_ID: 'node-ingest', RTMP_PORT: rtmpPort, WEBRTC_MIN_PORT: 41000, WEBRTC_MAX_PORT: 41999 }),
    startLivecueProcess({ ...shared, ROLE: 'sfu', NODE_ID: 'node-edge', DRAIN_SECONDS: 30, WEBRTC_MIN_PORT: 42000, WEBRTC_MAX_PORT: 42999 }),
    startLivecueProcess({ ...shared, ROLE: 'api', NODE_ID: 'node-api' }),
  ]);
  // One that failed to start must not leave the others running.
  const failed = started.find((outcome) => outcome.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.stop() : undefined)));
    throw failed.reason;
  }
  [ingest, edge, api] = started.map((outcome) => (outcome as PromiseFulfilledResult<LivecueProcess>).value) as [LivecueProcess, LivecueProcess, LivecueProcess];
}, 120_000);

afterAll(async () => {
  for (const viewer of viewers) await viewer.close().catch(() => {});
  for (const encoder of encoders) encoder.stop();
  await Promise.all([ingest?.stop(), edge?.stop(), api?.stop()]);
  await database?.drop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function call(node: LivecueProcess, method: string, urlPath: string, body?: unknown) {
  const response = await fetch(`${node.baseUrl}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const metric = async (node: LivecueProcess, name: string) => {
  const text = await (await fetch(`${node.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};

/** A WHEP viewer with the cue channel, once the node has the show to give (404 until then). */
async function watch(node: LivecueProcess, playbackId: string): Promise<{ viewer: WeriftViewer; location: string }> {
  return waitFor(
    `a WHEP session on ${node.baseUrl}`,
    async () => {
      const viewer = new WeriftViewer();
      viewer.openCueChannel();
      const result = await postSdp(`${node.baseUrl}/whep/${playbackId}`, await viewer.offer());
      if (result.status !== 201) {
        await viewer.close();
        return undefined;
      }
      await viewer.accept(result.answer);
      viewers.push(viewer);
      return { viewer, location: result.location! };
    },
    30_000,
    500,
  );
}

describe('livecue across processes', () => {
  it("serves an RTMP show's Low-Latency HLS from an api node that does not hold it: parts relayed over Redis, blocking reloads answered from memory", async () => {
    const created = await call(api, 'POST', '/v1/streams', { title: 'cluster LL-HLS show' });
    const stream = created.body as { id: string; playbackId: string; ingest: { streamKey: string } };
    // OBS's defaults: x264 veryfast (profile High), 2 s keyframes, AAC 48 kHz.
    encoders.push(
      pushRtmp(`rtmp://127.0.0.1:${rtmpPort}/live/${stream.ingest.streamKey}`, { seconds: 60, size: '640x360', gopSeconds: 2, x264: { preset: 'veryfast' } }),
    );
    const playlistPath = `/hls/${stream.playbackId}/360p/index.m3u8`;
    const partsOf = (text: string) => [...text.matchAll(/#EXT-X-PART:.*URI="([^"]+)"/g)].map((match) => match[1]!);
    const segmentsOf = (text: string) => text.split('\n').filter((line) => line.endsWith('.m4s'));
    await waitFor(
      'a whole LL-HLS segment at the origin',
      async () => segmentsOf(await (await fetch(`${ingest.baseUrl}${playlistPath}`)).text()).length > 0,
      30_000,
    );

    // The api node's very first answer is already Low-Latency: it mirrors the show from the snapshot the origin sends it.
    const firstAnswer = await fetch(`${api.baseUrl}${playlistPath}`);
    expect(firstAnswer.status).toBe(200);
    const mirrored = await firstAnswer.text();
    expect(partsOf(mirrored).length).toBeGreaterThan(0);
    expect(segmentsOf(mirrored).length).toBeGreaterThan(0);
    expect(mirrored).toContain('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES');
    expect(mirrored).toMatch(/#EXT-X-MAP:URI="[^"]+\.mp4"/);

    // A blocking reload for the part after the newest is held until that part exists, then lists it.
    const mediaSequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(mirrored)![1]);
    const lines = mirrored.split('\n');
    let msn = mediaSequence;
    let part = -1;
    for (const line of lines) {
      if (line.startsWith('#EXT-X-PART:')) part++;
      else if (line && !line.startsWith('#')) {
        msn++;
        part = -1;
      }
    }
    const held = await fetch(`${api.baseUrl}${playlistPath}?_HLS_msn=${msn}&_HLS_part=${part + 1}`);
    expect(held.status).toBe(200);
    const answer = await held.text();
    const newest = partsOf(answer).at(-1)!;
    expect(partsOf(mirrored)).not.toContain(newest);

    // The part's bytes on the api node are the origin's, byte for byte; a whole segment from its memory decodes behind its init.
    const bytesOf = async (node: LivecueProcess, name: string) =>
      Buffer.from(await (await fetch(`${node.baseUrl}/hls/${stream.playbackId}/360p/${name}`)).arrayBuffer());
    const fromApi = await bytesOf(api, newest);
    expect(fromApi.length).toBeGreaterThan(100);
    expect(fromApi.equals(await bytesOf(ingest, newest))).toBe(true);
    const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(answer)![1]!;
    const segment = lines.filter((line) => line && !line.startsWith('#')).at(-1)!;
    const file = path.join(scratch, 'relayed-segment.mp4');
    await writeFile(file, Buffer.concat([await bytesOf(api, init), await bytesOf(api, segment)]));
    const decoded = await decodeVideo(file);
    expect(decoded).toMatchObject({ width: 640, height: 360 });
    expect(decoded.frames).toBeGreaterThan(30);

    // An msn beyond the next two segments is refused there too.
    expect((await fetch(`${api.baseUrl}${playlistPath}?_HLS_msn=${msn + 10}`)).status).toBe(400);
    await call(api, 'DELETE', `/v1/streams/${stream.id}`);
  }, 120_000);

  it('serves an RTMP show from its ingest node to WebRTC viewers of another node, forwards cues from an api node, and drains', async () => {
    const created = await call(api, 'POST', '/v1/streams', { title: 'cluster show' });
    expect(created.status).toBe(201);
    const stream = created.body as { id: string; playbackId: string; ingest: { streamKey: string } };
    encoders.push(pushRtmp(`rtmp://127.0.0.1:${rtmpPort}/live/${stream.ingest.streamKey}`, { seconds: 60, size: '640x360' }));

    // The sfu node hosts nothing: it pipes the show from the ingest node and serves it.
    const { viewer, location } = await watch(edge, stream.playbackId);
    await waitFor('video through the relay', () => viewer.video.keyframes > 0 && viewer.videoPackets > 400, 20_000);
    expect(viewer.audioPackets).toBeGreaterThan(20);
    const file = path.join(scratch, 'edge.h264');
    await viewer.video.save(file);
    expect(await decodeVideoFrames(file)).toBeGreaterThan(20);
    await waitFor(
      'relay gauges',
      async () => (await metric(edge, 'livecue_edge_relays')) === 1 && (await metric(ingest, 'livecue_origin_relays')) === 1,
      10_000,
    );

    // A second viewer on the same edge shares the relay (one pipe per show and edge).
    const second = await watch(edge, stream.playbackId);
    await waitFor('video for the second edge viewer', () => second.viewer.videoPackets > 30, 15_000);
    expect(await metric(edge, 'livecue_edge_relays')).toBe(1);

    // Roles: the sfu node takes no encoders, the api node no WebRTC.
    const whipOnEdge = await postSdp(`${edge.baseUrl}/whip/${stream.id}`, 'v=0', { authorization: `Bearer ${stream.ingest.streamKey}` });
    expect(whipOnEdge.status).toBe(503);
    const whepOnApi = await postSdp(`${api.baseUrl}/whep/${stream.playbackId}`, await new WeriftViewer().offer());
    expect(whepOnApi.status).toBe(503);

    // A cue sent to the api node lands on the show's timeline at its origin and reaches the edge's viewers.
    const product = await call(api, 'POST', '/v1/products', { sku: 'CL-1', title: 'Cluster mug', price: 12, currency: 'EUR' });
    expect(product.status).toBe(201);
    const cue = await call(api, 'POST', `/v1/streams/${stream.id}/cues`, { type: 'product.pin', productId: product.body.id });
    expect(cue.status).toBe(201);
    expect(cue.body.mediaTime).toBeGreaterThan(0);
    await waitFor("the cue on the edge viewer's data channel", () => viewer.messages.some((message) => JSON.parse(message.text).id === cue.body.id), 10_000);
    const listed = await call(ingest, 'GET', `/v1/streams/${stream.id}/cues`);
    expect(listed.body.cues.map((c: { id: string }) => c.id)).toContain(cue.body.id);

    // The api node (what the console talks to) shows the show's live session, held by the ingest node.
    const onApi = await call(api, 'GET', `/v1/streams/${stream.id}`);
    expect(onApi.body).toMatchObject({ status: 'live', session: { encoderConnected: true, nodeId: 'node-ingest', renditions: [{ name: '360p' }] } });
    expect(onApi.body.session.id).toBe((await call(ingest, 'GET', `/v1/streams/${stream.id}`)).body.session.id);
    const listedOnApi = await call(api, 'GET', '/v1/streams');
    expect(listedOnApi.body.streams.find((entry: { id: string }) => entry.id === stream.id).session.nodeId).toBe('node-ingest');

    // Drain the edge: it stops being ready, tells its viewers to move, and exits once they have.
    process.kill(edge.pid, 'SIGTERM');
    await waitFor('the reconnect notice', () => viewer.messages.some((message) => JSON.parse(message.text).control === 'reconnect'), 10_000);
    const ready = await fetch(`${edge.baseUrl}/healthz/ready`);
    expect(ready.status).toBe(503);
    expect((await ready.json()).status).toBe('draining');
    const refused = await postSdp(`${edge.baseUrl}/whep/${stream.playbackId}`, await new WeriftViewer().offer());
    expect(refused.status).toBe(503);
    // The viewers move (here, to the origin node) and leave the draining one.
    const moved = await watch(ingest, stream.playbackId);
    await waitFor('video after the move', () => moved.viewer.videoPackets > 30, 15_000);
    expect((await fetch(`${edge.baseUrl}${location}`, { method: 'DELETE' })).status).toBe(200);
    // Behind a load balancer a DELETE may reach another node: it is passed to the node holding the session.
    expect((await fetch(`${api.baseUrl}${second.location}`, { method: 'DELETE' })).status).toBe(200);
    expect((await fetch(`${ingest.baseUrl}${second.location}`, { method: 'DELETE' })).status).toBe(404);
    const startedWaiting = Date.now();
    expect(await edge.exited).toBe(0);
    // It left as soon as its viewers had, well before DRAIN_SECONDS (30 s).
    expect(Date.now() - startedWaiting).toBeLessThan(20_000);
    await waitFor('the origin closed the relay', async () => (await metric(ingest, 'livecue_origin_relays')) === 0, 10_000);
  }, 180_000);
});

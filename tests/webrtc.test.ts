// Sub-second viewing: RTMP and WHIP shows reach WHEP viewers through the mediasoup SFU (real worker,
// real WebRTC peers), WHIP shows reach the HLS ladder, and bad offers are refused cleanly.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startTestNode, type TestNode, waitFor, waitForText } from './helpers/harness.ts';
import { decodeVideoFrames, pushRtmp } from './helpers/media.ts';
import { postSdp, WeriftViewer } from './helpers/webrtc.ts';
import { WrtcPublisher, WrtcViewer } from './helpers/wrtc-peers.ts';

let node: TestNode;
let scratch: string;

beforeAll(async () => {
  // ICE_TIMEOUT_SECONDS well under the default (15 s), yet not so short that a publisher whose ICE and DTLS take a
  // few seconds on a busy machine is closed as "never connected" (3 s did that under a full run).
  node = await startTestNode({ RECONNECT_WINDOW_SECONDS: 2, ICE_TIMEOUT_SECONDS: 8, VIEWERS_PER_ROUTER: 2, SFU_WORKERS: 2 });
  scratch = await mkdtemp(path.join(tmpdir(), 'livecue-webrtc-'));
});

afterAll(async () => {
  await node?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function createStream(title = 'show') {
  const { status, body } = await node.api('POST', '/v1/streams', { title });
  expect(status).toBe(201);
  return body as {
    id: string;
    playbackId: string;
    ingest: { rtmpUrl: string; streamKey: string; whipUrl: string };
    playback: { hlsUrl: string; whepUrl: string };
  };
}

describe('WHEP playback of an RTMP show', () => {
  it('delivers decodable H.264 and Opus to a WebRTC viewer, and DELETE tears the viewer down', async () => {
    const stream = await createStream();
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 10 });
    const session = await waitFor('live session', () => node.lc.registry.get(stream.id), 10_000);
    await waitFor('sfu producers', () => session.room.producer('video'), 10_000);

    const viewer = new WeriftViewer();
    const offer = await viewer.offer();
    const started = Date.now();
    const result = await postSdp(stream.playback.whepUrl, offer);
    expect(result.status).toBe(201);
    expect(result.location).toMatch(new RegExp(`^/whep/${stream.playbackId}/sessions/`));
    expect(result.answer).toContain('a=ice-lite');
    await viewer.accept(result.answer);
    await waitFor('video packets', () => viewer.video.keyframes > 0 && viewer.videoPackets > 100, 15_000);
    await sleep(2000);
    expect(viewer.audioPackets).toBeGreaterThan(50);
    expect(viewer.firstVideoAt! - started).toBeLessThan(5000);
    const file = path.join(scratch, 'rtmp-whep.h264');
    await viewer.video.save(file);
    // About two seconds of 30 fps video decode without error.
    expect(await decodeVideoFrames(file)).toBeGreaterThan(40);

    const metrics = await (await fetch(`${node.baseUrl}/metrics`)).text();
    expect(metrics).toContain(`livecue_whep_viewers{stream_id="${stream.id}"} 1`);
    const deleted = await fetch(`${node.baseUrl}${result.location}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(session.room.viewerCount).toBe(0);
    expect((await fetch(`${node.baseUrl}${result.location}`, { method: 'DELETE' })).status).toBe(404);
    await viewer.close();
    push.stop();
  });
});

describe('WHIP ingest', () => {
  it('publishes from a WebRTC peer: a WHEP viewer decodes its video, the HLS ladder is built, DELETE ends it', async () => {
    const stream = await createStream('whip show');
    const publisher = new WrtcPublisher(640, 360);
    const offer = await publisher.offer();
    const published = await postSdp(stream.ingest.whipUrl, offer, { authorization: `Bearer ${stream.ingest.streamKey}` });
    expect(published.status).toBe(201);
    expect(published.location).toMatch(new RegExp(`^/whip/${stream.id}/sessions/`));
    await publisher.accept(published.answer);
    await waitFor('publisher connected', () => publisher.connectionState === 'connected', 10_000);
    const session = await waitFor('live session', () => node.lc.registry.get(stream.id), 5000);
    expect(session.protocol).toBe('whip');
    expect((await node.api('GET', `/v1/streams/${stream.id}`)).body.status).toBe('live');

    const viewer = new WrtcViewer();
    const watched = await postSdp(stream.playback.whepUrl, await viewer.offer());
    expect(watched.status).toBe(201);
    const started = Date.now();
    await viewer.accept(watched.answer);
    await waitFor('decoded frames', () => viewer.framesDecoded > 30, 15_000);
    expect(viewer.lastFrameSize).toEqual({ width: 640, height: 360 });
    expect(viewer.audioTracks).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);

    // The same show reaches HLS through the SFU -> FFmpeg bridge. On a busy machine FFmpeg's pull of the RTP may
    // stall at its start and be restarted by the transcoder's watchdog (10 s): the wait allows for that.
    expect(session.connected).toBe(true);
    const master = await waitForText('master playlist', stream.playback.hlsUrl, 30_000);
    expect(master).toContain('RESOLUTION=640x360');
    await sleep(2500);
    viewer.close();

    const ended = await fetch(`${node.baseUrl}${published.location}`, { method: 'DELETE' });
    expect(ended.status).toBe(200);
    publisher.close();
    await waitFor('stream ended', async () => (await node.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);
    expect(await decodeVideoFrames(stream.playback.hlsUrl.replace('master.m3u8', '360p/index.m3u8'))).toBeGreaterThan(30);
  });

  it('refuses bad keys, bad SDP and a second publisher with clear errors, creating nothing', async () => {
    const stream = await createStream('refusals');
    const publisher = new WrtcPublisher();
    const offer = await publisher.offer();
    const post = (body: string, headers: Record<string, string>) =>
      fetch(stream.ingest.whipUrl, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body });
    const key = { authorization: `Bearer ${stream.ingest.streamKey}` };

    const noKey = await post(offer, {});
    expect(noKey.status).toBe(401);
    expect(noKey.headers.get('content-type')).toContain('application/problem+json');
    expect((await post(offer, { authorization: `Bearer lck_${'y'.repeat(32)}` })).status).toBe(401);
    const other = await createStream('other');
    expect((await post(offer, { authorization: `Bearer ${other.ingest.streamKey}` })).status).toBe(401);

    const garbage = await post('hello, not sdp', key);
    expect(garbage.status).toBe(400);
    expect((await garbage.json()).detail).toMatch(/SDP/i);
    expect((await post(offer.replace(/a=ice-ufrag:.*\r?\n/g, ''), key)).status).toBe(400);
    expect((await post(offer.replace(/m=audio[\s\S]*/, '').replace(/m=video[\s\S]*/, ''), key)).status).toBe(400);
    const onlyH265 = offer
      .replace(/VP8\/90000/g, 'H265/90000')
      .replace(/VP9\/90000/g, 'H265/90000')
      .replace(/H264\/90000/g, 'H265/90000')
      .replace(/AV1\/90000/g, 'H265/90000')
      .replace(/opus\/48000\/2/g, 'PCMU/8000');
    expect((await post(onlyH265, key)).status).toBe(406);
    expect((await post('v=0\r\n' + 'a=x\r\n'.repeat(40_000), key)).status).toBe(413);
    expect((await fetch(stream.ingest.whipUrl, { method: 'POST', headers: { ...key, 'content-type': 'text/plain' }, body: offer })).status).toBe(415);
    expect(node.lc.registry.get(stream.id)).toBeUndefined();
    expect((await node.api('GET', `/v1/streams/${stream.id}`)).body.status).toBe('idle');

    // WHEP of a stream that is not live.
    const viewer = new WeriftViewer();
    expect((await postSdp(stream.playback.whepUrl, await viewer.offer())).status).toBe(404);
    await viewer.close();
    expect((await postSdp(`${node.baseUrl}/whep/nosuchplaybackid`, 'v=0')).status).toBe(400);

    const accepted = await post(offer, key);
    expect(accepted.status).toBe(201);
    const second = new WrtcPublisher();
    const conflict = await post(await second.offer(), key);
    expect(conflict.status).toBe(409);
    second.close();
    // An offer whose ICE never connects is closed after ICE_TIMEOUT_SECONDS, and with it the publish.
    publisher.close();
    await waitFor('abandoned session closed', () => node.lc.registry.get(stream.id)?.connected === false, 20_000);
  });
});

describe('SFU resilience and scale-out', () => {
  it('spreads viewers over more routers and recovers when a mediasoup worker dies', async () => {
    const stream = await createStream('resilience');
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 25, size: '640x360' });
    const session = await waitFor('live session', () => node.lc.registry.get(stream.id), 10_000);
    const firstProducer = await waitFor('sfu producers', () => session.room.producer('video'), 10_000);

    // Three viewers join at the same moment: they must share pipes and fill routers in order.
    const viewers = await Promise.all(
      [0, 1, 2].map(async () => {
        const viewer = new WeriftViewer();
        const result = await postSdp(stream.playback.whepUrl, await viewer.offer());
        expect(result.status).toBe(201);
        await viewer.accept(result.answer);
        return viewer;
      }),
    );
    await waitFor('all viewers receive video', () => viewers.every((viewer) => viewer.videoPackets > 50), 15_000);
    // VIEWERS_PER_ROUTER is 2 here: three werift viewers (one payload-type layout) need two viewer routers.
    expect(session.room.viewerCount).toBe(3);
    expect(session.room.routerCount).toBe(3);

    const workersBefore = node.lc.sfu!.workers.map((worker) => worker.pid);
    const victim = session.room.originWorkerPid;
    process.kill(victim, 'SIGKILL');
    await waitFor('worker replaced', () => node.lc.sfu!.workers.length === workersBefore.length && !node.lc.sfu!.workers.some((w) => w.pid === victim), 10_000);
    const replacement = await waitFor(
      'producers re-created',
      () => {
        const producer = session.room.producer('video');
        return producer && producer.id !== firstProducer.id ? producer : undefined;
      },
      15_000,
    );
    expect(replacement.closed).toBe(false);
    expect(session.room.originWorkerPid).not.toBe(victim);

    // The show goes on: a viewer joining now receives decodable video, HLS keeps going.
    const late = new WeriftViewer();
    const result = await postSdp(stream.playback.whepUrl, await late.offer());
    expect(result.status).toBe(201);
    await late.accept(result.answer);
    await waitFor('late viewer video', () => late.video.keyframes > 0 && late.videoPackets > 100, 15_000);
    await sleep(1500);
    const file = path.join(scratch, 'after-worker-death.h264');
    await late.video.save(file);
    expect(await decodeVideoFrames(file)).toBeGreaterThan(20);
    expect(session.connected).toBe(true);
    const metrics = await (await fetch(`${node.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^livecue_sfu_worker_deaths_total 1$/m);
    for (const viewer of [...viewers, late]) await viewer.close();
    push.stop();
  });
});

describe('teardown', () => {
  it('leaves no router, transport or FFmpeg behind once every show has ended', async () => {
    await waitFor('all shows ended', () => node.lc.registry.size === 0, 40_000);
    for (const worker of node.lc.sfu!.workers) {
      const dump = await worker.dump();
      expect(dump.routerIds).toEqual([]);
    }
    // Recording jobs run FFmpeg briefly after a show (thumbnails, MP4); once they are done, none is left.
    const { execFileSync } = await import('node:child_process');
    const children = () => execFileSync('ps', ['-o', 'comm=', '--ppid', String(process.pid)]).toString();
    await waitFor('no FFmpeg child left', () => !children().includes('ffmpeg'), 60_000);
  });
});

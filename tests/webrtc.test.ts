// Sub-second viewing: RTMP and WHIP shows reach WHEP viewers through the mediasoup SFU (real worker,
// real WebRTC peers), WHIP shows reach the HLS ladder, and bad offers are refused cleanly.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { decodeVideoFrames, pushRtmp } from './helpers/media.ts';
import { postSdp, WeriftViewer } from './helpers/webrtc.ts';

let node: TestNode;
let scratch: string;

beforeAll(async () => {
  node = await startTestNode({ RECONNECT_WINDOW_SECONDS: 2, ICE_TIMEOUT_SECONDS: 3 });
  scratch = await mkdtemp(path.join(tmpdir(), 'livecue-webrtc-'));
});

afterAll(async () => {
  await node?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function createStream(title = 'show') {
  const { status, body } = await node.api('POST', '/v1/streams', { title });
  expect(status).toBe(201);
  return body as { id: string; playbackId: string; ingest: { rtmpUrl: string; streamKey: string; whipUrl: string }; playback: { hlsUrl: string; whepUrl: string } };
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

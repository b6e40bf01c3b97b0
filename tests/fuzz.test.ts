// Hostile input for a bounded time: random and mutated bytes on the RTMP port, random and mutated SDP
// at the WHIP/WHEP endpoints and the parser. Nothing crashes, nothing answers 500, and the show that
// was live throughout is still whole afterwards.
import { connect } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOffer, SdpError } from '../src/sfu/sdp.ts';
import { startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { decodeVideoFrames, pushRtmp } from './helpers/media.ts';
import { WrtcPublisher } from './helpers/wrtc-peers.ts';

const FUZZ_SECONDS = Number(process.env.LIVECUE_FUZZ_SECONDS ?? 6);
let node: TestNode;
let seed = 0x5eed;
/** A seeded generator, so a failure can be replayed. */
const random = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const randomInt = (n: number) => Math.floor(random() * n);
const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => randomInt(256)));

function mutate(input: Buffer): Buffer {
  const out = Buffer.from(input);
  const edits = 1 + randomInt(8);
  for (let i = 0; i < edits; i++) {
    const at = randomInt(out.length);
    switch (randomInt(4)) {
      case 0:
        out[at] = randomInt(256);
        break;
      case 1:
        out[at] = out[at]! ^ (1 << randomInt(8));
        break;
      case 2:
        out.fill(0xff, at, Math.min(out.length, at + randomInt(16)));
        break;
      default:
        out.copy(out, at, randomInt(out.length), randomInt(out.length));
    }
  }
  return out;
}

beforeAll(async () => {
  node = await startTestNode({ RECONNECT_WINDOW_SECONDS: 2, ICE_TIMEOUT_SECONDS: 2 });
});

afterAll(async () => {
  await node?.stop();
});

describe('fuzzing', () => {
  it('the SDP parser only ever answers with an SdpError or an offer', async () => {
    const require = createRequire(import.meta.url);
    const wrtc = require('@roamhq/wrtc');
    const pc = new wrtc.RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'sendonly' });
    pc.addTransceiver('audio', { direction: 'sendonly' });
    pc.createDataChannel('x');
    const offer = Buffer.from((await pc.createOffer()).sdp as string);
    pc.close();
    const deadline = Date.now() + FUZZ_SECONDS * 500;
    let cases = 0;
    while (Date.now() < deadline) {
      const input = random() < 0.8 ? mutate(offer).toString('latin1') : randomBytes(randomInt(4000)).toString('latin1');
      try {
        parseOffer(input, { maxBytes: 64 * 1024 });
      } catch (error) {
        if (!(error instanceof SdpError))
          throw new Error(`parser threw ${(error as Error).name}: ${(error as Error).message} for input ${JSON.stringify(input.slice(0, 200))}`);
        expect([400, 406, 413, 415]).toContain(error.status);
      }
      cases++;
    }
    expect(cases).toBeGreaterThan(100);
  });

  it('garbage on the RTMP port and at WHIP/WHEP leaves a live show untouched', async () => {
    const { body: stream } = await node.api('POST', '/v1/streams', { title: 'under fire' });
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: FUZZ_SECONDS + 6 });
    const session = await waitFor('live', () => node.lc.registry.get(stream.id), 10_000);
    const publisher = new WrtcPublisher();
    const offer = Buffer.from(await publisher.offer());
    publisher.close();

    // A valid RTMP handshake start, to mutate past the first bytes.
    const rtmpStart = Buffer.concat([Buffer.from([3]), Buffer.alloc(1536, 0)]);
    const deadline = Date.now() + FUZZ_SECONDS * 1000;
    const statuses = new Map<number, number>();
    let connections = 0;
    while (Date.now() < deadline) {
      const batch: Promise<unknown>[] = [];
      for (let i = 0; i < 8; i++) {
        batch.push(
          new Promise<void>((resolve) => {
            const socket = connect(node.lc.rtmpPort, '127.0.0.1');
            socket.on('error', () => resolve());
            socket.on('close', () => resolve());
            socket.on('connect', () => {
              connections++;
              socket.write(random() < 0.5 ? mutate(rtmpStart) : randomBytes(1 + randomInt(3000)));
              setTimeout(() => socket.destroy(), randomInt(200));
            });
          }),
        );
        const body = mutate(offer);
        const target = random() < 0.5 ? stream.ingest.whipUrl : stream.playback.whepUrl;
        batch.push(
          fetch(target, {
            method: 'POST',
            headers: { 'content-type': 'application/sdp', authorization: `Bearer ${stream.ingest.streamKey}` },
            body: new Uint8Array(body),
          })
            .then(async (response) => {
              statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
              await response.arrayBuffer();
            })
            .catch(() => {}),
        );
      }
      await Promise.all(batch);
    }
    expect(connections).toBeGreaterThan(20);
    expect(statuses.has(500)).toBe(false);
    expect(await push.exited).toBe(0);
    await waitFor('ended', async () => (await node.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);
    // The RTMP show ran through the storm without a single restart or gap.
    expect(session.reconnects).toBe(0);
    expect(session.transcoder.restarts).toBe(0);
    expect(session.timeline.duration).toBeGreaterThan(FUZZ_SECONDS + 3);
    expect(await decodeVideoFrames(stream.playback.hlsUrl.replace('master.m3u8', '360p/index.m3u8'))).toBeGreaterThan(150);
    // And livecue still takes new work.
    expect((await node.api('GET', '/v1/streams')).status).toBe(200);
  });
});

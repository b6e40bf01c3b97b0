// The standing abuse suite, the bounds: where livecue may send data (webhooks, restreams), who reads
// /metrics, how many cues a show holds and how far ahead, how long poll keys live, how many viewer routers
// unauthenticated WHEP offers can make a show feed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { startTestNode, waitFor, type TestNode } from '../helpers/harness.ts';
import { pushRtmp, type Encoder } from '../helpers/media.ts';
import { postSdp, WeriftViewer } from '../helpers/webrtc.ts';

const METRICS_TOKEN = 'metrics-token-for-the-abuse-suite';
let node: TestNode;
let push: Encoder;
let stream: any;

beforeAll(async () => {
  node = await startTestNode({
    ALLOW_PRIVATE_DESTINATIONS: false,
    METRICS_TOKEN,
    MAX_CUES_PER_SHOW: 10,
    ICE_TIMEOUT_SECONDS: 2,
    SIGNALING_RATE_PER_SECOND: 1000,
    SFU_WORKERS: 1,
  });
  stream = (await node.api('POST', '/v1/streams', { title: 'bounded' })).body;
  push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 120, size: '640x360' });
  const session = await waitFor('live', () => node.lc.registry.get(stream.id), 15_000);
  await waitFor('producers', () => session.room.producer('video'), 15_000);
});

afterAll(async () => {
  push?.stop();
  await node?.stop();
});

describe('bounds', () => {
  it('sends webhooks and restreams only to public addresses (ALLOW_PRIVATE_DESTINATIONS=false)', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://127.0.0.1:6379/',
      'http://[::1]:8080/',
      'http://10.0.0.7/hook',
      'http://localhost:9000/',
      'http://redis:6379/',
      'http://0.0.0.0/',
    ]) {
      const answer = await node.api('POST', '/v1/webhooks', { url });
      expect(answer.status, url).toBe(400);
      expect(answer.body.detail, url).toMatch(/ALLOW_PRIVATE_DESTINATIONS/);
    }
    expect((await node.api('POST', '/v1/webhooks', { url: 'https://hooks.example.com/livecue' })).status).toBe(201);
    for (const url of ['rtmp://127.0.0.1:1935/live', 'rtmp://192.168.1.10/live', 'rtmps://169.254.169.254:443/app']) {
      expect((await node.api('POST', `/v1/streams/${stream.id}/restreams`, { url, streamKey: 'k' })).status, url).toBe(400);
    }
    expect(
      (await node.api('POST', `/v1/streams/${stream.id}/restreams`, { url: 'rtmp://a.rtmp.youtube.com/live2', streamKey: 'k', enabled: false })).status,
    ).toBe(201);
  });

  it('serves /metrics with METRICS_TOKEN (or the admin token) only', async () => {
    expect((await fetch(`${node.baseUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${node.baseUrl}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${node.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${node.baseUrl}/metrics`, { headers: { authorization: `Bearer ${node.lc.adminToken}` } })).status).toBe(200);
  });

  it('without METRICS_TOKEN, answers /metrics to local scrapers but not to a client that came through a proxy', async () => {
    const open = await startTestNode({ SFU_WORKERS: 1 });
    try {
      expect((await fetch(`${open.baseUrl}/metrics`)).status).toBe(200);
      expect((await fetch(`${open.baseUrl}/metrics`, { headers: { 'x-forwarded-for': '198.51.100.4' } })).status).toBe(401);
    } finally {
      await open.stop();
    }
  });

  it('refuses the example secrets', () => {
    expect(() => parseConfig({ LIVECUE_ADMIN_TOKEN: 'CHANGE_ME' })).toThrow(/LIVECUE_ADMIN_TOKEN: is still the example placeholder/);
    expect(() => parseConfig({ LIVECUE_SECRET_KEY: 'CHANGE_ME_openssl_rand_base64_32' })).toThrow(/example placeholder/);
  });

  it('bounds the cues of a show and how far ahead of the live edge one may be placed', async () => {
    const far = await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'announcement', text: 'next week', at: { mediaTime: 100_000 } });
    expect(far.status).toBe(400);
    expect(far.body.detail).toMatch(/ahead of the live edge/);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'announcement', text: `note ${i}` })).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(201));
    expect(statuses.slice(10)).toEqual([409, 409]);
  });

  it('keeps poll votes in keys that expire', async () => {
    const prefix = node.lc.config.REDIS_KEY_PREFIX;
    const other = await node.api('POST', '/v1/streams', { title: 'poll keys' });
    const encoder = pushRtmp(`${other.body.ingest.rtmpUrl}/${other.body.ingest.streamKey}`, { seconds: 30, size: '320x180' });
    try {
      await waitFor('live', () => node.lc.registry.get(other.body.id), 15_000);
      expect(
        (await node.api('POST', `/v1/streams/${other.body.id}/cues`, { type: 'poll.open', pollId: 'expiring', question: 'Q?', options: ['a', 'b'] })).status,
      ).toBe(201);
      const { newViewer } = await import('../helpers/harness.ts');
      const viewer = await newViewer(node);
      const { default: WebSocket } = await import('ws');
      const socket = new WebSocket(`ws://127.0.0.1:${node.lc.httpPort}/live/${other.body.playbackId}/events?viewerToken=${viewer.token}`);
      await new Promise((resolve) => socket.once('open', resolve));
      socket.send(JSON.stringify({ type: 'vote', pollId: 'expiring', option: 1 }));
      await waitFor('vote stored', async () => (await node.lc.redis.hget('poll:expiring:voters', viewer.id)) === '1' || undefined, 5000);
      for (const key of ['poll:expiring:voters', 'poll:expiring:tally', 'poll:expiring:open'])
        expect(await node.lc.redis.ttl(key), `${prefix}:${key}`).toBeGreaterThan(0);
      socket.close();
    } finally {
      encoder.stop();
    }
  });

  it('takes no claim on an offer placed ahead in the show before its moment plays', async () => {
    const show = (await node.api('POST', '/v1/streams', { title: 'future offer' })).body;
    const encoder = pushRtmp(`${show.ingest.rtmpUrl}/${show.ingest.streamKey}`, { seconds: 60, size: '320x180' });
    try {
      const session = await waitFor('live', () => node.lc.registry.get(show.id), 15_000);
      await waitFor('media', () => session.timeline.duration > 1 || undefined, 15_000);
      const product = (await node.api('POST', '/v1/products', { sku: 'LATER-1', title: 'Later', price: 9, currency: 'EUR' })).body;
      const at = { mediaTime: session.now().mediaTime + 30 };
      const offer = (
        await node.api('POST', `/v1/streams/${show.id}/cues`, {
          type: 'offer.start',
          productId: product.id,
          code: 'SOON',
          quantity: 3,
          durationSeconds: 120,
          at,
        })
      ).body;
      const { newViewer } = await import('../helpers/harness.ts');
      const viewer = await newViewer(node);
      const early = await fetch(`${node.baseUrl}/v1/offers/${offer.id}/claims`, { method: 'POST', headers: { authorization: `Bearer ${viewer.token}` } });
      expect(early.status).toBe(409);
      expect(Number(early.headers.get('retry-after'))).toBeGreaterThan(20);
      expect((await early.json()).reason).toBe('not_started');
      // An offer for now opens at once.
      const now = (
        await node.api('POST', `/v1/streams/${show.id}/cues`, { type: 'offer.start', productId: product.id, code: 'NOW', quantity: 3, durationSeconds: 120 })
      ).body;
      expect((await fetch(`${node.baseUrl}/v1/offers/${now.id}/claims`, { method: 'POST', headers: { authorization: `Bearer ${viewer.token}` } })).status).toBe(
        201,
      );
    } finally {
      encoder.stop();
    }
  });

  it('caps the codec layouts unauthenticated WHEP offers make a show feed, and closes viewer routers left empty', async () => {
    const room = node.lc.registry.get(stream.id)!.room;
    const base = await new WeriftViewer().offer();
    // Each offer with its Opus payload type moved is a new layout: a viewer router of its own.
    const layout = (opusPt: number) => base.replace(/^(m=audio \d+ [\w/]+) 96$/m, `$1 ${opusPt}`).replace(/^a=(rtpmap|fmtp|rtcp-fb):96\b/gm, `a=$1:${opusPt}`);
    const shifted = (step: number) => layout(102 + step);
    const answers: number[] = [];
    for (let step = 0; step < 10; step++) answers.push((await postSdp(stream.playback.whepUrl, shifted(step))).status);
    expect(answers.slice(0, 8), JSON.stringify(answers)).toEqual(Array(8).fill(201));
    expect(answers.slice(8)).toEqual([503, 503]);
    expect(room.routerCount).toBe(9); // the origin and eight viewer routers
    // Nobody connects: the transports close after ICE_TIMEOUT_SECONDS, their routers once they have stayed empty.
    await waitFor('empty viewer routers closed', () => room.routerCount === 1 || undefined, 30_000);
    expect((await postSdp(stream.playback.whepUrl, shifted(9))).status).toBe(201);
    // Payload types where mediasoup puts its retransmission codecs (100 and up): served, or refused with a reason
    // when the router cannot take them (it answered 500 once), never an error of the server's.
    for (const [video, vp8] of [
      [100, 101],
      [101, 100],
      [100, 102],
    ]) {
      const clash = base
        .replace(/^(m=video \d+ [\w/]+) 97 98$/m, `$1 ${video} ${vp8}`)
        .replace(/^a=(rtpmap|fmtp|rtcp-fb):97\b/gm, `a=$1:${video}`)
        .replace(/^a=(rtpmap|fmtp|rtcp-fb):98\b/gm, `a=$1:${vp8}`);
      const answer = await postSdp(stream.playback.whepUrl, clash);
      expect([201, 406], answer.answer.slice(0, 200)).toContain(answer.status);
    }
  });
});

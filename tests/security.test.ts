// Access control: scoped API tokens, private streams with signed playback tokens, rate limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestNode, type TestNode, waitFor, waitForText } from './helpers/harness.ts';
import { decodeVideoFrames, pushRtmp } from './helpers/media.ts';
import { postSdp, WeriftViewer } from './helpers/webrtc.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RECONNECT_WINDOW_SECONDS: 2, API_RATE_PER_SECOND: 40, SIGNALING_RATE_PER_SECOND: 2, WS_CONNECT_RATE_PER_SECOND: 3 });
});

afterAll(async () => {
  await node?.stop();
});

const as = (token: string) => ({ authorization: `Bearer ${token}` });

describe('scoped API tokens', () => {
  it('grant read, write or cues only, are shown once and can be revoked', async () => {
    const created = await node.api('POST', '/v1/tokens', { name: 'dashboard', scopes: ['read'] });
    expect(created.status).toBe(201);
    const readToken = created.body.token as string;
    expect(readToken).toMatch(/^lct_/);
    expect(JSON.stringify((await node.api('GET', '/v1/tokens')).body)).not.toContain(readToken);
    const cuesToken = (await node.api('POST', '/v1/tokens', { name: 'shop backend', scopes: ['cues'] })).body.token as string;

    expect((await node.api('GET', '/v1/streams', undefined, as(readToken))).status).toBe(200);
    const denied = await node.api('POST', '/v1/streams', { title: 'nope' }, as(readToken));
    expect(denied.status).toBe(403);
    expect(denied.body.detail).toContain('"write" scope');
    expect((await node.api('POST', '/v1/streams', { title: 'nope' }, as(cuesToken))).status).toBe(403);
    expect((await node.api('GET', '/v1/tokens', undefined, as(readToken))).status).toBe(403);

    const { body: stream } = await node.api('POST', '/v1/streams', { title: 'cue scope' });
    // The cues scope reaches the cue endpoints (409: the stream is not live), nothing else.
    expect((await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'announcement', text: 'hi' }, as(cuesToken))).status).toBe(409);
    expect((await node.api('GET', `/v1/streams/${stream.id}/cues`, undefined, as(cuesToken))).status).toBe(200);
    expect((await node.api('DELETE', `/v1/streams/${stream.id}`, undefined, as(cuesToken))).status).toBe(403);

    expect((await node.api('DELETE', `/v1/tokens/${created.body.id}`)).status).toBe(204);
    expect((await node.api('GET', '/v1/streams', undefined, as(readToken))).status).toBe(401);
    expect(node.logLines.join('')).not.toContain(readToken.slice(4));
  });
});

describe('private streams', () => {
  it('play only with a signed, unexpired playback token, over HLS, WHEP and the cue endpoints', async () => {
    const { body: stream } = await node.api('POST', '/v1/streams', { title: 'members only', private: true });
    expect(stream.private).toBe(true);
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 8 });
    const issued = await node.api('POST', `/v1/streams/${stream.id}/playback-tokens`, { expiresInSeconds: 600 });
    expect(issued.status).toBe(201);
    const { token, playback } = issued.body;
    expect(playback.hlsUrl).toContain(`/hls/${stream.playbackId}/t/${token}/master.m3u8`);
    expect(JSON.stringify(issued.body)).not.toContain(stream.ingest.streamKey);

    const master = await waitForText('tokened master', playback.hlsUrl, 20_000);
    expect(master).toContain('720p/index.m3u8');
    expect((await fetch(stream.playback.hlsUrl)).status).toBe(403);
    expect((await fetch(playback.hlsUrl.replace(token, `${token.split('.')[0]}.${'A'.repeat(43)}`))).status).toBe(403);
    const expired = (await node.api('POST', `/v1/streams/${stream.id}/playback-tokens`, { expiresInSeconds: 10 })).body;
    const tokened = await fetch(playback.hlsUrl);
    expect(tokened.headers.get('cache-control')).toContain('private');

    const viewer = new WeriftViewer();
    const offer = await viewer.offer();
    expect((await postSdp(stream.playback.whepUrl, offer)).status).toBe(403);
    const allowed = await postSdp(stream.playback.whepUrl, offer, as(token));
    expect(allowed.status).toBe(201);
    await viewer.close();
    // A player (reading until the show ends) follows the relative URLs under the token path: the whole rendition decodes.
    expect(await decodeVideoFrames(playback.hlsUrl.replace('master.m3u8', '360p/index.m3u8'))).toBeGreaterThan(20);

    expect((await fetch(`${node.baseUrl}/live/${stream.playbackId}/cues`)).status).toBe(403);
    expect((await fetch(`${node.baseUrl}/live/${stream.playbackId}/cues?token=${token}`)).status).toBe(200);
    const refused = new WebSocket(`ws://127.0.0.1:${node.lc.httpPort}/live/${stream.playbackId}/events`);
    const refusal = await new Promise<string>((resolve) => refused.on('error', (error) => resolve(error.message)));
    expect(refusal).toContain('403');

    // Expired tokens stop working.
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    expect((await fetch(expired.playback.hlsUrl)).status).toBe(403);
    await push.exited;
  });
});

describe('rate limits', () => {
  it('answer 429 with Retry-After past the per-address rate, on the API and on WHIP/WHEP', async () => {
    // Far past the burst (80) even if a loaded machine spreads the requests over several seconds.
    const results = await Promise.all(Array.from({ length: 400 }, () => node.api('GET', '/v1/products')));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited[0]!.body.detail).toContain('too many API requests');
    const whep = await Promise.all(Array.from({ length: 10 }, () => postSdp(`${node.baseUrl}/whep/abcdefghijkl`, 'v=0')));
    expect(whep.some((r) => r.status === 429)).toBe(true);
  });

  it("answer 429 past the per-address rate of viewers' WebSocket connections, and player reports too", async () => {
    // The test before emptied this address's API bucket: wait for it to refill.
    const stream = await waitFor(
      'a stream',
      async () => {
        const created = await node.api('POST', '/v1/streams', { title: 'socket flood' });
        return created.status === 201 ? created.body : undefined;
      },
      10_000,
      250,
    );
    const outcomes = await Promise.all(
      Array.from({ length: 15 }, () => {
        const socket = new WebSocket(`ws://127.0.0.1:${node.lc.httpPort}/live/${stream.playbackId}/events`);
        return new Promise<number>((resolve) => {
          socket.once('open', () => (socket.close(), resolve(101)));
          socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          socket.once('error', () => resolve(0));
        });
      }),
    );
    // A burst of twice the rate gets through; the rest are told to come back later.
    expect(outcomes.filter((status) => status === 101).length).toBeGreaterThanOrEqual(6);
    expect(outcomes.filter((status) => status === 429).length).toBeGreaterThan(0);
    const beats = await Promise.all(
      Array.from({ length: 120 }, () =>
        fetch(`${node.baseUrl}/live/${stream.playbackId}/beat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ viewerId: 'flooder-1', path: 'hls' }),
        }),
      ),
    );
    expect(beats.some((response) => response.status === 429)).toBe(true);
  });
});

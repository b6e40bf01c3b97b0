// Commerce cues on a live show's timeline: the API contract, and delivery in sync over HLS
// (EXT-X-DATERANGE), the WebRTC data channel and the WebSocket.
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { liveSessions, segments } from '../src/db/schema.ts';
import { createStream, sleep, startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { hlsJsMediaParser, type HlsJsLevelDetails } from './helpers/hls-parser.ts';
import { pushRtmp } from './helpers/media.ts';
import { WeriftViewer } from './helpers/webrtc.ts';

let node: TestNode;
let parseWithHlsJs: (playlist: string, url: string) => HlsJsLevelDetails;

beforeAll(async () => {
  node = await startTestNode({ RECONNECT_WINDOW_SECONDS: 3, CUE_RATE_PER_SECOND: 20 });
  parseWithHlsJs = await hlsJsMediaParser();
});

afterAll(async () => {
  await node?.stop();
});

async function createProduct(sku: string) {
  const { status, body } = await node.api('POST', '/v1/products', {
    sku,
    title: 'Linen shirt',
    price: 49.9,
    currency: 'EUR',
    imageUrl: 'https://shop.example.com/shirt.jpg',
    productUrl: 'https://shop.example.com/shirt',
    inventory: 120,
  });
  expect(status).toBe(201);
  return body as { id: string };
}

interface ParsedRange {
  id: string;
  startDate: string;
  attributes: Record<string, string>;
}

function dateRanges(playlist: string): ParsedRange[] {
  return playlist
    .split('\n')
    .filter((line) => line.startsWith('#EXT-X-DATERANGE:'))
    .map((line) => {
      const attributes: Record<string, string> = {};
      for (const match of line.slice('#EXT-X-DATERANGE:'.length).matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) {
        attributes[match[1]!] = match[2]!.replace(/^"|"$/g, '');
      }
      return { id: attributes.ID!, startDate: attributes['START-DATE']!, attributes };
    });
}

describe('products', () => {
  it('keeps a catalogue with validation', async () => {
    const product = await createProduct('SHIRT-1');
    expect((await node.api('GET', `/v1/products/${product.id}`)).body).toMatchObject({ sku: 'SHIRT-1', price: 49.9, currency: 'EUR', inventory: 120 });
    const patched = await node.api('PATCH', `/v1/products/${product.id}`, { price: 39.9, inventory: 100 });
    expect(patched.body).toMatchObject({ price: 39.9, inventory: 100, title: 'Linen shirt' });
    expect((await node.api('POST', '/v1/products', { sku: 'SHIRT-1', title: 'x', price: 1, currency: 'EUR' })).status).toBe(409);
    const bad = await node.api('POST', '/v1/products', { sku: 'X', title: 'x', price: -1, currency: 'euro' });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toMatch(/currency/);
    expect((await node.api('GET', '/v1/products')).body.products.length).toBeGreaterThanOrEqual(1);
    const extra = await createProduct('TMP-1');
    expect((await node.api('DELETE', `/v1/products/${extra.id}`)).status).toBe(204);
    expect((await node.api('GET', `/v1/products/${extra.id}`)).status).toBe(404);
  });
});

describe('cues', () => {
  it('places cues on the live timeline and delivers them in sync over HLS, the data channel and the WebSocket', async () => {
    const product = await createProduct('BAG-1');
    const stream = await createStream(node, 'cue show');
    expect((await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'product.pin', productId: product.id })).status).toBe(409);

    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 16 });
    const session = await waitFor('live session', () => node.lc.registry.get(stream.id), 10_000);
    await waitFor('master playlist', async () => (await fetch(stream.playback.hlsUrl)).ok || undefined, 20_000);

    // A WebRTC viewer with the cue data channel, and a WebSocket client.
    const viewer = new WeriftViewer();
    viewer.openCueChannel(0);
    const whep = await fetch(stream.playback.whepUrl, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: await viewer.offer() });
    expect(whep.status).toBe(201);
    expect(whep.headers.get('link')).toContain('stream-id=0');
    await viewer.accept(await whep.text());
    await waitFor('viewer video', () => viewer.videoPackets > 30, 10_000);
    const socketMessages: { data: any; at: number }[] = [];
    const socket = new WebSocket(`ws://127.0.0.1:${node.lc.httpPort}/live/${stream.playbackId}/events`);
    socket.on('message', (data) => socketMessages.push({ data: JSON.parse(data.toString()), at: Date.now() }));
    await waitFor('socket state', () => socketMessages.some((m) => m.data.type === 'state'), 5000);

    const before = session.now();
    const placed = await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'product.pin', productId: product.id }, { 'idempotency-key': 'pin-1' });
    const after = session.now();
    expect(placed.status).toBe(201);
    const cue = placed.body;
    expect(cue).toMatchObject({ seq: 1, type: 'product.pin', payload: { productId: product.id } });
    expect(cue.mediaTime).toBeGreaterThanOrEqual(before.mediaTime - 0.001);
    expect(cue.mediaTime).toBeLessThanOrEqual(after.mediaTime + 0.001);
    // A retried POST creates no second cue.
    const retried = await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'product.pin', productId: product.id }, { 'idempotency-key': 'pin-1' });
    expect(retried.status).toBe(200);
    expect(retried.body.id).toBe(cue.id);

    // WebRTC: the data channel and the WebSocket carry the same cue within moments.
    const overChannel = await waitFor('cue on the data channel', () => viewer.messages.find((m) => JSON.parse(m.text).id === cue.id), 5000);
    expect(JSON.parse(overChannel.text)).toEqual(cue);
    const overSocket = await waitFor('cue on the socket', () => socketMessages.find((m) => m.data.type === 'cue' && m.data.cue.id === cue.id), 5000);
    expect(overSocket.data.cue).toEqual(cue);

    // HLS: every rendition's playlist carries it as a DATERANGE at the cue's instant.
    for (const rendition of ['720p', '480p', '360p']) {
      const url = stream.playback.hlsUrl.replace('master.m3u8', `${rendition}/index.m3u8`);
      const range = await waitFor(`daterange in ${rendition}`, async () => dateRanges(await (await fetch(url)).text()).find((r) => r.id === cue.id), 5000);
      expect(range.startDate).toBe(cue.wallClock);
      expect(range.attributes.CLASS).toBe('com.livecue.product.pin');
      expect(JSON.parse(Buffer.from(range.attributes['X-LIVECUE-CUE']!, 'base64').toString())).toEqual(cue);
    }

    // hls.js's own playlist parser (from npm) reads the cue with its start time and payload.
    const hlsUrl = stream.playback.hlsUrl.replace('master.m3u8', '720p/index.m3u8');
    const details = parseWithHlsJs(await (await fetch(hlsUrl)).text(), hlsUrl);
    const parsed = details.dateRanges[cue.id];
    expect(parsed.startDate.toISOString()).toBe(cue.wallClock);
    expect(parsed.class).toBe('com.livecue.product.pin');
    expect(JSON.parse(Buffer.from(parsed.attr['X-LIVECUE-CUE'], 'base64').toString())).toEqual(cue);
    // hls.js maps the date onto its fragments' PROGRAM-DATE-TIME: the cue lands inside the window.
    const firstFragment = details.fragments[0];
    expect(parsed.startDate.getTime()).toBeGreaterThanOrEqual(firstFragment.programDateTime);

    // The DATERANGE sits at the cue's media time on the segments' timeline (within a millisecond).
    await sleep(4500);
    const [sessionRow] = await node.lc.database.db.select().from(liveSessions).where(eq(liveSessions.streamId, stream.id));
    const rows = (await node.lc.database.db.select().from(segments).where(eq(segments.sessionId, sessionRow!.id)).orderBy(asc(segments.sequence))).filter(
      (r) => r.rendition === '720p',
    );
    const start = Date.parse(cue.wallClock);
    const holder = rows.find((row) => row.programDateTime.getTime() <= start && start < row.programDateTime.getTime() + row.durationMs)!;
    expect(holder).toBeDefined();
    const mediaTimeFromPlaylist = (holder.mediaStartMs + (start - holder.programDateTime.getTime())) / 1000;
    expect(Math.abs(mediaTimeFromPlaylist - cue.mediaTime)).toBeLessThan(0.002);

    // A timed offer and the late joiner's state.
    const offer = await node.api('POST', `/v1/streams/${stream.id}/cues`, {
      type: 'offer.start',
      productId: product.id,
      discountPercent: 20,
      durationSeconds: 60,
      quantity: 50,
    });
    expect(offer.status).toBe(201);
    expect(offer.body.duration).toBe(60);
    const state = await fetch(`${node.baseUrl}/live/${stream.playbackId}/cues/state`).then((r) => r.json());
    expect(state.pinnedProduct).toMatchObject({ productId: product.id, cueId: cue.id });
    expect(state.offer).toMatchObject({ productId: product.id, discountPercent: 20, quantity: 50 });
    expect(state.offer.secondsLeft).toBeGreaterThan(50);
    const earlier = await node.api('GET', `/v1/streams/${stream.id}/cues/state?mediaTime=${Math.max(0, cue.mediaTime - 0.5)}`);
    expect(earlier.body.pinnedProduct).toBeNull();
    const listed = await fetch(`${node.baseUrl}/live/${stream.playbackId}/cues`).then((r) => r.json());
    expect(listed.cues.map((c: { seq: number }) => c.seq)).toEqual([1, 2]);

    // Explicit placement on the media timeline.
    const atMedia = await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'announcement', text: 'Free shipping today', at: { mediaTime: 1.5 } });
    expect(atMedia.status).toBe(201);
    expect(atMedia.body.mediaTime).toBe(1.5);
    expect(Date.parse(atMedia.body.wallClock)).toBe(session.timeline.wallClockAt(1.5));

    socket.close();
    await viewer.close();
    push.stop();
  });

  it('refuses bad cues clearly: validation, unknown product, size, rate', async () => {
    const product = await createProduct('HAT-1');
    const stream = await createStream(node, 'bad cues');
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 30 });
    await waitFor('live session', () => node.lc.registry.get(stream.id), 10_000);
    const post = (body: unknown) => node.api('POST', `/v1/streams/${stream.id}/cues`, body);

    expect((await post({ type: 'product.teleport', productId: product.id })).status).toBe(400);
    expect((await post({ type: 'product.pin' })).body.detail).toMatch(/productId/);
    expect((await post({ type: 'product.pin', productId: 'prd_AAAAAAAAAAAAAAAA' })).body.detail).toMatch(/unknown product/);
    expect((await post({ type: 'offer.start', productId: product.id, durationSeconds: 10 })).body.detail).toMatch(/discountPercent, a code or an offerPrice/);
    expect((await post({ type: 'poll.open', question: 'Color?', options: ['red'] })).status).toBe(400);
    const oversized = await post({ type: 'custom', data: { blob: 'x'.repeat(9000) } });
    expect(oversized.status).toBe(413);
    expect(oversized.headers.get('content-type')).toContain('application/problem+json');
    expect((await node.api('POST', `/v1/streams/${stream.id}/cues`, '{"type":', { 'content-type': 'application/json' })).status).toBe(400);

    // 20 cues per second with bursts of 40: a flood is cut with 429 and Retry-After. 200 at once, so a busy machine
    // answering them over several seconds (the bucket refills meanwhile) still sees the flood.
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => post({ type: 'announcement', text: `flash ${i}` })));
    const statuses = results.map((r) => r.status);
    expect(
      statuses.filter((s) => s === 201).length,
      JSON.stringify(statuses.reduce((n: Record<number, number>, s) => ((n[s] = (n[s] ?? 0) + 1), n), {})),
    ).toBeGreaterThanOrEqual(40);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(results.find((r) => r.status === 429)!.headers.get('retry-after')).toMatch(/^\d+$/);
    // Sequence numbers stay dense and unique under concurrency.
    const { cues } = (await node.api('GET', `/v1/streams/${stream.id}/cues`)).body;
    expect(cues.map((c: { seq: number }) => c.seq)).toEqual(cues.map((_: unknown, i: number) => i + 1));
    push.stop();
  });
});

describe('cues across a reconnect', () => {
  it('keep one continuous media timeline', async () => {
    const stream = await createStream(node, 'reconnecting cues');
    const url = `${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`;
    const first = pushRtmp(url, { seconds: 5 });
    const session = await waitFor('live session', () => node.lc.registry.get(stream.id), 10_000);
    await waitFor('media', () => session.timeline.duration >= 2, 10_000);
    const before = await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'announcement', text: 'before the drop' });
    expect(await first.exited).toBe(0);
    await sleep(1000);
    // In the gap, "now" is where the picture stopped.
    const inGap = await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'announcement', text: 'during the drop' });
    expect(inGap.body.mediaTime).toBeCloseTo(session.timeline.duration, 3);
    const second = pushRtmp(url, { seconds: 5 });
    await waitFor('second run', () => session.connected && session.timeline.spans.length === 2, 10_000);
    await sleep(1500);
    const after = await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'announcement', text: 'after the drop' });
    const secondSpan = session.timeline.spans[1]!;
    expect(session.id).toBe(node.lc.registry.get(stream.id)!.id);
    expect(before.body.mediaTime).toBeLessThan(secondSpan.mediaStart);
    expect(after.body.mediaTime).toBeGreaterThan(secondSpan.mediaStart);
    // Media time runs on across the gap: the wall-clock gap is not counted.
    const wallGap = (Date.parse(after.body.wallClock) - Date.parse(before.body.wallClock)) / 1000;
    expect(after.body.mediaTime - before.body.mediaTime).toBeLessThan(wallGap - 0.5);
    expect(Date.parse(after.body.wallClock)).toBe(session.timeline.wallClockAt(after.body.mediaTime, { extrapolate: true }));
    expect(await second.exited).toBe(0);
    await waitFor('ended', async () => (await node.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);
    // The closed playlist keeps every cue of the show, in order.
    const playlist = await (await fetch(stream.playback.hlsUrl.replace('master.m3u8', '360p/index.m3u8'))).text();
    const ids = dateRanges(playlist).map((range) => range.id);
    expect(ids).toEqual([before.body.id, inGap.body.id, after.body.id]);
  });
});

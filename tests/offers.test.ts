// Offers with inventory never oversell: 2,000 concurrent claims on 100 units through two livecue
// nodes sharing one database (each with its own connection pool) end with exactly 100 claims;
// expired and cancelled claims return units.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offerClaims, offers } from '../src/db/schema.ts';
import { signViewerToken } from '../src/offers/viewer-identity.ts';
import { startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { pushRtmp } from './helpers/media.ts';
import WebSocket from 'ws';

const VIEWER_SECRET = 'viewer-secret-for-tests';
let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  a = await startTestNode({ API_RATE_PER_SECOND: 100_000, RECONNECT_WINDOW_SECONDS: 2 });
  // A second node on the same database and Redis; it requires signed viewer tokens.
  b = await startTestNode({
    DATABASE_URL: a.lc.config.DATABASE_URL,
    REDIS_KEY_PREFIX: a.lc.config.REDIS_KEY_PREFIX,
    LIVECUE_ADMIN_TOKEN: a.lc.adminToken,
    API_RATE_PER_SECOND: 100_000,
    VIEWER_TOKEN_SECRET: VIEWER_SECRET,
  });
});

afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

describe('offers', () => {
  it('sell exactly the quantity under 2,000 concurrent claims through two nodes, and give expired units back', async () => {
    const product = (await a.api('POST', '/v1/products', { sku: 'DROP-1', title: 'Sneaker drop', price: 120, currency: 'EUR' })).body;
    const { body: stream } = await a.api('POST', '/v1/streams', { title: 'drop' });
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 25, size: '640x360' });
    await waitFor('live', () => a.lc.registry.get(stream.id), 10_000);
    const offer = (await a.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'offer.start', productId: product.id, discountPercent: 30, durationSeconds: 600, quantity: 100 })).body;
    expect((await a.api('GET', `/v1/offers/${offer.id}`)).body).toMatchObject({ quantity: 100, remaining: 100 });

    // A viewer on the other node hears the stock as it changes (throttled, always the latest).
    const stock: { remaining: number }[] = [];
    const socket = new WebSocket(`ws://127.0.0.1:${b.lc.httpPort}/live/${stream.playbackId}/events`);
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.type === 'offer' && message.offer.id === offer.id) stock.push(message.offer);
    });
    await new Promise((resolve) => socket.once('open', resolve));

    const claim = (node: TestNode, i: number) => {
      const viaB = node === b;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (viaB) headers.authorization = `Bearer ${signViewerToken(VIEWER_SECRET, { sub: `user-${i}`, name: `User ${i}`, exp: Math.floor(Date.now() / 1000) + 600 })}`;
      return fetch(`${node.baseUrl}/v1/offers/${offer.id}/claims`, {
        method: 'POST',
        headers,
        body: JSON.stringify(viaB ? {} : { viewerId: `viewer-${i}` }),
      }).then(async (response) => ({ status: response.status, body: await response.json() }));
    };
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => claim(i % 2 === 0 ? a : b, i)));
    const statuses = new Map<number, number>();
    for (const result of results) statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
    expect(statuses.get(201)).toBe(100);
    expect(statuses.get(409)).toBe(1900);
    expect(statuses.size).toBe(2);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.reason === 'sold_out')).toBe(true);
    const [row] = await a.lc.database.db.select().from(offers).where(eq(offers.id, offer.id));
    expect(row!.remaining).toBe(0);
    const reserved = await a.lc.database.db.select().from(offerClaims).where(eq(offerClaims.offerId, offer.id));
    expect(reserved.filter((c) => c.status === 'reserved')).toHaveLength(100);
    expect(new Set(reserved.map((c) => c.viewerId)).size).toBe(100);
    await waitFor('sold-out stock pushed', () => stock.at(-1)?.remaining === 0, 5000);
    expect(stock.length).toBeLessThan(100);
    socket.close();

    // A winner asking again gets the same claim; the shop confirms one and cancels one.
    const winner = results.find((r) => r.status === 201 && r.body.viewerId.startsWith('viewer-'))!;
    const again = await claim(a, Number(winner.body.viewerId.slice('viewer-'.length)));
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(winner.body.id);
    expect((await a.api('POST', `/v1/claims/${winner.body.id}/confirm`)).body.status).toBe('confirmed');
    expect((await a.api('POST', `/v1/claims/${winner.body.id}/confirm`)).status).toBe(409);
    const other = results.find((r) => r.status === 201 && r.body.id !== winner.body.id)!;
    expect((await a.api('POST', `/v1/claims/${other.body.id}/cancel`)).body.status).toBe('cancelled');
    expect((await a.api('GET', `/v1/offers/${offer.id}`)).body.remaining).toBe(1);

    // Bad identities are refused clearly.
    const noIdentity = await fetch(`${b.baseUrl}/v1/offers/${offer.id}/claims`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(noIdentity.status).toBe(401);
    const forged = await fetch(`${b.baseUrl}/v1/offers/${offer.id}/claims`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${signViewerToken('wrong', { sub: 'x', exp: 9_999_999_999 })}` },
      body: '{}',
    });
    expect(forged.status).toBe(401);

    // A short-hold offer: unconfirmed claims expire and their units return.
    const flash = (await a.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'offer.start', productId: product.id, code: 'FLASH', durationSeconds: 120, quantity: 2, claimSeconds: 2 })).body;
    for (const viewerId of ['first-viewer', 'second-viewer']) {
      const response = await fetch(`${a.baseUrl}/v1/offers/${flash.id}/claims`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ viewerId }) });
      expect(response.status).toBe(201);
    }
    expect((await a.api('GET', `/v1/offers/${flash.id}`)).body.remaining).toBe(0);
    await waitFor('units back', async () => (await a.api('GET', `/v1/offers/${flash.id}`)).body.remaining === 2 || undefined, 10_000);
    const expired = await a.lc.database.db.select().from(offerClaims).where(eq(offerClaims.offerId, flash.id));
    expect(expired.map((c) => c.status)).toEqual(['expired', 'expired']);
    // The viewer may claim again.
    const retry = await fetch(`${a.baseUrl}/v1/offers/${flash.id}/claims`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ viewerId: 'first-viewer' }) });
    expect(retry.status).toBe(201);
    push.stop();
  });
});

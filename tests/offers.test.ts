// Offers with inventory never oversell: 2,000 concurrent claims on 100 units through three separate
// livecue processes sharing one database and one Redis end with exactly 100 claims and nothing but
// sold-out for the rest, also when the Redis claim gate is flushed mid-sale or Redis restarts;
// expired and cancelled claims return their units to the database and to the gate; the shop hears
// of it through the offer webhooks, each once, also when its receiver fails some deliveries.
import { ViewerIdentity } from '../src/offers/viewer-identity.ts';
import { createServer, type Server } from 'node:http';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { offerClaims } from '../src/db/schema.ts';
import { createLogger } from '../src/log.ts';
import { ClaimGate } from '../src/offers/claim-gate.ts';
import { signViewerToken } from '../src/offers/viewer-identity.ts';
import { EmbeddedRedis } from '../src/redis/embedded-redis.ts';
import { verifyWebhookSignature } from '../src/workers/webhooks.ts';
import { startTestNode, TEST_REDIS_URL, waitFor, type TestNode, type TestViewer } from './helpers/harness.ts';
import { startLivecueProcess, type LivecueProcess } from './helpers/livecue-process.ts';
import { pushRtmp, type Encoder } from './helpers/media.ts';

const VIEWER_SECRET = 'viewer-secret-for-tests';

interface ClaimAnswer {
  status: number;
  body: any;
}

/** The nodes share it, so an anonymous viewer token one issued holds on all (as in a cluster). */
const LIVECUE_SECRET_KEY = 'offers-test-shared-secret-key-0123456789';
/** Signs anonymous viewers as the nodes do (same secret): thousands of claimers need no round trip each. */
const identity = new ViewerIdentity({ livecueSecret: LIVECUE_SECRET_KEY });
const anonymous = new Map<string, TestViewer>();

/** The anonymous viewer for a test's label (or its id): the same label is the same viewer everywhere. */
function anonymousViewer(label: string): TestViewer {
  let viewer = anonymous.get(label);
  if (!viewer) {
    const issued = identity.issue();
    viewer = { id: issued.viewerId, token: issued.viewerToken };
    anonymous.set(label, viewer);
    anonymous.set(viewer.id, viewer);
  }
  return viewer;
}

/** A claim as a viewer's browser sends it: the token livecue issued it, or (to a node that wants them) the shop's. */
async function claimThrough(node: { baseUrl: string; tokens?: boolean }, offerId: string, viewer: string, idempotencyKey?: string): Promise<ClaimAnswer> {
  const token = node.tokens
    ? signViewerToken(VIEWER_SECRET, { sub: viewer, name: `Name of ${viewer}`, exp: Math.floor(Date.now() / 1000) + 600 })
    : anonymousViewer(viewer).token;
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  const response = await fetch(`${node.baseUrl}/v1/offers/${offerId}/claims`, { method: 'POST', headers });
  return { status: response.status, body: await response.json() };
}

/** `total` claims, `inFlight` at a time (each worker sends its next when the previous answered), so the test sees the sale as it goes. */
async function claimLoop(
  total: number,
  inFlight: number,
  send: (i: number) => Promise<ClaimAnswer>,
  onAnswer: (answer: ClaimAnswer) => Promise<void> | void,
): Promise<ClaimAnswer[]> {
  const answers: ClaimAnswer[] = new Array(total);
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) {
        const i = next++;
        answers[i] = await send(i);
        await onAnswer(answers[i]);
      }
    }),
  );
  return answers;
}

function tally(answers: ClaimAnswer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status, body } of answers) {
    const key = status === 409 ? `409 ${body.reason}` : String(status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** A live show on `node` and a way to open offers on it. */
async function liveShow(node: TestNode, seconds: number) {
  const product = (await node.api('POST', '/v1/products', { sku: `DROP-${Date.now()}`, title: 'Sneaker drop', price: 120, currency: 'EUR' })).body;
  const { body: stream } = await node.api('POST', '/v1/streams', { title: 'drop' });
  const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds, size: '320x180' });
  await waitFor('live', () => node.lc.registry.get(stream.id), 15_000);
  const openOffer = async (quantity: number, extra: Record<string, unknown> = {}) => {
    const response = await node.api('POST', `/v1/streams/${stream.id}/cues`, {
      type: 'offer.start',
      productId: product.id,
      discountPercent: 30,
      durationSeconds: 600,
      quantity,
      ...extra,
    });
    expect(response.status).toBe(201);
    return response.body as { id: string };
  };
  return { stream, product, push, openOffer };
}

async function liveClaims(node: TestNode, offerId: string) {
  return node.lc.database.db
    .select()
    .from(offerClaims)
    .where(and(eq(offerClaims.offerId, offerId), inArray(offerClaims.status, ['reserved', 'confirmed'])));
}

describe('offers across livecue processes', () => {
  let a: TestNode;
  let processes: LivecueProcess[] = [];
  let show: Awaited<ReturnType<typeof liveShow>>;
  let receiver: Server;
  const deliveries: { event: string; body: any }[] = [];
  let hookSecret = '';
  /** Where viewers' claims go: three livecue processes, the third of which wants signed viewer tokens. */
  let nodes: { baseUrl: string; tokens?: boolean }[];

  beforeAll(async () => {
    // The shop's receiver fails the first attempt of every tenth delivery: those arrive later, once, and the rest once.
    const attempts = new Map<string, number>();
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const deliveryId = String(req.headers['livecue-delivery']);
        const attempt = (attempts.get(deliveryId) ?? 0) + 1;
        attempts.set(deliveryId, attempt);
        if (attempt === 1 && attempts.size % 10 === 0) {
          res.statusCode = 500;
          return res.end();
        }
        if (verifyWebhookSignature(hookSecret, String(req.headers['livecue-signature']), body))
          deliveries.push({ event: String(req.headers['livecue-event']), body: JSON.parse(body) });
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    // The in-process node takes the show (RTMP and cues), sweeps expired claims and delivers webhooks.
    a = await startTestNode({ API_RATE_PER_SECOND: 100_000, RECONNECT_WINDOW_SECONDS: 2, LIVECUE_SECRET_KEY });
    const shared = {
      LIVECUE_SECRET_KEY,
      DATABASE_URL: a.lc.config.DATABASE_URL!,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: a.lc.config.REDIS_KEY_PREFIX,
      LIVECUE_ADMIN_TOKEN: a.lc.adminToken,
      API_RATE_PER_SECOND: 100_000,
      ROLE: 'api',
      SFU_WORKERS: 1,
    };
    processes = await Promise.all([
      startLivecueProcess(shared),
      startLivecueProcess(shared),
      startLivecueProcess({ ...shared, VIEWER_TOKEN_SECRET: VIEWER_SECRET }),
    ]);
    nodes = processes.map((p, i) => ({ baseUrl: p.baseUrl, tokens: i === 2 }));
    const address = receiver.address();
    const hook = await a.api('POST', '/v1/webhooks', {
      url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks`,
      events: ['offer.claimed', 'offer.sold_out'],
    });
    hookSecret = hook.body.secret;
    show = await liveShow(a, 120);
  }, 120_000);

  afterAll(async () => {
    show?.push.stop();
    await Promise.all(processes.map((p) => p.stop()));
    await a?.stop();
    receiver?.close();
  });

  it('sell exactly 100 units to 2,000 concurrent claims from three processes; the rest hear sold out', async () => {
    const offer = await show.openOffer(100);
    expect((await a.api('GET', `/v1/offers/${offer.id}`)).body).toMatchObject({ quantity: 100, remaining: 100 });

    // A viewer on one of the processes hears the stock as it changes (throttled, always the latest).
    const stock: { remaining: number }[] = [];
    const socket = new WebSocket(`${processes[0]!.baseUrl.replace('http', 'ws')}/live/${show.stream.playbackId}/events`);
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.type === 'offer' && message.offer.id === offer.id) stock.push(message.offer);
    });
    await new Promise((resolve) => socket.once('open', resolve));

    const answers = await Promise.all(Array.from({ length: 2000 }, (_, i) => claimThrough(nodes[i % 3]!, offer.id, `viewer-${i}`)));
    expect(tally(answers)).toEqual({ '201': 100, '409 sold_out': 1900 });
    const won = answers.filter((r) => r.status === 201);
    expect(new Set(won.map((r) => r.body.id)).size).toBe(100);
    // Each process sold some: the gate is shared, not per process.
    for (let n = 0; n < 3; n++) expect(answers.some((r, i) => i % 3 === n && r.status === 201)).toBe(true);
    expect(won.filter((r) => r.body.remaining === 0)).toHaveLength(1);

    // The database agrees: 100 live claims, one per viewer, units 1..100 each held once.
    const rows = await liveClaims(a, offer.id);
    expect(rows).toHaveLength(100);
    expect(new Set(rows.map((c) => c.viewerId)).size).toBe(100);
    expect(rows.map((c) => c.unit).sort((x, y) => x! - y!)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect((await a.api('GET', `/v1/offers/${offer.id}`)).body.remaining).toBe(0);
    await waitFor('sold-out stock pushed', () => stock.at(-1)?.remaining === 0, 5000);
    expect(stock.length).toBeLessThan(100);
    socket.close();

    // The shop heard of every claim and of the sell-out, once, signed.
    await waitFor('webhooks', () => deliveries.filter((d) => d.body.data.offer?.id === offer.id).length >= 101 || undefined, 30_000);
    const hooks = deliveries.filter((d) => d.body.data.offer?.id === offer.id);
    expect(hooks.filter((d) => d.event === 'offer.claimed')).toHaveLength(100);
    expect(new Set(hooks.map((d) => d.body.data.claim?.id ?? 'sold-out')).size).toBe(101);
    expect(hooks.filter((d) => d.event === 'offer.sold_out')).toHaveLength(1);
    const claimed = hooks.find((d) => d.event === 'offer.claimed')!.body.data;
    expect(claimed).toMatchObject({ productId: show.product.id, offer: { id: offer.id, quantity: 100 } });
    expect(typeof claimed.mediaTime).toBe('number');

    // A winner asking again (on another process) gets the same claim; so does a repeated idempotency key.
    const winnerIndex = answers.findIndex((r, i) => r.status === 201 && !nodes[i % 3]!.tokens);
    const winner = answers[winnerIndex]!;
    const again = await claimThrough(nodes[1 - (winnerIndex % 3)]!, offer.id, winner.body.viewerId);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(winner.body.id);

    // The shop confirms one and cancels another: its unit comes back, and another viewer gets it.
    expect((await a.api('POST', `/v1/claims/${winner.body.id}/confirm`)).body.status).toBe('confirmed');
    expect((await a.api('POST', `/v1/claims/${winner.body.id}/confirm`)).status).toBe(409);
    const other = won.find((r) => r.body.id !== winner.body.id)!;
    expect((await a.api('POST', `/v1/claims/${other.body.id}/cancel`)).body.status).toBe('cancelled');
    expect((await a.api('GET', `/v1/offers/${offer.id}`)).body.remaining).toBe(1);
    const late = await Promise.all(Array.from({ length: 20 }, (_, i) => claimThrough(nodes[i % 3]!, offer.id, `late-viewer-${i}`)));
    expect(tally(late)).toEqual({ '201': 1, '409 sold_out': 19 });
    expect(await liveClaims(a, offer.id)).toHaveLength(100);

    // Bad identities are refused clearly.
    const noIdentity = await fetch(`${nodes[2]!.baseUrl}/v1/offers/${offer.id}/claims`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(noIdentity.status).toBe(401);
    const forged = await fetch(`${nodes[2]!.baseUrl}/v1/offers/${offer.id}/claims`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${signViewerToken('wrong', { sub: 'x', exp: 9_999_999_999 })}` },
      body: '{}',
    });
    expect(forged.status).toBe(401);
  });

  it("take claims on the viewers' own sockets too, with the same answers as over HTTP, sharing one stock", async () => {
    const offer = await show.openOffer(20);
    // 60 viewers on the three processes (the third wants signed tokens), each claiming once on its socket, while
    // 20 more claim over HTTP: 20 units in all.
    const viewers = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const node = nodes[i % 3]!;
        const token = node.tokens
          ? signViewerToken(VIEWER_SECRET, { sub: `socket-viewer-${i}`, exp: Math.floor(Date.now() / 1000) + 600 })
          : anonymousViewer(`socket-viewer-${i}`).token;
        const socket = new WebSocket(`${node.baseUrl.replace('http', 'ws')}/live/${show.stream.playbackId}/events?viewerToken=${token}`);
        const answers: any[] = [];
        socket.on('message', (data) => {
          const message = JSON.parse(data.toString());
          if (message.type === 'claim' || message.type === 'error') answers.push(message);
        });
        await new Promise((resolve) => socket.once('open', resolve));
        return { socket, answers };
      }),
    );
    const [, http] = await Promise.all([
      Promise.all(viewers.map(({ socket }, i) => socket.send(JSON.stringify({ type: 'claim', offerId: offer.id, ref: `tap-${i}` })))),
      Promise.all(Array.from({ length: 20 }, (_, i) => claimThrough(nodes[i % 3]!, offer.id, `http-viewer-${i}`))),
    ]);
    await waitFor('every socket answered', () => viewers.every((v) => v.answers.length === 1) || undefined, 15_000);
    const onSockets = viewers.map((v, i) => {
      expect(v.answers[0]).toMatchObject({ type: 'claim', ref: `tap-${i}` });
      return { status: v.answers[0].status, body: v.answers[0].body };
    });
    expect(tally([...onSockets, ...http])).toEqual({ '201': 20, '409 sold_out': 60 });
    const won = onSockets.find((a) => a.status === 201)!;
    expect(won.body).toMatchObject({ offerId: offer.id, status: 'reserved', productId: show.product.id });
    const socketViewers = new Set(
      await Promise.all(viewers.map(async (_, i) => (nodes[i % 3]!.tokens ? `socket-viewer-${i}` : anonymousViewer(`socket-viewer-${i}`).id))),
    );
    expect((await liveClaims(a, offer.id)).filter((c) => socketViewers.has(c.viewerId))).toHaveLength(onSockets.filter((x) => x.status === 201).length);

    // A winner tapping again hears of its first claim; a bad or unknown offer is answered, and the socket stays open.
    const winner = viewers[onSockets.indexOf(won)]!;
    winner.socket.send(JSON.stringify({ type: 'claim', offerId: offer.id, ref: 'again' }));
    winner.socket.send(JSON.stringify({ type: 'claim', offerId: 'cue_AAAAAAAAAAAAAAAA', ref: 'unknown' }));
    winner.socket.send(JSON.stringify({ type: 'claim', ref: 'no-offer' }));
    await waitFor('answers', () => winner.answers.length === 4 || undefined, 5000);
    const byRef = (ref: string) => winner.answers.find((answer) => answer.ref === ref);
    expect(byRef('again')).toMatchObject({ status: 200, body: { id: won.body.id } });
    expect(byRef('unknown')).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect(winner.answers.find((answer) => answer.type === 'error')?.error).toMatch(/invalid claim/);
    expect(winner.socket.readyState).toBe(WebSocket.OPEN);

    // A socket that never said who it is cannot claim; joining after the sell-out, it hears the stock in its greeting.
    const anonymous = new WebSocket(`${nodes[0]!.baseUrl.replace('http', 'ws')}/live/${show.stream.playbackId}/events`);
    let greeting: any;
    const anonymousAnswer = new Promise<any>((resolve) =>
      anonymous.on('message', (data) => {
        const message = JSON.parse(data.toString());
        if (message.type === 'state') greeting = message;
        if (message.type === 'claim') resolve(message);
      }),
    );
    await new Promise((resolve) => anonymous.once('open', resolve));
    anonymous.send(JSON.stringify({ type: 'claim', offerId: offer.id, ref: 'who' }));
    expect(await anonymousAnswer).toMatchObject({ ref: 'who', status: 401, body: { code: 'unauthorized' } });
    await waitFor('the greeting', () => greeting, 5000);
    expect(greeting.offers).toContainEqual({ id: offer.id, quantity: 20, remaining: 0 });
    anonymous.close();
    for (const { socket } of viewers) socket.close();

    // Over HTTP, a broken body is refused clearly and the endpoint carries on.
    const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      fetch(`${nodes[0]!.baseUrl}/v1/offers/${offer.id}/claims`, { method: 'POST', headers, body }).then(async (r) => ({
        status: r.status,
        type: r.headers.get('content-type'),
        body: await r.json(),
      }));
    expect(await post('{"viewerId":')).toMatchObject({ status: 400, type: expect.stringContaining('application/problem+json'), body: { code: 'bad_request' } });
    expect(await post(JSON.stringify({ viewerId: 'someone-new', extra: 1 }))).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    expect(await post(JSON.stringify({ viewerId: 'x'.repeat(5000) }))).toMatchObject({ status: 413, body: { code: 'payload_too_large' } });
    // A bare viewer id is no identity any more: only a token livecue (or the shop) signed is.
    expect(await post(JSON.stringify({ viewerId: 'someone-new' }))).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    expect(await post('{}', { 'content-type': 'application/json', authorization: `Bearer ${anonymousViewer('someone-new').token}` })).toMatchObject({
      status: 409,
      body: { reason: 'sold_out' },
    });
  });

  it('sell exactly 100 units when the Redis claim gate is flushed twice mid-sale', async () => {
    const offer = await show.openOffer(100);
    const gate = new ClaimGate(a.lc.redis);
    let sold = 0;
    let flushing = false;
    const flushedAt: number[] = [];
    // 40 in flight, flushed when the test has seen 5 and 20 units sold (of 100): each flush lands while claims are being
    // decided and written (the ones in flight), and no new claim starts until it is done, so at most 20 + 39 units are
    // gone by the second flush and units are still sold after each (checked below), however fast the processes sell.
    let flushed: Promise<void> = Promise.resolve();
    const answers = await claimLoop(
      2000,
      40,
      async (i) => {
        await flushed;
        return claimThrough(nodes[i % 3]!, offer.id, `flush-viewer-${i}`, `tap-${i}`);
      },
      async (answer) => {
        if (answer.status === 201) sold++;
        const flushAt = [5, 20][flushedAt.length];
        if (flushing || flushAt === undefined || sold < flushAt) return;
        flushing = true;
        // What a FLUSHALL or a Redis restart without persistence does to the offer: its gate is gone.
        flushed = gate.reset(offer.id).then(() => {
          flushedAt.push(Date.now());
          flushing = false;
        });
        await flushed;
      },
    );
    expect(flushedAt).toHaveLength(2);
    const writtenAt = (await liveClaims(a, offer.id)).map((c) => c.createdAt.getTime());
    for (const at of flushedAt) expect(writtenAt.filter((t) => t > at).length).toBeGreaterThan(0);
    expect(tally(answers)).toEqual({ '201': 100, '409 sold_out': 1900 });
    const rows = await liveClaims(a, offer.id);
    expect(rows).toHaveLength(100);
    expect(new Set(rows.map((c) => c.unit)).size).toBe(100);
    expect(rows.every((c) => c.unit! >= 1 && c.unit! <= 100)).toBe(true);
    expect((await a.api('GET', `/v1/offers/${offer.id}`)).body.remaining).toBe(0);

    // Lost again after the sale: the gate opens from the database with nothing left, and repeats still answer 200.
    await gate.reset(offer.id);
    const winnerIndex = answers.findIndex((r, i) => r.status === 201 && !nodes[i % 3]!.tokens);
    const winner = answers[winnerIndex]!;
    const repeat = await claimThrough(nodes[0]!, offer.id, winner.body.viewerId, `tap-${winnerIndex}`);
    expect(repeat).toMatchObject({ status: 200, body: { id: winner.body.id } });
    expect((await claimThrough(nodes[1]!, offer.id, 'one-more-viewer')).body.reason).toBe('sold_out');
    expect(await gate.remaining(offer.id)).toBe(0);
  });

  it('give expired claims their units back, in the database and in the gate', async () => {
    const flash = await show.openOffer(2, { code: 'FLASH', discountPercent: undefined, durationSeconds: 120, claimSeconds: 2 });
    for (const viewerId of ['first-viewer', 'second-viewer']) expect((await claimThrough(nodes[0]!, flash.id, viewerId)).status).toBe(201);
    expect((await claimThrough(nodes[1]!, flash.id, 'third-viewer')).body.reason).toBe('sold_out');
    expect((await a.api('GET', `/v1/offers/${flash.id}`)).body.remaining).toBe(0);
    await waitFor('units back', async () => (await a.api('GET', `/v1/offers/${flash.id}`)).body.remaining === 2 || undefined, 10_000);
    const expired = await a.lc.database.db.select().from(offerClaims).where(eq(offerClaims.offerId, flash.id));
    expect(expired.map((c) => c.status)).toEqual(['expired', 'expired']);
    await waitFor('units back in the gate', async () => (await new ClaimGate(a.lc.redis).remaining(flash.id)) === 2 || undefined, 5000);
    // The viewer may claim again, on any process.
    expect((await claimThrough(nodes[1]!, flash.id, 'first-viewer')).status).toBe(201);
    expect((await claimThrough(nodes[0]!, flash.id, 'third-viewer')).status).toBe(201);
    expect((await claimThrough(nodes[1]!, flash.id, 'fourth-viewer')).body.reason).toBe('sold_out');
  });
});

describe('offers when Redis restarts mid-sale', () => {
  it('never sell more than the quantity, and sell all of it once Redis is back', async () => {
    const redis = await EmbeddedRedis.start({ binary: 'redis-server', logger: createLogger('silent') });
    const port = Number(new URL(redis.url).port);
    let restarted: EmbeddedRedis | undefined;
    const a = await startTestNode({ REDIS_URL: redis.url, API_RATE_PER_SECOND: 100_000, RECONNECT_WINDOW_SECONDS: 2, LIVECUE_SECRET_KEY });
    let other: LivecueProcess | undefined;
    let push: Encoder | undefined;
    try {
      other = await startLivecueProcess({
        DATABASE_URL: a.lc.config.DATABASE_URL!,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: a.lc.config.REDIS_KEY_PREFIX,
        LIVECUE_SECRET_KEY,
        LIVECUE_ADMIN_TOKEN: a.lc.adminToken,
        API_RATE_PER_SECOND: 100_000,
        ROLE: 'api',
        SFU_WORKERS: 1,
      });
      const show = await liveShow(a, 60);
      push = show.push;
      const offer = await show.openOffer(100);
      const nodes = [{ baseUrl: a.baseUrl }, { baseUrl: other.baseUrl }];
      let sold = 0;
      let restart: Promise<void> | undefined;
      let soldInDatabaseAtRestart = -1;
      // 30 in flight: when the test has seen 20 units sold, the processes have sold at most 50.
      const first = await claimLoop(
        1000,
        30,
        (i) => claimThrough(nodes[i % 2]!, offer.id, `restart-viewer-${i}`),
        (answer) => {
          if (answer.status === 201) sold++;
          // Redis (no persistence) dies mid-sale and comes back empty on the same port a moment later.
          if (sold >= 20 && !restart) {
            restart = (async () => {
              await redis.close();
              soldInDatabaseAtRestart = (await liveClaims(a, offer.id)).length;
              restarted = await EmbeddedRedis.start({ binary: 'redis-server', logger: createLogger('silent'), port });
            })();
          }
        },
      );
      await restart;
      expect(soldInDatabaseAtRestart).toBeLessThan(100);
      // While Redis was away claims were refused as unavailable (503), never sold past the quantity.
      const counts = tally(first);
      expect(Object.keys(counts).every((key) => ['201', '409 sold_out', '503'].includes(key))).toBe(true);
      expect(await liveClaims(a, offer.id)).toHaveLength(counts['201'] ?? 0);
      // Once Redis is back, more viewers buy exactly what is left.
      await waitFor('redis back', async () => (await a.lc.redis.ping()) === 'PONG' || undefined, 10_000);
      const second = await Promise.all(Array.from({ length: 500 }, (_, i) => claimThrough(nodes[i % 2]!, offer.id, `after-restart-${i}`)));
      expect((counts['201'] ?? 0) + (tally(second)['201'] ?? 0)).toBe(100);
      expect(Object.keys(tally(second)).every((key) => ['201', '409 sold_out'].includes(key))).toBe(true);
      const rows = await liveClaims(a, offer.id);
      expect(rows).toHaveLength(100);
      expect(new Set(rows.map((c) => c.unit)).size).toBe(100);
    } finally {
      push?.stop();
      await other?.stop();
      await a.stop();
      await restarted?.close();
      await redis.close();
    }
  });
});

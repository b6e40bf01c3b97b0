// The OpenAPI document is generated from the contract (src/contract): every route the node registers is in
// it with its method, and what the main operations answer for real matches the schemas it documents.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { API_OPERATIONS } from '../src/contract/operations.ts';
import type { HttpMethod } from '../src/contract/operation.ts';
import { problem } from '../src/contract/problem.ts';
import { startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { pushRtmp, type Encoder } from './helpers/media.ts';

/** Registered routes the document leaves out on purpose, and why. Nothing else may be missing. */
const UNDOCUMENTED: { route: RegExp; why: string }[] = [{ route: /^[A-Z]+ \/internal\//, why: 'node-to-node cluster endpoints (cluster token), not the API' }];

/** Served ahead of Express (so not in its router) and documented all the same. */
const OUTSIDE_EXPRESS = ['POST /v1/offers/{id}/claims', 'GET /live/{playbackId}/events'];

/** Express path syntax as OpenAPI templates: `:id` and `*path` become `{id}` and `{path}`; an optional `{…}` group gives both paths. */
function templates(expressPath: string): string[] {
  const group = /\{([^}]*)\}/.exec(expressPath);
  if (group) return [expressPath.replace(group[0], ''), expressPath.replace(group[0], group[1]!)].flatMap(templates);
  return [expressPath.replace(/[:*](\w+)/g, '{$1}')];
}

/** The schema the document gives for an operation's answer. */
function documented(method: HttpMethod, path: string, status: number): z.ZodType {
  const operation = API_OPERATIONS.find((candidate) => candidate.method === method && candidate.path === path);
  const schema = operation?.answers[status]?.schema;
  if (!schema) throw new Error(`${method.toUpperCase()} ${path} documents no ${status} body`);
  return schema;
}

/** The live body fits the documented schema and carries nothing it leaves out (plain objects drop unknown keys). */
function expectDocumented(answer: { status: number; body: unknown }, method: HttpMethod, path: string): void {
  const parsed = documented(method, path, answer.status).safeParse(answer.body);
  expect(parsed.error?.issues ?? [], `${method.toUpperCase()} ${path} -> ${answer.status}`).toEqual([]);
  expect(parsed.data, `${method.toUpperCase()} ${path}: fields the document does not name`).toEqual(answer.body);
}

let node: TestNode;
let push: Encoder | undefined;
/** The live show the answers come from (set by the first answers test). */
let show: { stream: { id: string; playbackId: string }; productId: string; claimId: string } | undefined;

beforeAll(async () => {
  node = await startTestNode({ SFU_WORKERS: 1 });
});

afterAll(async () => {
  push?.stop();
  await node?.stop();
});

describe('the OpenAPI document', () => {
  it('documents every route the node registers, with its method', async () => {
    const document = await fetch(`${node.baseUrl}/openapi.json`).then((response) => response.json());
    const inDocument = new Set(
      Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    const registered = node.lc.routes.flatMap((route) => templates(route.path).map((path) => `${route.method} ${path}`));
    expect(registered.length).toBeGreaterThan(50);
    const missing = registered.filter((route) => !inDocument.has(route) && !UNDOCUMENTED.some((excluded) => excluded.route.test(route)));
    expect(missing).toEqual([]);
    for (const route of OUTSIDE_EXPRESS) expect(inDocument).toContain(route);
    // Nothing documented that the node does not serve.
    const served = new Set([...registered, ...OUTSIDE_EXPRESS]);
    expect([...inDocument].filter((route) => !served.has(route))).toEqual([]);
  });

  it('describes request and answer bodies and problem+json refusals for every operation', async () => {
    const document = await fetch(`${node.baseUrl}/openapi.json`).then((response) => response.json());
    expect(document.components.schemas.Problem.required).toEqual(['type', 'title', 'status', 'detail']);
    for (const [path, item] of Object.entries(
      document.paths as Record<string, Record<string, { requestBody?: unknown; responses: Record<string, { content?: Record<string, unknown> }> }>>,
    )) {
      for (const [method, operation] of Object.entries(item)) {
        const statuses = Object.keys(operation.responses);
        expect(
          statuses.some((status) => status < '400'),
          `${method} ${path} has a success`,
        ).toBe(true);
        for (const status of statuses.filter((status) => status >= '400' && status < '500')) {
          expect(operation.responses[status]!.content, `${method} ${path} ${status}`).toHaveProperty(['application/problem+json']);
        }
        if (['post', 'put', 'patch'].includes(method) && !/\/(rotate-key|confirm|cancel|answered|reminders)$/.test(path) && path !== '/live/viewers') {
          expect(operation.requestBody, `${method} ${path} takes a body`).toBeDefined();
        }
      }
    }
  });

  it('matches what the main operations answer: a stream, a cue, an offer and a claim', async () => {
    const created = await node.api('POST', '/v1/streams', { title: 'contract' });
    expect(created.status).toBe(201);
    expectDocumented(created, 'post', '/v1/streams');
    const stream = created.body;
    const product = await node.api('POST', '/v1/products', { sku: 'CONTRACT-1', title: 'Sac', price: 49.9, currency: 'EUR' });
    expectDocumented(product, 'post', '/v1/products');

    push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 60, size: '640x360' });
    await waitFor('live session', () => node.lc.registry.get(stream.id), 15_000);
    expectDocumented(await node.api('GET', `/v1/streams/${stream.id}`), 'get', '/v1/streams/{id}');
    expectDocumented(await node.api('GET', '/v1/streams'), 'get', '/v1/streams');

    const pin = await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'product.pin', productId: product.body.id });
    expect(pin.status).toBe(201);
    expectDocumented(pin, 'post', '/v1/streams/{id}/cues');
    const offerCue = await node.api('POST', `/v1/streams/${stream.id}/cues`, {
      type: 'offer.start',
      productId: product.body.id,
      discountPercent: 20,
      durationSeconds: 300,
      quantity: 5,
    });
    expect(offerCue.status).toBe(201);
    expectDocumented(offerCue, 'post', '/v1/streams/{id}/cues');
    expectDocumented(await node.api('GET', `/v1/streams/${stream.id}/cues`), 'get', '/v1/streams/{id}/cues');
    const state = await node.api('GET', `/v1/streams/${stream.id}/cues/state`);
    expectDocumented(state, 'get', '/v1/streams/{id}/cues/state');
    expect(state.body.offer).toMatchObject({ productId: product.body.id, cueId: offerCue.body.id });

    const offer = await node.api('GET', `/v1/offers/${offerCue.body.id}`);
    expect(offer.status).toBe(200);
    expectDocumented(offer, 'get', '/v1/offers/{id}');

    const viewer = await fetch(`${node.baseUrl}/live/viewers`, { method: 'POST' }).then(async (response) => ({
      status: response.status,
      body: await response.json(),
    }));
    expectDocumented(viewer, 'post', '/live/viewers');
    const claim = await fetch(`${node.baseUrl}/v1/offers/${offerCue.body.id}/claims`, {
      method: 'POST',
      headers: { authorization: `Bearer ${viewer.body.viewerToken}` },
    });
    expect(claim.status).toBe(201);
    const claimed = await claim.json();
    expectDocumented({ status: claim.status, body: claimed }, 'post', '/v1/offers/{id}/claims');
    show = { stream, productId: product.body.id, claimId: claimed.id };

    const refused = await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'product.pin' });
    expect(refused.status).toBe(400);
    expect(problem.safeParse(refused.body).success).toBe(true);
  });

  it('matches what the other operations answer', async () => {
    const { stream, productId, claimId } = show!;
    const check = async (method: HttpMethod, template: string, path: string, body?: unknown) => {
      const answer = await node.api(method.toUpperCase(), path, body);
      expect(answer.status, `${method.toUpperCase()} ${path}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
      expectDocumented(answer, method, template);
      return answer.body;
    };
    await check('patch', '/v1/streams/{id}', `/v1/streams/${stream.id}`, { title: 'contract, renamed' });
    await check('post', '/v1/streams/{id}/playback-tokens', `/v1/streams/${stream.id}/playback-tokens`, {});
    const decoy = await check('post', '/v1/streams', '/v1/streams', { title: 'decoy' });
    await check('post', '/v1/streams/{id}/rotate-key', `/v1/streams/${decoy.id}/rotate-key`);

    // Scheduled shows: a show with a lineup, the upcoming list, its waiting room's view and a viewer's reminder.
    const upcoming = await check('post', '/v1/streams', '/v1/streams', {
      title: 'contract, scheduled',
      scheduledStartAt: new Date(Date.now() + 3_600_000).toISOString(),
      description: 'Soon',
      coverImageUrl: 'https://shop.example.com/cover.jpg',
      products: [productId],
    });
    await check('get', '/v1/streams', '/v1/streams?status=scheduled&limit=1');
    await check('get', '/live/{playbackId}/show', `/live/${upcoming.playbackId}/show`);
    const viewer = (await (await fetch(`${node.baseUrl}/live/viewers`, { method: 'POST' })).json()) as { viewerToken: string };
    const reminder = await node.api('POST', `/live/${upcoming.playbackId}/reminders`, undefined, { authorization: `Bearer ${viewer.viewerToken}` });
    expectDocumented(reminder, 'post', '/live/{playbackId}/reminders');
    await check('get', '/v1/streams/{id}/reminders', `/v1/streams/${upcoming.id}/reminders`);

    await check('get', '/v1/products', '/v1/products');
    await check('get', '/v1/products/{id}', `/v1/products/${productId}`);
    await check('patch', '/v1/products/{id}', `/v1/products/${productId}`, { inventory: 12 });
    await check('get', '/live/{playbackId}/products/{productId}', `/live/${stream.playbackId}/products/${productId}`);
    await check('get', '/live/{playbackId}/cues', `/live/${stream.playbackId}/cues`);
    await check('get', '/live/{playbackId}/cues/state', `/live/${stream.playbackId}/cues/state`);
    await check('get', '/v1/streams/{id}/cues/state', `/v1/streams/${stream.id}/cues/state?mediaTime=0.5`);
    await check('post', '/v1/claims/{id}/confirm', `/v1/claims/${claimId}/confirm`);

    await check('get', '/v1/streams/{id}/analytics', `/v1/streams/${stream.id}/analytics`);
    await check('get', '/v1/streams/{id}/recordings', `/v1/streams/${stream.id}/recordings`);
    await check('put', '/v1/streams/{id}/chat-settings', `/v1/streams/${stream.id}/chat-settings`, { slowModeSeconds: 5 });
    await check('get', '/v1/streams/{id}/questions', `/v1/streams/${stream.id}/questions`);
    await check('get', '/v1/streams/{id}/polls/{pollId}', `/v1/streams/${stream.id}/polls/q1`);

    await check('post', '/v1/webhooks', '/v1/webhooks', { url: 'http://127.0.0.1:9/hooks', events: ['offer.claimed'] });
    await check('get', '/v1/webhooks', '/v1/webhooks');
    await check('post', '/v1/tokens', '/v1/tokens', { name: 'shop backend', scopes: ['cues'] });
    await check('get', '/v1/tokens', '/v1/tokens');
    const target = await check('post', '/v1/streams/{id}/restreams', `/v1/streams/${stream.id}/restreams`, {
      url: 'rtmp://127.0.0.1:9/live',
      streamKey: 'secret-key',
      enabled: false,
    });
    await check('get', '/v1/streams/{id}/restreams', `/v1/streams/${stream.id}/restreams`);
    await check('patch', '/v1/streams/{id}/restreams/{restreamId}', `/v1/streams/${stream.id}/restreams/${target.id}`, { name: 'elsewhere' });
    await check('get', '/v1/streams/{id}/restreams/{restreamId}', `/v1/streams/${stream.id}/restreams/${target.id}`);

    for (const path of ['/livez', '/healthz', '/healthz/ready', '/readyz']) await check('get', path, path);
  });
});

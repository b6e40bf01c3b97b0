// The standing abuse suite, HTTP side: every route the node serves (read from its own router, so a new
// route is covered without an edit here) gets malformed paths, absolute-form and mixed-case targets,
// bad, deep and oversized bodies, wrong content types, and each token scope. Every answer is a 4xx
// problem+json (or a success the caller was entitled to), never a 5xx, and the node still serves its
// live show afterwards, with no unhandled error seen.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newViewer, startTestNode, waitFor, type TestNode } from '../helpers/harness.ts';
import { pushRtmp, type Encoder } from '../helpers/media.ts';
import { rawRequest } from './raw-http.ts';

let node: TestNode;
let push: Encoder;
let stream: { id: string; playbackId: string; ingest: { rtmpUrl: string; streamKey: string } };
const tokens: Record<'read' | 'write' | 'cues', string> = { read: '', write: '', cues: '' };
/** A second stream the body abuse may hit with the admin token (it may delete it or rotate its key). */
let decoy: { id: string };

const PARAM_VALUES = ['%', '%zz', '..%2f..%2fetc%2fpasswd', '%00', `${'A'.repeat(16 * 1024)}`, 'MiXeD-CaSe', "x'%20OR%201=1--"];

/** A concrete path for an Express path pattern: params filled with `value`, optional groups dropped, wildcards filled. */
function concrete(pattern: string, value: string): string {
  return pattern
    .replace(/\{[^}]*\}/g, '')
    .replace(/\*\w+/g, `${value}/index.m3u8`)
    .replace(/:\w+/g, value);
}

async function send(
  method: string,
  path: string,
  options: { token?: string; body?: string | Uint8Array; type?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.type) headers['content-type'] = options.type;
  const response = await fetch(`${node.baseUrl}${path}`, {
    method,
    headers,
    body: method === 'GET' || method === 'HEAD' ? undefined : (options.body as BodyInit | undefined),
    redirect: 'manual',
  });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', text };
}

/** What every answer to hostile input must be: no 5xx; a refusal is problem+json. */
function expectHandled(what: string, answer: { status: number; type: string; text: string }): void {
  expect(answer.status, `${what} -> ${answer.status} ${answer.text.slice(0, 200)}`).toBeLessThan(500);
  if (answer.status >= 400 && answer.status !== 431) expect(answer.type, `${what} -> ${answer.status} ${answer.type}`).toContain('application/problem+json');
}

beforeAll(async () => {
  node = await startTestNode({ API_RATE_PER_SECOND: 1_000_000, SIGNALING_RATE_PER_SECOND: 1_000_000, WS_CONNECT_RATE_PER_SECOND: 1_000_000, SFU_WORKERS: 1 });
  stream = (await node.api('POST', '/v1/streams', { title: 'under attack' })).body;
  decoy = (await node.api('POST', '/v1/streams', { title: 'decoy' })).body;
  for (const scope of ['read', 'write', 'cues'] as const) tokens[scope] = (await node.api('POST', '/v1/tokens', { name: scope, scopes: [scope] })).body.token;
  // A live show runs through all of it (2 s keyframes, AAC 48 kHz).
  push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 300, size: '640x360', gopSeconds: 2 });
  await waitFor('live', () => node.lc.registry.get(stream.id), 15_000);
});

afterAll(async () => {
  push?.stop();
  await node?.stop();
});

describe('every route, hostile input', () => {
  it('reads the routes from the app itself', () => {
    // A sample of what must be there: if the table came back empty the suite below would prove nothing.
    const listed = new Set(node.lc.routes.map((route) => `${route.method} ${route.path}`));
    for (const route of ['POST /v1/tokens', 'POST /v1/streams/:id/cues', 'POST /whep/:playbackId', 'GET /hls/:playbackId/*path', 'POST /live/viewers'])
      expect(listed).toContain(route);
    expect(node.lc.routes.length).toBeGreaterThan(50);
  });

  it('answers malformed paths on every route with a 4xx problem, never a 5xx', async () => {
    const routes = [...node.lc.routes, { method: 'POST', path: '/v1/offers/:id/claims' }];
    for (const route of routes) {
      for (const value of PARAM_VALUES) {
        const path = concrete(route.path, value);
        const answer = await send(route.method, path, { token: node.lc.adminToken, body: '{}', type: 'application/json' });
        expectHandled(`${route.method} ${path.slice(0, 80)}`, answer);
      }
    }
  });

  it('answers bad, deep, oversized and mistyped bodies on every route that takes one', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const bodies: { name: string; body: string | Uint8Array; type: string }[] = [
      { name: 'invalid JSON', body: '{"title": ', type: 'application/json' },
      { name: 'deep JSON', body: deep, type: 'application/json' },
      { name: 'JSON null', body: 'null', type: 'application/json' },
      { name: 'prototype keys', body: '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}', type: 'application/json' },
      { name: 'wrong type', body: 'title=x', type: 'application/x-www-form-urlencoded' },
      { name: 'SDP garbage', body: 'v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 96 96\r\n', type: 'application/sdp' },
      { name: '2 MB', body: new Uint8Array(2 * 1024 * 1024).fill(0x7b), type: 'application/json' },
    ];
    const routes = [...node.lc.routes, { method: 'POST', path: '/v1/offers/:id/claims' }].filter((route) => !['GET', 'HEAD', 'OPTIONS'].includes(route.method));
    for (const route of routes) {
      const path = concrete(
        route.path,
        route.path.startsWith('/v1/streams/') ? decoy.id : route.path.startsWith('/whep') || route.path.startsWith('/live') ? stream.playbackId : 'x1234567',
      );
      for (const { name, body, type } of bodies)
        expectHandled(`${route.method} ${path} with ${name}`, await send(route.method, path, { token: node.lc.adminToken, body, type }));
    }
  });

  it('gives each token scope only what it grants, however the path is spelled', async () => {
    const spellings = (path: string) => [
      path,
      path.toUpperCase(),
      path.replace('/v1/', '/V1/'),
      path.replace(/\/([a-z])/g, (_m, c: string) => `/${c.toUpperCase()}`),
    ];
    for (const route of node.lc.routes.filter((r) => r.path.startsWith('/v1/'))) {
      const path = concrete(route.path, 'x1234567');
      for (const spelled of spellings(path)) {
        const admin = route.path.startsWith('/v1/tokens');
        const cueRoute = /^\/v1\/streams\/:id\/cues(\/state)?$/.test(route.path);
        const reading = route.method === 'GET';
        for (const [scope, token] of Object.entries(tokens)) {
          const answer = await send(route.method, spelled, { token, body: '{}', type: 'application/json' });
          expectHandled(`${scope} ${route.method} ${spelled}`, answer);
          const allowed = !admin && (scope === 'write' || (scope === 'read' && reading && !cueRoute) || (scope === 'cues' && cueRoute));
          if (!allowed) expect(answer.status, `${scope} token ${route.method} ${spelled}`).toBe(403);
        }
        expect((await send(route.method, spelled, { body: '{}', type: 'application/json' })).status, `no token ${route.method} ${spelled}`).toBe(401);
      }
    }
  });

  it('checks scopes on absolute-form targets too (the tokens routes were reachable with a read token)', async () => {
    for (const target of ['http://x/v1/tokens', 'http://livecue.example/v1/TOKENS', '/v1/tokens/']) {
      const answer = await rawRequest(
        node.lc.httpPort,
        `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.read}\r\nConnection: close\r\n\r\n`,
      );
      expect(answer.status, target).toBe(403);
    }
    const body = '{"name":"escalated","scopes":["write"]}';
    const minted = await rawRequest(
      node.lc.httpPort,
      `POST /v1/Tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.write}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(minted.status).toBe(403);
    const listed = (await node.api('GET', '/v1/tokens')).body.tokens as { name: string }[];
    expect(listed.map((token) => token.name)).not.toContain('escalated');
  });

  it('survives the two requests that used to kill a node: a raw % in the claims path, an Upgrade to //', async () => {
    const claim = await rawRequest(node.lc.httpPort, 'POST /v1/offers/%/claims HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
    expect(claim.status).toBe(400);
    expect(claim.head).toMatch(/application\/problem\+json/);
    for (const target of ['//', '//x', '*', 'http://x/live/abc/events', '/not-a-socket']) {
      const upgrade = await rawRequest(
        node.lc.httpPort,
        `GET ${target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      // Answered and closed at once (an unknown upgrade used to hold its socket for good).
      expect([400, 404], target).toContain(upgrade.status);
    }
    expect((await fetch(`${node.baseUrl}/healthz`)).status).toBe(200);
  });

  it('refuses oversized headers and targets without disturbing anything', async () => {
    const huge = await rawRequest(node.lc.httpPort, `GET /v1/streams HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(64 * 1024)}\r\nConnection: close\r\n\r\n`);
    expect(huge.status).toBe(431);
    const longTarget = await rawRequest(node.lc.httpPort, `GET /${'a'.repeat(100 * 1024)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect([0, 400, 404, 414, 431]).toContain(longTarget.status);
    const garbage = await rawRequest(node.lc.httpPort, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a]));
    expect([0, 400]).toContain(garbage.status);
  });
});

describe('after the abuse', () => {
  it('still serves the live show: playlists, claims, a viewer socket, and no unhandled error or 500 in its log', async () => {
    const master = await waitFor(
      'the master playlist',
      async () => {
        const response = await fetch(`${node.baseUrl}/hls/${stream.playbackId}/master.m3u8`);
        return response.status === 200 ? response : undefined;
      },
      30_000,
    );
    expect(await master.text()).toContain('#EXT-X-STREAM-INF');
    const viewer = await newViewer(node);
    const offer = await node
      .api('POST', '/v1/products', { sku: 'ABUSE-1', title: 'Survivor', price: 5, currency: 'EUR' })
      .then((product) =>
        node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'offer.start', productId: product.body.id, code: 'OK', durationSeconds: 60, quantity: 1 }),
      );
    const claim = await fetch(`${node.baseUrl}/v1/offers/${offer.body.id}/claims`, { method: 'POST', headers: { authorization: `Bearer ${viewer.token}` } });
    expect(claim.status).toBe(201);
    const metrics = await (await fetch(`${node.baseUrl}/metrics`)).text();
    expect(metrics).not.toMatch(/^livecue_unhandled_errors_total\{[^}]*\} [1-9]/m);
    expect(node.logLines.filter((line) => /unhandled API error|unhandled error/.test(line))).toEqual([]);
  });
});

// The standing abuse suite, viewers' WebSocket side: a client that never reads, too many sockets from
// one address (and behind a trusted proxy, per forwarded client), bare or forged viewer ids.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { newViewer, startTestNode, waitFor, type TestNode } from '../helpers/harness.ts';

let trusting: TestNode;
let direct: TestNode;
let playbackId: string;

beforeAll(async () => {
  const common = {
    SFU_WORKERS: 1,
    WS_CONNECT_RATE_PER_SECOND: 10_000,
    MAX_SOCKETS_PER_ADDRESS: 3,
    LIVECUE_SECRET_KEY: 'socket-abuse-shared-secret-0123456789',
  };
  trusting = await startTestNode({ ...common, TRUST_PROXY: '1' });
  direct = await startTestNode({
    ...common,
    DATABASE_URL: trusting.lc.config.DATABASE_URL,
    REDIS_KEY_PREFIX: trusting.lc.config.REDIS_KEY_PREFIX,
    LIVECUE_ADMIN_TOKEN: trusting.lc.adminToken,
  });
  playbackId = (await trusting.api('POST', '/v1/streams', { title: 'sockets' })).body.playbackId;
});

afterAll(async () => {
  await direct?.stop();
  await trusting?.stop();
});

/** Opens a viewer socket; resolves with it open, or with the HTTP status that refused it. */
function open(node: TestNode, query = '', headers: Record<string, string> = {}): Promise<{ socket?: WebSocket; status?: number; messages: any[] }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`ws://127.0.0.1:${node.lc.httpPort}/live/${playbackId}/events${query}`, { headers });
    const messages: any[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
    socket.once('open', () => resolve({ socket, messages }));
    socket.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode, messages }));
    socket.once('error', () => resolve({ status: 0, messages }));
  });
}

/** A client frame (masked, as RFC 6455 wants from clients), text. */
function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const length = payload.length < 126 ? Buffer.from([0x80 | payload.length]) : Buffer.from([0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  // A zero mask leaves the payload as it is.
  return Buffer.concat([Buffer.from([0x81]), length, Buffer.alloc(4), payload]);
}

describe("viewers' socket, hostile clients", () => {
  it('drops a client that sends but never reads, instead of buffering its replies without bound', async () => {
    const viewer = await newViewer(trusting);
    const socket: Socket = connect(trusting.lc.httpPort, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `GET /live/${playbackId}/events?viewerToken=${viewer.token} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const upgraded = await new Promise<string>((resolve) => socket.once('data', (data: Buffer) => resolve(data.toString('latin1'))));
    expect(upgraded).toMatch(/^HTTP\/1\.1 101/);
    socket.pause(); // From now on it reads nothing.
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.on('error', () => (closed = true));
    expect(await (await fetch(`${trusting.baseUrl}/metrics`)).text()).toMatch(/^livecue_viewer_sockets 1$/m);
    // Each message earns a reply (an invalid claim, or "slow down"): far more reply bytes than the kernel's buffers hold.
    const message = frame(JSON.stringify({ type: 'claim', offerId: 1, ref: 'r'.repeat(64) }));
    for (let sent = 0; sent < 200_000 && !closed && !socket.destroyed; sent += 500) {
      const ok = socket.write(Buffer.concat(Array.from({ length: 500 }, () => message)));
      if (!ok) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // The node itself lets the socket go (its count of viewer sockets falls back), not only the connection.
    const openSockets = async () => Number(/^livecue_viewer_sockets (\d+)/m.exec(await (await fetch(`${trusting.baseUrl}/metrics`)).text())?.[1]);
    await waitFor('the server drops the socket', async () => (await openSockets()) === 0 || undefined, 30_000);
    socket.destroy();
    // The node carries on for everyone else.
    const other = await open(trusting, `?viewerToken=${(await newViewer(trusting)).token}`);
    expect(other.socket).toBeDefined();
    await waitFor('state', () => other.messages.some((m) => m.type === 'state'), 5000);
    other.socket!.close();
  });

  it('caps sockets per client address; behind a trusted proxy per forwarded client, and a spoofed header does not help', async () => {
    // On the node that trusts one proxy hop, X-Forwarded-For names the client.
    const fromOne = await Promise.all([1, 2, 3].map(() => open(trusting, '', { 'x-forwarded-for': '198.51.100.1' })));
    expect(fromOne.map((s) => s.status ?? 101)).toEqual([101, 101, 101]);
    expect((await open(trusting, '', { 'x-forwarded-for': '198.51.100.1' })).status).toBe(429);
    const fromTwo = await open(trusting, '', { 'x-forwarded-for': '198.51.100.2' });
    expect(fromTwo.socket).toBeDefined();
    // On the node that trusts no proxy, the header is the client's own words: ignored.
    const direct3 = await Promise.all([1, 2, 3].map((i) => open(direct, '', { 'x-forwarded-for': `203.0.113.${i}` })));
    expect(direct3.map((s) => s.status ?? 101)).toEqual([101, 101, 101]);
    expect((await open(direct, '', { 'x-forwarded-for': '203.0.113.99' })).status).toBe(429);
    // A socket that closes frees its place.
    direct3[0]!.socket!.close();
    const again = await waitFor('a place again', async () => (await open(direct)).socket, 5000);
    again.close();
    for (const s of [...fromOne, fromTwo, ...direct3]) s.socket?.close();
  });

  it('takes part only with a token livecue (or the shop) signed: a bare or forged viewer id only listens', async () => {
    const bare = await open(trusting, '?viewer=alice-viewer', { 'x-forwarded-for': '192.0.2.10' });
    await waitFor('state', () => bare.messages.some((m) => m.type === 'state'), 5000);
    bare.socket!.send(JSON.stringify({ type: 'chat', text: 'I am alice', ref: 'bare' }));
    expect((await waitFor('refused', () => bare.messages.find((m) => m.ref === 'bare'), 5000)).error).toMatch(/identify first/);
    const real = await newViewer(direct);
    const forgedBody = Buffer.from(JSON.stringify({ sub: 'alice-viewer', exp: 4_000_000_000 })).toString('base64url');
    const forged = await open(trusting, `?viewerToken=${forgedBody}.${real.token.split('.')[1]}`, { 'x-forwarded-for': '192.0.2.11' });
    await waitFor('state', () => forged.messages.some((m) => m.type === 'state'), 5000);
    forged.socket!.send(JSON.stringify({ type: 'chat', text: 'I am alice too', ref: 'forged' }));
    expect((await waitFor('refused', () => forged.messages.find((m) => m.ref === 'forged'), 5000)).error).toMatch(/identify first/);
    // A token one node issued holds on every node that shares LIVECUE_SECRET_KEY.
    const genuine = await open(trusting, `?viewerToken=${real.token}`, { 'x-forwarded-for': '192.0.2.12' });
    await waitFor('state', () => genuine.messages.some((m) => m.type === 'state'), 5000);
    genuine.socket!.send(JSON.stringify({ type: 'chat', text: 'hello', ref: 'genuine' }));
    const chat = await waitFor('own chat back', () => genuine.messages.find((m) => m.type === 'chat'), 5000);
    expect(chat.viewer.id).toBe(real.id);
    for (const s of [bare, forged, genuine]) s.socket?.close();
  });
});

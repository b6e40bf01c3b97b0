// The standing abuse suite, RTMP side (random bytes and half-open connections are in fuzz.test.ts):
// chunk headers that declare huge messages on many chunk streams, more connections than allowed, and a
// client that trickles its handshake to stay under the idle timeout. An encoder still goes live after.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, waitFor, type TestNode } from '../helpers/harness.ts';
import { pushRtmp } from '../helpers/media.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ SFU_WORKERS: 1, RTMP_MAX_CONNECTIONS: 5 });
});

afterAll(async () => {
  await node?.stop();
});

function open(): Promise<{ socket: Socket; closed: () => boolean; received: () => Buffer }> {
  return new Promise((resolve) => {
    const socket = connect(node.lc.rtmpPort, '127.0.0.1');
    let closed = false;
    let received = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => (received = Buffer.concat([received, data])));
    socket.on('close', () => (closed = true));
    socket.on('error', () => (closed = true));
    socket.once('connect', () => resolve({ socket, closed: () => closed, received: () => received }));
  });
}

/** C0+C1, then C2 once S0+S1+S2 are in: the client is past the handshake. */
async function handshake(): Promise<{ socket: Socket; closed: () => boolean }> {
  const client = await open();
  client.socket.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536)]));
  await waitFor('S0+S1+S2', () => client.received().length >= 1 + 1536 * 2 || undefined, 5000);
  client.socket.write(client.received().subarray(1, 1537));
  return client;
}

describe('RTMP port, hostile clients', () => {
  it('refuses chunk headers that declare huge messages on many chunk streams, without allocating them', async () => {
    const client = await handshake();
    const before = process.memoryUsage().rss;
    // fmt 0 headers on chunk streams 3..42, each declaring a 16 MiB AMF0 command (the parser used to allocate each).
    const headers = Buffer.concat(Array.from({ length: 40 }, (_, i) => Buffer.from([3 + i, 0, 0, 0, 0xff, 0xff, 0xff, 20, 0, 0, 0, 0])));
    client.socket.write(headers);
    await waitFor('the connection is closed', () => client.closed() || undefined, 5000);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    expect(node.logLines.some((line) => /larger than allowed/.test(line))).toBe(true);
  });

  it('closes connections past RTMP_MAX_CONNECTIONS at once, and a handshake trickled to dodge the idle timeout', async () => {
    const held = await Promise.all(Array.from({ length: 5 }, () => open()));
    const extra = await Promise.all(Array.from({ length: 3 }, () => open()));
    await waitFor('the extra connections closed', () => extra.every((c) => c.closed()) || undefined, 5000);
    expect(held.filter((c) => c.closed())).toHaveLength(0);
    // One byte every 2 s keeps the socket from idling out, but not from the handshake's own deadline.
    const trickler = held[0]!;
    const trickle = setInterval(() => !trickler.closed() && trickler.socket.write(Buffer.from([3])), 2000);
    try {
      await waitFor('the trickler closed', () => trickler.closed() || undefined, 20_000);
    } finally {
      clearInterval(trickle);
    }
    for (const c of held) c.socket.destroy();
    await waitFor(
      'places free again',
      async () => {
        const probe = await open();
        await new Promise((resolve) => setTimeout(resolve, 300));
        const ok = !probe.closed();
        probe.socket.destroy();
        return ok || undefined;
      },
      10_000,
    );
  });

  it('still takes a real encoder afterwards', async () => {
    const stream = (await node.api('POST', '/v1/streams', { title: 'after the storm' })).body;
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 8, size: '640x360' });
    try {
      await waitFor('live', () => node.lc.registry.get(stream.id), 15_000);
    } finally {
      push.stop();
    }
  });
});

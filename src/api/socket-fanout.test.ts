import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { SocketFanout, textFrame } from './socket-fanout.ts';

describe('textFrame', () => {
  it('writes the RFC 6455 header for each length encoding', () => {
    const header = (length: number) => [...textFrame(Buffer.alloc(length, 'x')).subarray(0, length < 126 ? 2 : length < 65_536 ? 4 : 10)];
    expect(header(0)).toEqual([0x81, 0]);
    expect(header(125)).toEqual([0x81, 125]);
    expect(header(126)).toEqual([0x81, 126, 0, 126]);
    expect(header(65_535)).toEqual([0x81, 126, 0xff, 0xff]);
    expect(header(65_536)).toEqual([0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    const frame = textFrame(Buffer.from('{"n":1}'));
    expect(frame.length).toBe(9);
    expect(frame.subarray(2).toString()).toBe('{"n":1}');
  });
});

/** A WebSocket server with one client per entry of `compress` (permessage-deflate or not), all connected. */
async function connectedClients(compress: boolean[]) {
  const server = createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: { threshold: 0 } });
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws) => sockets.push(ws));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as { port: number }).port}`;
  const clients: WebSocket[] = [];
  const received: string[][] = compress.map(() => []);
  // One at a time, so the server's sockets are in the clients' order.
  for (const [i, perMessageDeflate] of compress.entries()) {
    const client = new WebSocket(url, { perMessageDeflate });
    client.on('message', (data) => received[i]!.push(data.toString()));
    await new Promise((resolve) => client.once('open', resolve));
    await waitUntil(() => sockets.length === i + 1);
    clients.push(client);
  }
  return {
    sockets,
    received,
    close() {
      for (const client of clients) client.close();
      wss.close();
      server.close();
    },
  };
}

async function waitUntil(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SocketFanout', () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  it('delivers every message of a turn to every socket, in order, compressed sockets included', async () => {
    // One client without compression (raw frames), one that negotiated permessage-deflate (ws frames it).
    const { sockets, received, ...rest } = await connectedClients([false, true]);
    close = rest.close;
    const fanout = new SocketFanout(() => sockets, 1024 * 1024);
    const big = JSON.stringify({ type: 'chat', text: 'x'.repeat(70_000) });
    const medium = JSON.stringify({ type: 'chat', text: 'y'.repeat(1000) });
    fanout.send('show', '{"n":1}');
    fanout.send('show', big);
    fanout.send('show', medium);
    fanout.send('show', '{"n":3}', { mustDeliver: true });
    fanout.send('other', '{"n":"elsewhere"}');
    await settle(200);
    for (const messages of received) expect(messages).toEqual(['{"n":1}', big, medium, '{"n":3}', '{"n":"elsewhere"}']);
    expect(sockets.map((socket) => socket.extensions)).toEqual(['', expect.stringContaining('permessage-deflate')]);
  });

  it('slices a pass over turns without reordering: a message sent mid-pass joins the sockets not yet written', async () => {
    const { sockets, received, ...rest } = await connectedClients([false, false, false, false, false]);
    close = rest.close;
    // Count the writes each server socket makes.
    const writes = new Map<WebSocket, number>();
    for (const socket of sockets) {
      const raw = (socket as unknown as { _socket: { write: (...args: unknown[]) => boolean } })._socket;
      const write = raw.write.bind(raw);
      raw.write = (...args: unknown[]) => (writes.set(socket, (writes.get(socket) ?? 0) + 1), write(...args));
    }

    // Two sockets per turn: a pass over five takes three turns; what is sent during it joins the pass.
    const fanout = new SocketFanout(() => sockets, 1024 * 1024, 2);
    fanout.send('show', '"a"');
    fanout.send('show', '"b"');
    setImmediate(() => fanout.send('show', '"c"'));
    setImmediate(() => setImmediate(() => fanout.send('show', '"d"')));
    await settle(200);
    for (const messages of received) expect(messages).toEqual(['"a"', '"b"', '"c"', '"d"']);
    // Turn by turn: sockets 0-1 get a+b, then 2-3 get a+b+c, then 4 gets a+b+c+d in one write and 0 gets c+d, then
    // 1 gets c+d and 2 gets d, then 3 gets d: nobody waited for the pass to end, and nobody got a message twice.
    expect(sockets.map((socket) => writes.get(socket))).toEqual([2, 2, 2, 2, 1]);
  });

  it("holds a new socket's messages until its first message is written", async () => {
    const { sockets, received, ...rest } = await connectedClients([false]);
    close = rest.close;
    const fanout = new SocketFanout(() => sockets, 1024 * 1024);
    fanout.hold(sockets[0]!);
    fanout.send('show', '"published while the state was read"');
    await settle(50);
    expect(received[0]).toEqual([]);
    fanout.greet(sockets[0]!, '"state"');
    fanout.send('show', '"after"');
    await settle(100);
    expect(received[0]).toEqual(['"state"', '"published while the state was read"', '"after"']);
  });
});

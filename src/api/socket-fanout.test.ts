import { createServer, type Server } from 'node:http';
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

describe('SocketFanout', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('delivers every message of a turn to every socket, in order, compressed sockets included', async () => {
    server = createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: { threshold: 0 } });
    const sockets = new Set<WebSocket>();
    wss.on('connection', (ws) => sockets.add(ws));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `ws://127.0.0.1:${(server.address() as { port: number }).port}`;
    // One client without compression (raw frames), one that negotiated permessage-deflate (ws frames it).
    const clients = [new WebSocket(url, { perMessageDeflate: false }), new WebSocket(url, { perMessageDeflate: true })];
    const received: string[][] = clients.map(() => []);
    clients.forEach((client, i) => client.on('message', (data) => received[i]!.push(data.toString())));
    await Promise.all(clients.map((client) => new Promise((resolve) => client.once('open', resolve))));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sockets.size).toBe(2);

    const fanout = new SocketFanout(() => sockets, 1024 * 1024);
    const big = JSON.stringify({ type: 'chat', text: 'x'.repeat(70_000) });
    const medium = JSON.stringify({ type: 'chat', text: 'y'.repeat(1000) });
    fanout.send('show', '{"n":1}');
    fanout.send('show', big);
    fanout.send('show', medium);
    fanout.send('show', '{"n":3}', { mustDeliver: true });
    fanout.send('other', '{"n":"elsewhere"}');
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const messages of received) expect(messages).toEqual(['{"n":1}', big, medium, '{"n":3}', '{"n":"elsewhere"}']);
    expect([...sockets].map((socket) => socket.extensions)).toEqual(['', expect.stringContaining('permessage-deflate')]);
    for (const client of clients) client.close();
    wss.close();
  });

  it('slices a pass over turns without reordering: a message sent mid-pass joins the sockets not yet written', async () => {
    server = createServer();
    const wss = new WebSocketServer({ server });
    const sockets: WebSocket[] = [];
    wss.on('connection', (ws) => sockets.push(ws));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `ws://127.0.0.1:${(server.address() as { port: number }).port}`;
    const clients = Array.from({ length: 5 }, () => new WebSocket(url));
    const received: string[][] = clients.map(() => []);
    clients.forEach((client, i) => client.on('message', (data) => received[i]!.push(data.toString())));
    await Promise.all(clients.map((client) => new Promise((resolve) => client.once('open', resolve))));
    await new Promise((resolve) => setTimeout(resolve, 50));
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
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const messages of received) expect(messages).toEqual(['"a"', '"b"', '"c"', '"d"']);
    // Turn by turn: sockets 0-1 get a+b, then 2-3 get a+b+c, then 4 gets a+b+c+d in one write and 0 gets c+d, then
    // 1 gets c+d and 2 gets d, then 3 gets d: nobody waited for the pass to end, and nobody got a message twice.
    expect(sockets.map((socket) => writes.get(socket))).toEqual([2, 2, 2, 2, 1]);
    for (const client of clients) client.close();
    wss.close();
  });

  it('holds a new socket\'s messages until its first message is written', async () => {
    server = createServer();
    const wss = new WebSocketServer({ server });
    const sockets: WebSocket[] = [];
    wss.on('connection', (ws) => sockets.push(ws));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as { port: number }).port}`);
    const received: string[] = [];
    client.on('message', (data) => received.push(data.toString()));
    await new Promise((resolve) => client.once('open', resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));

    const fanout = new SocketFanout(() => sockets, 1024 * 1024);
    fanout.hold(sockets[0]!);
    fanout.send('show', '"published while the state was read"');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received).toEqual([]);
    fanout.greet(sockets[0]!, '"state"');
    fanout.send('show', '"after"');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toEqual(['"state"', '"published while the state was read"', '"after"']);
    client.close();
    wss.close();
  });
});

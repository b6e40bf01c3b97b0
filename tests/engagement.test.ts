// Live engagement on the viewers' socket, across two livecue nodes: chat, reactions, poll votes,
// moderation, and hostile input contained to the connection that sent it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestNode, waitFor, type TestNode } from './helpers/harness.ts';

let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  a = await startTestNode({ CHAT_BLOCKED_WORDS: 'scam,spam' });
  b = await startTestNode({
    DATABASE_URL: a.lc.config.DATABASE_URL,
    REDIS_KEY_PREFIX: a.lc.config.REDIS_KEY_PREFIX,
    LIVECUE_ADMIN_TOKEN: a.lc.adminToken,
    CHAT_BLOCKED_WORDS: 'scam,spam',
  });
});

afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

interface Client {
  socket: WebSocket;
  messages: any[];
  closed?: { code: number; reason: string };
}

async function join(node: TestNode, playbackId: string, viewer: string): Promise<Client> {
  const socket = new WebSocket(`ws://127.0.0.1:${node.lc.httpPort}/live/${playbackId}/events?viewer=${viewer}`);
  const client: Client = { socket, messages: [] };
  socket.on('message', (data) => client.messages.push(JSON.parse(data.toString())));
  socket.on('close', (code, reason) => (client.closed = { code, reason: reason.toString() }));
  await waitFor('state', () => client.messages.some((m) => m.type === 'state'), 5000);
  return client;
}

const send = (client: Client, message: unknown) => client.socket.send(JSON.stringify(message));

describe('engagement', () => {
  it('carries chat, reactions and votes between viewers on different nodes, with moderation', async () => {
    const { body: stream } = await a.api('POST', '/v1/streams', { title: 'chatty' });
    const alice = await join(a, stream.playbackId, 'alice-viewer');
    const bob = await join(b, stream.playbackId, 'bob-viewer-1');

    send(alice, { type: 'chat', text: 'Is the sand colour in stock?' });
    const chat = await waitFor('chat on the other node', () => bob.messages.find((m) => m.type === 'chat'), 5000);
    expect(chat).toMatchObject({ text: 'Is the sand colour in stock?', viewer: { id: 'alice-viewer' } });

    send(alice, { type: 'chat', text: 'this is a SCAM' });
    await waitFor('refusal', () => alice.messages.find((m) => m.type === 'error' && /chat rules/.test(m.error)), 5000);

    // Taps are aggregated: one message per second, not one per tap.
    for (let i = 0; i < 12; i++) send(bob, { type: 'reaction', emoji: '❤️' });
    const reactions = await waitFor('reaction counts', () => alice.messages.find((m) => m.type === 'reactions' && m.counts['❤️'] === 12), 5000);
    expect(reactions.counts).toEqual({ '❤️': 12 });
    expect(alice.messages.filter((m) => m.type === 'reactions').length).toBeLessThanOrEqual(2);

    send(bob, { type: 'vote', pollId: 'colour', option: 1 });
    send(alice, { type: 'vote', pollId: 'colour', option: 1 });
    await waitFor('tally', () => bob.messages.find((m) => m.type === 'poll.tally' && m.tally['1'] === 2), 5000);
    send(bob, { type: 'vote', pollId: 'colour', option: 0 });
    await waitFor('second vote refused', () => bob.messages.find((m) => m.type === 'error' && /voted/.test(m.error)), 5000);
    expect((await a.api('GET', `/v1/streams/${stream.id}/polls/colour`)).body.tally).toEqual({ '1': 2 });
    // Closing the poll during a live show publishes the results as a cue.
    const { pushRtmp } = await import('./helpers/media.ts');
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 6, size: '640x360' });
    await waitFor('live', () => a.lc.registry.get(stream.id), 10_000);
    const closed = await a.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'poll.close', pollId: 'colour' });
    expect(closed.body.payload.results).toEqual([0, 2]);
    await waitFor('results cue on the socket', () => bob.messages.find((m) => m.type === 'cue' && m.cue.type === 'poll.close'), 5000);
    push.stop();

    // The host deletes a message and mutes a viewer.
    expect((await a.api('DELETE', `/v1/streams/${stream.id}/chat/${chat.id}`)).status).toBe(204);
    await waitFor('deletion seen', () => bob.messages.find((m) => m.type === 'chat.deleted' && m.id === chat.id), 5000);
    expect((await b.api('POST', `/v1/streams/${stream.id}/mutes`, { viewerId: 'alice-viewer' })).status).toBe(204);
    send(alice, { type: 'chat', text: 'hello again' });
    await waitFor('muted', () => alice.messages.find((m) => m.type === 'error' && /muted/.test(m.error)), 5000);
    alice.socket.close();
    bob.socket.close();
  });

  it('runs Q&A with upvotes and answers, and a slow mode', async () => {
    const { body: stream } = await a.api('POST', '/v1/streams', { title: 'questions' });
    const asker = await join(a, stream.playbackId, 'asker-viewer');
    const fan = await join(b, stream.playbackId, 'fan-viewer-1');
    send(asker, { type: 'question', text: 'Does it come in XL?' });
    const question = (await waitFor('question everywhere', () => fan.messages.find((m) => m.type === 'question'), 5000)).question;
    send(fan, { type: 'upvote', questionId: question.id });
    await waitFor('upvote seen', () => asker.messages.find((m) => m.type === 'question.updated' && m.upvotes === 1), 5000);
    send(fan, { type: 'upvote', questionId: question.id });
    await waitFor('one upvote per viewer', () => fan.messages.find((m) => m.type === 'error' && /upvoted/.test(m.error)), 5000);
    expect((await a.api('POST', `/v1/streams/${stream.id}/questions/${question.id}/answered`)).status).toBe(204);
    await waitFor('answered seen', () => fan.messages.find((m) => m.type === 'question.updated' && m.answered), 5000);
    expect((await b.api('GET', `/v1/streams/${stream.id}/questions`)).body.questions[0]).toMatchObject({ id: question.id, upvotes: 1, answered: true });

    expect((await a.api('PUT', `/v1/streams/${stream.id}/chat-settings`, { slowModeSeconds: 30 })).status).toBe(200);
    send(fan, { type: 'chat', text: 'first' });
    await waitFor('first message through', () => asker.messages.find((m) => m.type === 'chat' && m.text === 'first'), 5000);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    send(fan, { type: 'chat', text: 'second' });
    await waitFor('slowed', () => fan.messages.find((m) => m.type === 'error' && /slow mode/.test(m.error)), 5000);
    asker.socket.close();
    fan.socket.close();
  });

  it('closes only the connection that sends hostile input', async () => {
    const { body: stream } = await a.api('POST', '/v1/streams', { title: 'hostile' });
    const calm = await join(b, stream.playbackId, 'calm-viewer');
    const binary = await join(a, stream.playbackId, 'binary-viewer');
    const malformed = await join(a, stream.playbackId, 'json-viewer');
    const flooder = await join(a, stream.playbackId, 'flood-viewer');
    const huge = await join(a, stream.playbackId, 'huge-viewer');

    binary.socket.send(Buffer.from([0, 1, 2, 3]));
    malformed.socket.send('{"type": "chat", "text": ');
    for (let i = 0; i < 20; i++) send(flooder, { type: 'chat', text: `buy ${i}` });
    huge.socket.send(JSON.stringify({ type: 'chat', text: 'x'.repeat(10_000) }));

    await waitFor('binary closed', () => binary.closed, 5000);
    expect(binary.closed).toMatchObject({ code: 1003 });
    await waitFor('malformed closed', () => malformed.closed, 5000);
    expect(malformed.closed).toMatchObject({ code: 1007, reason: 'malformed JSON' });
    await waitFor('flooder closed', () => flooder.closed, 5000);
    expect(flooder.closed).toMatchObject({ code: 1008, reason: 'flooding' });
    await waitFor('huge closed', () => huge.closed, 5000);
    expect(huge.closed!.code).toBe(1009);

    // The calm viewer is still connected and still hears the show's chat.
    const other = await join(a, stream.playbackId, 'late-viewer');
    send(other, { type: 'chat', text: 'still here?' });
    await waitFor('calm viewer hears it', () => calm.messages.find((m) => m.type === 'chat' && m.text === 'still here?'), 5000);
    expect(calm.closed).toBeUndefined();
    calm.socket.close();
    other.socket.close();
  });
});

describe('analytics', () => {
  it('count what happened: viewers by path, chat, reactions, votes, cues, claims and conversion', async () => {
    const { body: stream } = await a.api('POST', '/v1/streams', { title: 'counted' });
    const viewer = await join(b, stream.playbackId, 'counted-viewer');
    send(viewer, { type: 'chat', text: 'one' });
    for (let i = 0; i < 5; i++) send(viewer, { type: 'reaction', emoji: '🔥' });
    send(viewer, { type: 'vote', pollId: 'counted-poll', option: 0 });
    await waitFor('vote counted', () => viewer.messages.find((m) => m.type === 'poll.tally'), 5000);
    for (const id of ['hls-viewer-1', 'hls-viewer-2', 'hls-viewer-3']) {
      expect((await fetch(`${a.baseUrl}/live/${stream.playbackId}/beat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ viewerId: id, path: 'hls' }) })).status).toBe(204);
    }
    await fetch(`${b.baseUrl}/live/${stream.playbackId}/beat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ viewerId: 'replay-viewer-1', path: 'replay' }) });
    const badBeat = await fetch(`${a.baseUrl}/live/${stream.playbackId}/beat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"viewerId":"x"}' });
    expect(badBeat.status).toBe(400);

    const { pushRtmp } = await import('./helpers/media.ts');
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 6, size: '640x360' });
    await waitFor('live', () => a.lc.registry.get(stream.id), 10_000);
    const product = (await a.api('POST', '/v1/products', { sku: 'COUNT-1', title: 'Counted', price: 10, currency: 'EUR' })).body;
    const offer = (await a.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'offer.start', productId: product.id, code: 'C', durationSeconds: 60, quantity: 5 })).body;
    const claims = [];
    for (const viewerId of ['buyer-one-1', 'buyer-two-2']) {
      claims.push(await fetch(`${a.baseUrl}/v1/offers/${offer.id}/claims`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ viewerId }) }).then((r) => r.json()));
    }
    await a.api('POST', `/v1/claims/${claims[0].id}/confirm`);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // reactions are flushed once a second

    const { body } = await b.api('GET', `/v1/streams/${stream.id}/analytics`);
    expect(body.live.viewers).toMatchObject({ hls: 3, replay: 1, webrtc: 0, total: 4 });
    expect(body.summary).toMatchObject({ chatMessages: 1, reactions: 5, votes: 1, claims: 2, cues: 1, peakViewers: 4 });
    expect(body.offers).toEqual([expect.objectContaining({ id: offer.id, quantity: 5, remaining: 3, claims: 2, confirmed: 1, conversion: 0.5 })]);
    expect(body.offers[0].secondsToFirstClaim).toBeGreaterThanOrEqual(0);
    expect(body.perMinute.length).toBeGreaterThanOrEqual(1);
    viewer.socket.close();
    push.stop();
  });
});

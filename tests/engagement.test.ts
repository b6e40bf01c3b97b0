// Live engagement on the viewers' socket, across two livecue nodes: chat, reactions, poll votes,
// moderation, and hostile input contained to the connection that sent it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { newViewer, sleep, startTestNode, waitFor, type TestNode, type TestViewer } from './helpers/harness.ts';
import { pushRtmp } from './helpers/media.ts';
import { postSdp, WeriftViewer } from './helpers/webrtc.ts';

let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  // Nodes of one cluster share LIVECUE_SECRET_KEY: a viewer token one node issued holds on the other.
  const LIVECUE_SECRET_KEY = 'engagement-test-shared-secret-0123456789';
  a = await startTestNode({ CHAT_BLOCKED_WORDS: 'scam,spam', LIVECUE_SECRET_KEY });
  b = await startTestNode({
    LIVECUE_SECRET_KEY,
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

/** A viewer socket; `who` is a viewer livecue issued, or a label for a new one. */
async function join(node: TestNode, playbackId: string, who: string | TestViewer): Promise<Client & { id: string }> {
  const viewer = typeof who === 'string' ? await newViewer(node) : who;
  const socket = new WebSocket(`ws://127.0.0.1:${node.lc.httpPort}/live/${playbackId}/events?viewerToken=${viewer.token}`);
  const client = { socket, messages: [] as any[], id: viewer.id } as Client & { id: string };
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
    expect(chat).toMatchObject({ text: 'Is the sand colour in stock?', viewer: { id: alice.id } });

    send(alice, { type: 'chat', text: 'this is a SCAM' });
    await waitFor('refusal', () => alice.messages.find((m) => m.type === 'error' && /chat rules/.test(m.error)), 5000);

    // Taps are aggregated: one message per second, not one per tap.
    for (let i = 0; i < 12; i++) send(bob, { type: 'reaction', emoji: '❤️' });
    const reactions = await waitFor('reaction counts', () => alice.messages.find((m) => m.type === 'reactions' && m.counts['❤️'] === 12), 5000);
    expect(reactions.counts).toEqual({ '❤️': 12 });
    expect(alice.messages.filter((m) => m.type === 'reactions').length).toBeLessThanOrEqual(2);

    // Votes count only for a poll the show has open, and only for its options.
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 20, size: '640x360' });
    await waitFor('live', () => a.lc.registry.get(stream.id), 10_000);
    send(bob, { type: 'vote', pollId: 'colour', option: 1, ref: 'early' });
    expect((await waitFor('vote before the poll refused', () => bob.messages.find((m) => m.type === 'error' && m.ref === 'early'), 5000)).error).toMatch(
      /no such open poll/,
    );
    expect(
      (await a.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'poll.open', pollId: 'colour', question: 'Which colour?', options: ['Sand', 'Navy'] }))
        .status,
    ).toBe(201);
    send(bob, { type: 'vote', pollId: 'colour', option: 7, ref: 'out-of-range' });
    expect((await waitFor('option out of range refused', () => bob.messages.find((m) => m.type === 'error' && m.ref === 'out-of-range'), 5000)).error).toMatch(
      /no such option/,
    );
    send(bob, { type: 'vote', pollId: 'colour', option: 1 });
    send(alice, { type: 'vote', pollId: 'colour', option: 1 });
    await waitFor('tally', () => bob.messages.find((m) => m.type === 'poll.tally' && m.tally['1'] === 2), 5000);
    // A message may carry a ref of the client's, and a refusal names it.
    send(bob, { type: 'vote', pollId: 'colour', option: 0, ref: 'second-vote' });
    const refused = await waitFor('second vote refused', () => bob.messages.find((m) => m.type === 'error' && /voted/.test(m.error)), 5000);
    expect(refused.ref).toBe('second-vote');
    // Each socket's first message is its state, whatever was published while it was being read.
    expect(alice.messages[0].type).toBe('state');
    expect(bob.messages[0].type).toBe('state');
    expect((await a.api('GET', `/v1/streams/${stream.id}/polls/colour`)).body.tally).toEqual({ '1': 2 });
    // Closing the poll during a live show publishes the results as a cue.
    const closed = await a.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'poll.close', pollId: 'colour' });
    expect(closed.body.payload.results).toEqual([0, 2]);
    await waitFor('results cue on the socket', () => bob.messages.find((m) => m.type === 'cue' && m.cue.type === 'poll.close'), 5000);
    push.stop();

    // The host deletes a message and mutes a viewer.
    expect((await a.api('DELETE', `/v1/streams/${stream.id}/chat/${chat.id}`)).status).toBe(204);
    await waitFor('deletion seen', () => bob.messages.find((m) => m.type === 'chat.deleted' && m.id === chat.id), 5000);
    expect((await b.api('POST', `/v1/streams/${stream.id}/mutes`, { viewerId: alice.id })).status).toBe(204);
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
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 12, size: '640x360' });
    await waitFor('live', () => a.lc.registry.get(stream.id), 10_000);
    send(viewer, { type: 'chat', text: 'one' });
    for (let i = 0; i < 5; i++) send(viewer, { type: 'reaction', emoji: '🔥' });
    await a.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'poll.open', pollId: 'counted-poll', question: 'Counted?', options: ['Yes', 'No'] });
    send(viewer, { type: 'vote', pollId: 'counted-poll', option: 0 });
    await waitFor('vote counted', () => viewer.messages.find((m) => m.type === 'poll.tally'), 5000);
    for (const id of ['hls-viewer-1', 'hls-viewer-2', 'hls-viewer-3']) {
      expect(
        (
          await fetch(`${a.baseUrl}/live/${stream.playbackId}/beat`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ viewerId: id, path: 'hls' }),
          })
        ).status,
      ).toBe(204);
    }
    await fetch(`${b.baseUrl}/live/${stream.playbackId}/beat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ viewerId: 'replay-viewer-1', path: 'replay' }),
    });
    const badBeat = await fetch(`${a.baseUrl}/live/${stream.playbackId}/beat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"viewerId":"x"}',
    });
    expect(badBeat.status).toBe(400);

    const product = (await a.api('POST', '/v1/products', { sku: 'COUNT-1', title: 'Counted', price: 10, currency: 'EUR' })).body;
    const offer = (
      await a.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'offer.start', productId: product.id, code: 'C', durationSeconds: 60, quantity: 5 })
    ).body;
    const claims = [];
    for (const buyer of [await newViewer(a), await newViewer(b)]) {
      claims.push(
        await fetch(`${a.baseUrl}/v1/offers/${offer.id}/claims`, { method: 'POST', headers: { authorization: `Bearer ${buyer.token}` } }).then((r) => r.json()),
      );
    }
    await a.api('POST', `/v1/claims/${claims[0].id}/confirm`);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // reactions are flushed once a second

    const { body } = await b.api('GET', `/v1/streams/${stream.id}/analytics`);
    expect(body.live.viewers).toMatchObject({ hls: 3, replay: 1, webrtc: 0, total: 4 });
    expect(body.summary).toMatchObject({ chatMessages: 1, reactions: 5, votes: 1, claims: 2, cues: 2, peakViewers: 4 });
    expect(body.offers).toEqual([expect.objectContaining({ id: offer.id, quantity: 5, remaining: 3, claims: 2, confirmed: 1, conversion: 0.5 })]);
    expect(body.offers[0].secondsToFirstClaim).toBeGreaterThanOrEqual(0);
    expect(body.perMinute.length).toBeGreaterThanOrEqual(1);
    viewer.socket.close();
    push.stop();
  });

  it('count per pinned product: views while pinned, clicks, claims and conversion; watch time by path; the summary after the show', async () => {
    const { body: stream } = await a.api('POST', '/v1/streams', { title: 'pinned' });
    const [one, two] = [await newViewer(a), await newViewer(b)];
    const shoe = (await a.api('POST', '/v1/products', { sku: 'PIN-SHOE', title: 'Shoe', price: 80, currency: 'EUR' })).body;
    const hat = (await a.api('POST', '/v1/products', { sku: 'PIN-HAT', title: 'Hat', price: 20, currency: 'EUR' })).body;
    const pushStarted = Date.now();
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 60, size: '640x360' });
    const session = await waitFor('live', () => a.lc.registry.get(stream.id), 10_000);
    await waitFor('sfu producers', () => session.room.producer('video'), 10_000);

    /** Each request's start and end: the server's instant of it lies between them. */
    const timed = async <T>(request: () => Promise<T>) => {
      const start = Date.now();
      const result = await request();
      return { start, end: Date.now(), result };
    };
    const beat = (node: TestNode, viewerId: string) =>
      timed(async () => {
        const response = await fetch(`${node.baseUrl}/live/${stream.playbackId}/beat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ viewerId, path: 'hls' }),
        });
        expect(response.status).toBe(204);
      });
    const click = (viewerId: string, target: Record<string, string>) =>
      fetch(`${a.baseUrl}/live/${stream.playbackId}/click`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ viewerId, ...target }),
      });

    // Three viewers watch live: two HLS players (beating to different nodes) and a WebRTC viewer.
    const beats: Record<string, { start: number; end: number }[]> = { [one.id]: [], [two.id]: [] };
    beats[one.id]!.push(await beat(a, one.id));
    beats[two.id]!.push(await beat(b, two.id));
    const webrtc = new WeriftViewer();
    const joined = await timed(async () => postSdp(stream.playback.whepUrl, await webrtc.offer()));
    expect(joined.result.status).toBe(201);
    await webrtc.accept(joined.result.answer);
    await waitFor('webrtc video', () => webrtc.videoPackets > 0, 10_000);
    // The host console's preview (?preview=1) is not an audience member: not a viewer, no views, no watch time.
    const extra: { viewer: WeriftViewer; location: string }[] = [];
    for (const query of ['preview=1']) {
      const viewer = new WeriftViewer();
      const answer = await postSdp(`${stream.playback.whepUrl}?${query}`, await viewer.offer());
      expect(answer.status).toBe(201);
      await viewer.accept(answer.answer);
      extra.push({ viewer, location: answer.location! });
    }
    await waitFor('preview video', () => extra.every(({ viewer }) => viewer.videoPackets > 0), 10_000);
    expect((await a.api('GET', `/v1/streams/${stream.id}/analytics`)).body.live.viewers.webrtc).toBe(1);

    const pinned = await timed(() => a.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'product.pin', productId: shoe.id }));
    const pinCue = pinned.result.body;
    const offer = (
      await a.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'offer.start', productId: shoe.id, code: 'SHOE', durationSeconds: 120, quantity: 5 })
    ).body;

    // Two of the three tap the card: one twice over HTTP (two taps, one click), one on its socket.
    expect((await click(one.id, { cueId: pinCue.id })).status).toBe(204);
    expect((await click(one.id, { productId: shoe.id })).status).toBe(204);
    expect((await click(one.id, { productId: hat.id })).status).toBe(404); // the hat was never pinned
    expect((await click(one.id, {})).status).toBe(400);
    const socket = await join(b, stream.playbackId, two);
    send(socket, { type: 'click', cueId: 'cue_AAAAAAAAAAAAAAAA' });
    await waitFor('unknown pin refused', () => socket.messages.find((m) => m.type === 'error' && /no such pinned product/.test(m.error)), 5000);
    send(socket, { type: 'click', cueId: pinCue.id });
    const pinAfterClicks = async () => (await a.api('GET', `/v1/streams/${stream.id}/analytics`)).body.pins[0];
    await waitFor('socket tap counted', async () => (await pinAfterClicks()).taps === 3, 5000);

    // One of them claims; a claim without a viewer is refused.
    const claimed = await timed(() =>
      fetch(`${a.baseUrl}/v1/offers/${offer.id}/claims`, { method: 'POST', headers: { authorization: `Bearer ${one.token}` } }),
    );
    expect(claimed.result.status).toBe(201);
    expect(
      (await fetch(`${a.baseUrl}/v1/offers/${offer.id}/claims`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status,
    ).toBe(401);

    // The players beat on while the shoe is pinned; then it is unpinned.
    await sleep(1500);
    beats[one.id]!.push(await beat(a, one.id));
    beats[two.id]!.push(await beat(b, two.id));
    const unpinned = await timed(() => a.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'product.unpin', productId: shoe.id }));
    expect(unpinned.result.status).toBe(201);
    // A viewer arriving after the unpin is not in the shoe's audience.
    await beat(a, 'pin-hls-late');
    await sleep(1000);
    beats[one.id]!.push(await beat(a, one.id));
    beats[two.id]!.push(await beat(b, two.id));
    const left = await timed(() => fetch(`${a.baseUrl}${joined.result.location}`, { method: 'DELETE' }));
    expect(left.result.status).toBe(200);
    for (const { viewer, location } of extra) {
      expect((await fetch(`${a.baseUrl}${location}`, { method: 'DELETE' })).status).toBe(200);
      await viewer.close();
    }
    // The hat is pinned last, to the three HLS players, and stays up until the show ends.
    const hatPin = (await a.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'product.pin', productId: hat.id })).body;

    const { body } = await b.api('GET', `/v1/streams/${stream.id}/analytics`);
    expect(body.live.viewers).toEqual({ webrtc: 0, hls: 3, replay: 0, total: 3 });
    expect(body.live.pinned).toMatchObject({ cueId: hatPin.id, productId: hat.id });
    const [shoePin, hatPinStats] = body.pins;
    expect(shoePin).toMatchObject({ cueId: pinCue.id, productId: shoe.id, views: 3, clicks: 2, taps: 3, claims: 1, conversion: 0.333, clickRate: 0.667 });
    expect(hatPinStats).toMatchObject({ cueId: hatPin.id, productId: hat.id, views: 3, clicks: 0, taps: 0, claims: 0, conversion: 0, unpinnedAt: null });
    // Pinned at P and unpinned at U (each inside its request): three viewers watched all of it.
    const within = (value: number, low: number, high: number) => {
      expect(value).toBeGreaterThanOrEqual(low - 0.1);
      expect(value).toBeLessThanOrEqual(high + 0.1);
    };
    within(shoePin.pinnedSeconds, (unpinned.start - pinned.end) / 1000, (unpinned.end - pinned.start) / 1000);
    within(shoePin.exposureSeconds, (3 * (unpinned.start - pinned.end)) / 1000, (3 * (unpinned.end - pinned.start)) / 1000);
    within(shoePin.secondsToFirstClaim, (claimed.start - pinned.end) / 1000, (claimed.end - pinned.start) / 1000);

    expect(body.products).toEqual([
      expect.objectContaining({
        productId: shoe.id,
        pins: 1,
        views: 3,
        clicks: 2,
        taps: 3,
        claims: 1,
        claimsWhilePinned: 1,
        conversion: 0.333,
        clickRate: 0.667,
      }),
      expect.objectContaining({ productId: hat.id, pins: 1, views: 3, clicks: 0, claims: 0, conversion: 0 }),
    ]);
    expect(body.summary.topProducts.map((product: { productId: string }) => product.productId)).toEqual([shoe.id, hat.id]);
    expect(body.summary.averageSecondsFromPinToFirstClaim).toBe(shoePin.secondsToFirstClaim);

    // Watch time: the WebRTC viewer from join to leave; each HLS player from its first beat to its last.
    const { watchSeconds } = body.summary;
    within(watchSeconds.webrtc, (left.start - joined.end) / 1000, (left.end - joined.start) / 1000);
    const hlsLow = Object.values(beats).reduce((sum, list) => sum + (list.at(-1)!.start - list[0]!.end) / 1000, 0);
    const hlsHigh = Object.values(beats).reduce((sum, list) => sum + (list.at(-1)!.end - list[0]!.start) / 1000, 0);
    within(watchSeconds.hls, hlsLow, hlsHigh);
    expect(watchSeconds.replay).toBe(0);
    within(watchSeconds.total, watchSeconds.webrtc + watchSeconds.hls, watchSeconds.webrtc + watchSeconds.hls);
    // Peak: the three live viewers and the late one; average: live watch time over the time live.
    expect(body.summary.peakViewers).toBe(4);
    expect(body.summary.liveSeconds).toBeGreaterThan(0);
    expect(body.summary.liveSeconds).toBeLessThanOrEqual((Date.now() - pushStarted) / 1000);
    expect(body.summary.averageViewers).toBeCloseTo((watchSeconds.webrtc + watchSeconds.hls) / body.summary.liveSeconds, 1);
    expect(body.summary).toMatchObject({ taps: 3, claims: 1, cues: 4 });
    const minuteWatch = body.perMinute.reduce((sum: number, row: { watchSeconds: number }) => sum + row.watchSeconds, 0);
    within(minuteWatch, watchSeconds.total, watchSeconds.total);

    // The Prometheus series: engagement per node, labelled only by small fixed sets.
    const metricsA = await (await fetch(`${a.baseUrl}/metrics`)).text();
    const metricsB = await (await fetch(`${b.baseUrl}/metrics`)).text();
    expect(metricsA).toMatch(/^livecue_product_clicks_total 2$/m);
    expect(metricsB).toMatch(/^livecue_product_clicks_total 1$/m);
    expect(metricsA).toMatch(/^livecue_claims_total\{outcome="reserved"\} [1-9]\d*$/m);
    expect(metricsA).toMatch(/^livecue_claims_total\{outcome="refused"\} [1-9]\d*$/m);
    expect(metricsA).toMatch(/^livecue_claims_total\{outcome="sold_out"\} \d+$/m);
    expect(metricsA).toMatch(/^livecue_viewers\{path="webrtc"\} 0$/m);
    expect(Number(/^livecue_viewers\{path="hls"\} (\d+)$/m.exec(metricsA)?.[1])).toBeGreaterThanOrEqual(2);
    expect(metricsA).toMatch(/^livecue_viewers\{path="replay"\} \d+$/m);
    for (const name of ['chat_messages', 'reactions', 'poll_votes']) expect(metricsA + metricsB).toMatch(new RegExp(`^livecue_${name}_total [1-9]\\d*$`, 'm'));
    const engagementLines = (metricsA + metricsB)
      .split('\n')
      .filter((line) => /^livecue_(chat_messages|reactions|poll_votes|claims|product_clicks)_total|^livecue_viewers\{/.test(line));
    expect(engagementLines.length).toBeGreaterThan(0);
    for (const line of engagementLines) expect(line).toMatch(/^[a-z_]+(\{(outcome|path)="[a-z_]+"\})? \d+$/);

    // When the show ends, nothing stays pinned: the hat's pin closes.
    socket.socket.close();
    await webrtc.close();
    push.stop();
    await waitFor('show ended', async () => (await a.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);
    const after = (await a.api('GET', `/v1/streams/${stream.id}/analytics`)).body;
    expect(after.live.pinned).toBeNull();
    expect(after.pins[1].unpinnedAt).not.toBeNull();
  });
});

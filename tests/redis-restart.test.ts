// Redis restarted (empty, no persistence) in the middle of a show hosted by one node and watched
// through another: the show goes on, cues placed after the restart reach viewers on both nodes, the
// origin record comes back so the second node can still relay the show, and the metrics say so.
import { asc, eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { segments } from '../src/db/schema.ts';
import { createLogger } from '../src/log.ts';
import { EmbeddedRedis } from '../src/redis/embedded-redis.ts';
import { sleep, startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { pushRtmp, type Encoder } from './helpers/media.ts';
import { postSdp, WeriftViewer } from './helpers/webrtc.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

function listen(node: TestNode, playbackId: string) {
  const messages: any[] = [];
  const socket = new WebSocket(`ws://127.0.0.1:${node.lc.httpPort}/live/${playbackId}/events`);
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  cleanups.push(async () => socket.close());
  return messages;
}

describe('Redis restarted during a live show', () => {
  it('keeps the show, the cue fan-out across nodes and the cross-node relay working', async () => {
    let redis = await EmbeddedRedis.start({ binary: 'redis-server', logger: createLogger('silent') });
    const port = Number(new URL(redis.url).port);
    cleanups.push(() => redis.close());
    // Nodes of one livecue share the secret key (the cluster token derives from it).
    const secretKey = 'redis-restart-test-secret-key';
    const origin = await startTestNode({
      REDIS_URL: redis.url,
      LIVECUE_SECRET_KEY: secretKey,
      ROLE: 'ingest',
      LADDER: '360',
      SFU_WORKERS: 1,
      RECONNECT_WINDOW_SECONDS: 2,
    });
    cleanups.push(() => origin.stop());
    const edge = await startTestNode({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: origin.lc.config.REDIS_KEY_PREFIX,
      DATABASE_URL: origin.lc.config.DATABASE_URL,
      LIVECUE_ADMIN_TOKEN: origin.lc.adminToken,
      LIVECUE_SECRET_KEY: secretKey,
      ROLE: 'sfu',
      SFU_WORKERS: 1,
    });
    cleanups.push(() => edge.stop());

    const { body: stream } = await origin.api('POST', '/v1/streams', { title: 'redis restart' });
    const push: Encoder = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 45, size: '640x360' });
    cleanups.push(async () => push.stop());
    const session = await waitFor('live', () => origin.lc.registry.get(stream.id), 10_000);
    await waitFor('media', () => session.timeline.duration >= 4, 20_000);
    const onOrigin = listen(origin, stream.playbackId);
    const onEdge = listen(edge, stream.playbackId);
    await waitFor('sockets greeted', () => onOrigin.some((m) => m.type === 'state') && onEdge.some((m) => m.type === 'state'), 5000);

    await redis.close();
    // A cue placed while Redis is down: stored and on the timeline; its fan-out waits for Redis.
    const whileDown = await origin.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'announcement', text: 'during the outage' });
    expect(whileDown.status).toBe(201);
    await sleep(2000);
    redis = await EmbeddedRedis.start({ binary: 'redis-server', logger: createLogger('silent'), port });
    const durationAtRestart = session.timeline.duration;

    // Cues after the restart reach WebSocket viewers on both nodes (the hub resubscribed).
    const cue = await waitFor(
      'a cue accepted after the restart',
      async () => {
        const placed = await origin.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'announcement', text: 'back' });
        return placed.status === 201 ? placed.body : undefined;
      },
      15_000,
      500,
    );
    // Heard as a cue message, or in the state a resync sends (whichever came first on that node).
    const heard = (messages: any[], id: string) =>
      messages.some((m) => (m.type === 'cue' && m.cue.id === id) || (m.type === 'state' && m.cues.some((c: { id: string }) => c.id === id)));
    await waitFor('the cue on both nodes', () => heard(onOrigin, cue.id) && heard(onEdge, cue.id), 15_000);
    // The one placed during the outage reaches them too: the hub resyncs viewers once it is back.
    await waitFor('the outage cue on both nodes', () => heard(onOrigin, whileDown.body.id) && heard(onEdge, whileDown.body.id), 15_000);

    // The origin re-records itself, so a viewer on the other node still gets the show.
    const viewer = await waitFor(
      'a WHEP answer from the edge node',
      async () => {
        const candidate = new WeriftViewer();
        const result = await postSdp(`${edge.baseUrl}/whep/${stream.playbackId}`, await candidate.offer());
        if (result.status !== 201) {
          await candidate.close();
          return undefined;
        }
        cleanups.push(() => candidate.close());
        await candidate.accept(result.answer);
        return candidate;
      },
      15_000,
      1000,
    );
    await waitFor('video through the relay', () => viewer.videoPackets > 60, 15_000);

    // The show never stopped: its timeline grew across the restart and its segments are contiguous.
    await waitFor('more media', () => session.timeline.duration > durationAtRestart + 4, 20_000);
    const rows = await origin.lc.database.db.select().from(segments).where(eq(segments.sessionId, session.id)).orderBy(asc(segments.sequence));
    const top = rows.filter((row) => row.rendition === '360p');
    expect(top.map((row) => row.sequence)).toEqual(top.map((_, index) => index));
    expect(top.filter((row) => row.discontinuity === 1)).toHaveLength(0);
    // Both nodes' hubs resubscribed and resynced their viewers, and say so.
    for (const node of [origin, edge]) expect(await (await fetch(`${node.baseUrl}/metrics`)).text()).toMatch(/^livecue_cue_hub_resyncs_total [1-9]/m);
    const health = await (await fetch(`${origin.baseUrl}/healthz`)).json();
    expect(health.redis).toBe('ok');
    const metrics = await (await fetch(`${edge.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^livecue_edge_relays 1$/m);
  }, 150_000);
});

// Failure tests: the database unreachable for 10 s, or the encoder's network gone for 10 s, in the
// middle of a show loses nothing and the show goes on.
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveSessions, recordings, segments } from '../src/db/schema.ts';
import { createTestDatabase, sleep, startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { pushRtmp } from './helpers/media.ts';
import { TcpProxy } from './helpers/tcp-proxy.ts';

let node: TestNode;
let proxy: TcpProxy;
let database: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  database = await createTestDatabase();
  const url = new URL(database.url);
  proxy = new TcpProxy({ host: url.hostname, port: Number(url.port) });
  await proxy.up();
  url.port = String(proxy.port);
  node = await startTestNode({ DATABASE_URL: url.toString(), RECONNECT_WINDOW_SECONDS: 15, RECORDING_MP4: false, SWEEP_SECONDS: 2 });
});

afterAll(async () => {
  await node?.stop();
  await proxy?.down();
  await database?.drop();
});

describe('PostgreSQL unreachable for 10 s during a show', () => {
  it('keeps every segment row and still ends with a ready recording', async () => {
    const { body: stream } = await node.api('POST', '/v1/streams', { title: 'db outage' });
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 22 });
    const session = await waitFor('live', () => node.lc.registry.get(stream.id), 10_000);
    await waitFor('a few seconds of show', () => session.timeline.duration >= 4, 15_000);

    await proxy.down();
    const health = await fetch(`${node.baseUrl}/healthz`);
    expect(health.status).toBeLessThan(600);
    await sleep(10_000);
    await proxy.up();

    expect(await push.exited).toBe(0);
    const [row] = await waitFor(
      'session ended in the database',
      async () => {
        const rows = await node.lc.database.db.select().from(liveSessions).where(eq(liveSessions.streamId, stream.id));
        return rows[0]?.endedAt ? rows : undefined;
      },
      60_000,
    );
    const stored = await node.lc.database.db.select().from(segments).where(eq(segments.sessionId, row!.id)).orderBy(asc(segments.sequence));
    for (const rendition of ['720p', '480p', '360p']) {
      const ofRendition = stored.filter((segment) => segment.rendition === rendition);
      expect(ofRendition.map((segment) => segment.sequence)).toEqual(ofRendition.map((_, index) => index));
      const seconds = ofRendition.reduce((sum, segment) => sum + segment.durationMs, 0) / 1000;
      expect(seconds).toBeGreaterThan(21);
    }
    const recording = await waitFor(
      'recording ready',
      async () => {
        const [found] = await node.lc.database.db.select().from(recordings).where(eq(recordings.sessionId, row!.id));
        return found?.status === 'ready' ? found : undefined;
      },
      60_000,
    );
    expect(Math.abs(recording.durationMs! / 1000 - 22)).toBeLessThan(0.6);
    expect(node.logLines.join('')).toContain('database write landed after retries');
    // The metrics tell the operator what happened: writes retried, none lost.
    const metrics = await (await fetch(`${node.baseUrl}/metrics`)).text();
    expect(Number(/^livecue_database_write_retries_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(/^livecue_database_writes_lost_total 0$/m);
  });
});

describe("the encoder's network dropping for 10 s", () => {
  it('continues the same session when the encoder comes back, with the gap marked and nothing lost', async () => {
    const { body: stream } = await node.api('POST', '/v1/streams', { title: 'flaky uplink' });
    const uplink = new TcpProxy({ host: '127.0.0.1', port: node.lc.rtmpPort });
    await uplink.up();
    const url = `rtmp://127.0.0.1:${uplink.port}/live/${stream.ingest.streamKey}`;
    const first = pushRtmp(url, { seconds: 30 });
    const session = await waitFor('live', () => node.lc.registry.get(stream.id), 10_000);
    await waitFor('media', () => session.timeline.duration >= 4, 15_000);
    const before = session.timeline.duration;

    await uplink.down();
    // The encoder sees its connection die; livecue sees the publisher gone and waits.
    expect(await first.exited).not.toBe(0);
    await waitFor('encoder gone', () => !session.connected, 10_000);
    await sleep(10_000);
    expect((await node.api('GET', `/v1/streams/${stream.id}`)).body.status).toBe('live');
    await uplink.up();
    // Like OBS's auto-reconnect: the encoder publishes again with the same key.
    const second = pushRtmp(url, { seconds: 6 });
    await waitFor('reconnected', () => session.connected && session.reconnects === 1, 10_000);
    expect(await second.exited).toBe(0);
    await uplink.down();
    await waitFor('ended', async () => (await node.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 40_000);

    expect(session.timeline.duration).toBeGreaterThan(before + 5);
    const rows = await node.lc.database.db.select().from(segments).where(eq(segments.sessionId, session.id)).orderBy(asc(segments.sequence));
    const top = rows.filter((row) => row.rendition === '720p');
    expect(top.map((row) => row.sequence)).toEqual(top.map((_, index) => index));
    expect(top.filter((row) => row.discontinuity === 1)).toHaveLength(1);
    const [sessionRow] = await node.lc.database.db.select().from(liveSessions).where(eq(liveSessions.id, session.id));
    expect(sessionRow).toMatchObject({ reconnects: 1, endReason: 'encoder_left' });
    const metrics = await (await fetch(`${node.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/livecue_publishes_total\{protocol="rtmp"\} [2-9]/);
  });
});

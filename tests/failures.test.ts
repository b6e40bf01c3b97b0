// Failure tests: the database unreachable for 10 s in the middle of a show loses nothing.
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
  node = await startTestNode({ DATABASE_URL: url.toString(), RECONNECT_WINDOW_SECONDS: 2, RECORDING_MP4: false, SWEEP_SECONDS: 2 });
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
    const [row] = await waitFor('session ended in the database', async () => {
      const rows = await node.lc.database.db.select().from(liveSessions).where(eq(liveSessions.streamId, stream.id));
      return rows[0]?.endedAt ? rows : undefined;
    }, 60_000);
    const stored = await node.lc.database.db.select().from(segments).where(eq(segments.sessionId, row!.id)).orderBy(asc(segments.sequence));
    for (const rendition of ['720p', '480p', '360p']) {
      const ofRendition = stored.filter((segment) => segment.rendition === rendition);
      expect(ofRendition.map((segment) => segment.sequence)).toEqual(ofRendition.map((_, index) => index));
      const seconds = ofRendition.reduce((sum, segment) => sum + segment.durationMs, 0) / 1000;
      expect(seconds).toBeGreaterThan(21);
    }
    const recording = await waitFor('recording ready', async () => {
      const [found] = await node.lc.database.db.select().from(recordings).where(eq(recordings.sessionId, row!.id));
      return found?.status === 'ready' ? found : undefined;
    }, 60_000);
    expect(Math.abs(recording.durationMs! / 1000 - 22)).toBeLessThan(0.6);
    expect(node.logLines.join('')).toContain('database write landed after retries');
  });
});

// RTMP publish -> ABR HLS ladder in object storage, end to end with real FFmpeg, PostgreSQL and Redis.
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveSessions, segments } from '../src/db/schema.ts';
import { createStream, startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { decodeVideoFrames, initKeyOf, playableSegment, probe, pushRtmp } from './helpers/media.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RECONNECT_WINDOW_SECONDS: 2 });
});

afterAll(async () => {
  await node?.stop();
});

async function text(url: string): Promise<string | undefined> {
  const response = await fetch(url);
  return response.ok ? response.text() : undefined;
}

async function sessionSegments(streamId: string, rendition: string) {
  const { db } = node.lc.database;
  const [session] = await db.select().from(liveSessions).where(eq(liveSessions.streamId, streamId));
  if (!session) return [];
  return db
    .select()
    .from(segments)
    .where(eq(segments.sessionId, session.id))
    .orderBy(asc(segments.sequence))
    .then((rows) => rows.filter((row) => row.rendition === rendition));
}

describe('RTMP to HLS ladder', () => {
  it('turns a 720p and a 1080p publish into ladders whose renditions decode at the right sizes', async () => {
    const small = await createStream(node, '720p show');
    const large = await createStream(node, '1080p show');
    // The encoder publishes to rtmpUrl + "/" + streamKey, exactly as OBS would.
    const push720 = pushRtmp(`${small.ingest.rtmpUrl}/${small.ingest.streamKey}`, { seconds: 10, size: '1280x720' });
    const push1080 = pushRtmp(`${large.ingest.rtmpUrl}/${large.ingest.streamKey}`, { seconds: 10, size: '1920x1080' });

    const master720 = await waitFor('720p master playlist', () => text(small.playback.hlsUrl), 20_000);
    const live = await node.api('GET', `/v1/streams/${small.id}`);
    expect(live.body.status).toBe('live');
    expect(live.body.session.renditions.map((r: { name: string }) => r.name)).toEqual(['720p', '480p', '360p']);

    expect(master720).toContain('#EXT-X-STREAM-INF:BANDWIDTH=');
    for (const attribute of [
      'AVERAGE-BANDWIDTH=',
      'RESOLUTION=1280x720',
      'RESOLUTION=854x480',
      'RESOLUTION=640x360',
      'CODECS="avc1.',
      'mp4a.40.2',
      'FRAME-RATE=30.000',
    ]) {
      expect(master720).toContain(attribute);
    }
    expect(master720).not.toContain('1080');

    const master1080 = await waitFor('1080p master playlist', () => text(large.playback.hlsUrl), 20_000);
    expect(master1080.match(/#EXT-X-STREAM-INF/g)).toHaveLength(4);
    expect(master1080).toContain('RESOLUTION=1920x1080');

    expect(await push720.exited).toBe(0);
    expect(await push1080.exited).toBe(0);
    // After the reconnect window the show ends and every playlist is closed.
    await waitFor('stream ended', async () => (await node.api('GET', `/v1/streams/${small.id}`)).body.status === 'ended', 20_000);
    await waitFor('1080p stream ended', async () => (await node.api('GET', `/v1/streams/${large.id}`)).body.status === 'ended', 20_000);

    const expected: Record<string, [number, number]> = { '720p': [1280, 720], '480p': [854, 480], '360p': [640, 360] };
    for (const [name, [width, height]] of Object.entries(expected)) {
      const base = small.playback.hlsUrl.replace('master.m3u8', `${name}/`);
      const playlist = (await text(`${base}index.m3u8`))!;
      expect(playlist).toContain('#EXT-X-ENDLIST');
      expect(playlist).toMatch(/#EXT-X-PROGRAM-DATE-TIME:\d{4}-\d\d-\d\dT/);
      const rows = await sessionSegments(small.id, name);
      // Every segment of the show is kept and listed in order; together they hold what was pushed.
      const total = rows.reduce((sum, row) => sum + row.durationMs, 0) / 1000;
      expect(total).toBeGreaterThan(9);
      expect(total).toBeLessThan(11);
      expect(rows.map((row) => row.sequence)).toEqual(rows.map((_, index) => index));
      for (const row of rows.slice(0, -1)) expect(row.durationMs).toBe(2000);
      // A segment is fragments only: with its run's init segment in front, it plays.
      const segmentUrl = await playableSegment(`${node.baseUrl}/${initKeyOf(rows[1]!)}`, `${base}${rows[1]!.objectKey.split('/').pop()}`);
      const probed = await probe(segmentUrl);
      const video = probed.streams.find((stream) => stream.codec_type === 'video')!;
      expect([video.width, video.height]).toEqual([width, height]);
      expect(probed.streams.some((stream) => stream.codec_type === 'audio' && stream.codec_name === 'aac')).toBe(true);
      expect(await decodeVideoFrames(segmentUrl)).toBe(60);
      // The closed playlist decodes end to end (its last LIVE_WINDOW_SEGMENTS segments).
      expect(await decodeVideoFrames(`${base}index.m3u8`)).toBeGreaterThan(200);
    }
    const rows1080 = await sessionSegments(large.id, '1080p');
    const probed = await probe(await playableSegment(`${node.baseUrl}/${initKeyOf(rows1080[0]!)}`, `${node.baseUrl}/${rows1080[0]!.objectKey}`));
    expect(probed.streams.find((stream) => stream.codec_type === 'video')).toMatchObject({ width: 1920, height: 1080 });

    const [session] = await node.lc.database.db.select().from(liveSessions).where(eq(liveSessions.streamId, small.id));
    expect(session).toMatchObject({ endReason: 'encoder_left', reconnects: 0, sourceWidth: 1280, sourceHeight: 720 });
    expect(session!.endedAt).toBeInstanceOf(Date);
  });

  it('passes an H.264 source through as the top rung when PASSTHROUGH is on', async () => {
    const passthroughNode = await startTestNode({ RECONNECT_WINDOW_SECONDS: 1, PASSTHROUGH: true });
    try {
      const { body: stream } = await passthroughNode.api('POST', '/v1/streams', { title: 'passthrough' });
      // The encoder's keyframes every 2 s line up with the 2 s segments.
      const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 8, gopSeconds: 2 });
      await waitFor('master', async () => (await fetch(stream.playback.hlsUrl)).ok || undefined, 20_000);
      const live = (await passthroughNode.api('GET', `/v1/streams/${stream.id}`)).body;
      expect(live.session.renditions[0]).toMatchObject({ name: '720p', passthrough: true });
      expect(live.session.renditions.slice(1).every((r: { passthrough: boolean }) => !r.passthrough)).toBe(true);
      expect(await push.exited).toBe(0);
      await waitFor('ended', async () => (await passthroughNode.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);
      const top = stream.playback.hlsUrl.replace('master.m3u8', '720p/index.m3u8');
      const probed = await probe(top);
      expect(probed.streams.find((s) => s.codec_type === 'video')).toMatchObject({ codec_name: 'h264', width: 1280, height: 720 });
      expect(await decodeVideoFrames(top)).toBeGreaterThan(200);
    } finally {
      await passthroughNode.stop();
    }
  });

  it('serves HLS like a CDN origin: cache headers, content types, CORS, byte ranges, ETags', async () => {
    const stream = await createStream(node, 'origin');
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 5 });
    await waitFor('master playlist', () => text(stream.playback.hlsUrl), 20_000);
    await push.exited;
    const master = await fetch(stream.playback.hlsUrl);
    expect(master.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(master.headers.get('cache-control')).toBe('public, max-age=1');
    expect(master.headers.get('access-control-allow-origin')).toBe('*');

    const rows = await waitFor('segments', async () => {
      const found = await sessionSegments(stream.id, '720p');
      return found.length > 0 ? found : undefined;
    });
    const segmentUrl = `${node.baseUrl}/${rows[0]!.objectKey}`;
    const full = await fetch(segmentUrl);
    const bytes = Buffer.from(await full.arrayBuffer());
    expect(full.headers.get('content-type')).toBe('video/mp4');
    expect(full.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(bytes.length).toBe(rows[0]!.bytes);
    expect(bytes.subarray(4, 8).toString()).toBe('moof'); // a CMAF segment: fragments, its init apart

    const ranged = await fetch(segmentUrl, { headers: { range: 'bytes=188-375' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 188-375/${bytes.length}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(188, 376))).toBe(true);
    expect((await fetch(segmentUrl, { headers: { range: `bytes=${bytes.length + 10}-` } })).status).toBe(416);

    const etag = full.headers.get('etag')!;
    expect((await fetch(segmentUrl, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const head = await fetch(segmentUrl, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(bytes.length));

    const missing = await fetch(`${node.baseUrl}/hls/${stream.playbackId}/720p/nope.ts`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect((await fetch(`${node.baseUrl}/hls/${stream.playbackId}/..%2F..%2Fetc%2Fpasswd`)).status).toBe(404);
  });
});

// The admin API's contract: auth, validation, problem+json errors, the stream resource, OpenAPI,
// health and metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from './helpers/harness.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode();
});

afterAll(async () => {
  await node?.stop();
});

const problemOf = (response: { status: number; body: any; headers: Headers }) => {
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  expect(response.body.status).toBe(response.status);
  expect(typeof response.body.detail).toBe('string');
  return response.body as { detail: string; code?: string };
};

describe('admin API', () => {
  it('creates a stream with ingest and playback URLs, and never shows the key again', async () => {
    const created = await node.api('POST', '/v1/streams', { title: 'Spring drop' });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/streams/${created.body.id}`);
    const stream = created.body;
    expect(stream).toMatchObject({ title: 'Spring drop', status: 'idle' });
    expect(stream.id).toMatch(/^str_[A-Za-z0-9]{16}$/);
    expect(stream.ingest.rtmpUrl).toBe(`rtmp://localhost:${node.lc.rtmpPort}/live`);
    expect(stream.ingest.streamKey).toMatch(/^lck_[A-Za-z0-9]{32}$/);
    expect(stream.ingest.whipUrl).toBe(`http://localhost:${node.lc.httpPort}/whip/${stream.id}`);
    expect(stream.playback.hlsUrl).toBe(`http://localhost:${node.lc.httpPort}/hls/${stream.playbackId}/master.m3u8`);
    expect(stream.playback.whepUrl).toBe(`http://localhost:${node.lc.httpPort}/whep/${stream.playbackId}`);
    // The playback id reveals nothing of the key.
    expect(stream.playbackId).not.toContain(stream.ingest.streamKey.slice(4, 10));
    expect(JSON.stringify(stream.playback)).not.toContain(stream.ingest.streamKey);

    const read = await node.api('GET', `/v1/streams/${stream.id}`);
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.body)).not.toContain(stream.ingest.streamKey);
    expect(read.body.ingest.streamKey).toBeUndefined();
    const listed = await node.api('GET', '/v1/streams');
    expect(listed.body.streams.map((s: { id: string }) => s.id)).toContain(stream.id);
    expect(JSON.stringify(listed.body)).not.toContain(stream.ingest.streamKey);

    // Keys are stored hashed: the database holds no plain key.
    const rows = await node.lc.database.db.execute('select key_hash from stream_keys');
    expect(JSON.stringify(rows)).not.toContain(stream.ingest.streamKey);

    expect((await node.api('DELETE', `/v1/streams/${stream.id}`)).status).toBe(204);
    problemOf(await node.api('GET', `/v1/streams/${stream.id}`));
    expect((await node.api('GET', `/v1/streams/${stream.id}`)).status).toBe(404);
    expect((await node.api('POST', `/v1/streams/${stream.id}/rotate-key`)).status).toBe(404);
  });

  it('answers 401 without or with a wrong admin token, without echoing it', async () => {
    const none = await node.api('GET', '/v1/streams', undefined, { authorization: '' });
    expect(none.status).toBe(401);
    expect(problemOf(none).detail).toContain('Authorization: Bearer');
    const wrong = await node.api('POST', '/v1/streams', { title: 'x' }, { authorization: 'Bearer lca_notTheRightTokenAtAllxxxxxxxxxx' });
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(wrong.body)).not.toContain('notTheRightToken');
    expect((await node.api('GET', '/v1/streams', undefined, { authorization: `Basic ${node.lc.adminToken}` })).status).toBe(401);
  });

  it('rejects bad bodies and ids with clear problem details', async () => {
    const invalidJson = await node.api('POST', '/v1/streams', '{"title": ', { 'content-type': 'application/json' });
    expect(invalidJson.status).toBe(400);
    expect(problemOf(invalidJson).detail).toBe('request body is not valid JSON');

    const empty = await node.api('POST', '/v1/streams', { title: '   ' });
    expect(empty.status).toBe(400);
    expect(problemOf(empty).detail).toContain('title must not be empty');

    const unknown = await node.api('POST', '/v1/streams', { title: 'x', owner: 'me' });
    expect(unknown.status).toBe(400);
    expect(problemOf(unknown).detail).toContain('owner');

    const missing = await node.api('POST', '/v1/streams', {});
    expect(missing.status).toBe(400);
    expect(problemOf(missing).detail).toContain('title');

    const wrongType = await node.api('POST', '/v1/streams', 'title=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(wrongType.status).toBe(415);
    problemOf(wrongType);

    const huge = await node.api('POST', '/v1/streams', { title: 'x'.repeat(100_000) });
    expect(huge.status).toBe(413);
    problemOf(huge);

    const badId = await node.api('GET', '/v1/streams/not-an-id');
    expect(badId.status).toBe(400);
    const unknownId = await node.api('GET', '/v1/streams/str_AAAAAAAAAAAAAAAA');
    expect(unknownId.status).toBe(404);
    expect(problemOf(unknownId).detail).toBe('stream str_AAAAAAAAAAAAAAAA not found');

    const noRoute = await node.api('GET', '/v1/nothing');
    expect(noRoute.status).toBe(404);
    problemOf(noRoute);
  });

  it('serves its OpenAPI document, health and metrics', async () => {
    const openapi = await fetch(`${node.baseUrl}/openapi.json`).then((r) => r.json());
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/v1/streams',
        '/v1/streams/{id}',
        '/v1/streams/{id}/rotate-key',
        '/hls/{playbackId}/{path}',
        '/healthz',
        '/healthz/ready',
        '/metrics',
        '/v1/products',
        '/v1/streams/{id}/cues',
        '/v1/recordings/{id}',
        '/v1/webhooks',
        '/whip/{streamId}',
        '/whep/{playbackId}',
        '/live/{playbackId}/events',
      ]),
    );
    expect(openapi.components.schemas.CreateStream.required).toEqual(['title']);

    const health = await fetch(`${node.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', redis: 'ok' });
    const ready = await fetch(`${node.baseUrl}/healthz/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', redis: 'ok' });

    const metrics = await fetch(`${node.baseUrl}/metrics`).then((r) => r.text());
    for (const name of [
      'livecue_active_sessions',
      'livecue_ingest_bitrate_bits_per_second',
      'livecue_transcoder_speed_ratio',
      'livecue_transcoder_restarts_total',
      'livecue_segments_uploaded_total',
      'livecue_upload_duration_seconds',
      'livecue_upload_failures_total',
      'livecue_rejected_publishes_total',
    ]) {
      expect(metrics).toContain(`# TYPE ${name}`);
    }
  });
});

// With S3 as the store: a live show survives a 30 s outage of the S3 server without losing a segment or a cue.
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveSessions, segments } from '../src/db/schema.ts';
import { sleep, startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { decodeVideoFrames, pushRtmp } from './helpers/media.ts';
import { TestS3 } from './helpers/s3.ts';

let s3: TestS3;
let node: TestNode;

beforeAll(async () => {
  s3 = await TestS3.start();
  node = await startTestNode({ ...s3.config, RECONNECT_WINDOW_SECONDS: 2 });
});

afterAll(async () => {
  await node?.stop();
  await s3?.stop();
});

describe('S3 storage', () => {
  it('keeps every segment and cue through a 30 s S3 outage and serves them once it is back', async () => {
    expect(node.lc.store.kind).toBe('s3');
    const { body: stream } = await node.api('POST', '/v1/streams', { title: 'outage' });
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 40 });
    await waitFor('master playlist', async () => (await fetch(stream.playback.hlsUrl)).ok || undefined, 20_000);

    await s3.down();
    await sleep(10_000);
    // A cue placed while S3 is down still lands in the playlists once it is back.
    const cue = await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'announcement', text: 'during the outage' });
    // On failure, what the node logged of the show says why it is no longer live.
    expect(cue.status, node.logLines.filter((line) => line.includes(stream.id) && !line.includes('upload')).join('')).toBe(201);
    await sleep(20_000);
    await s3.up();

    expect(await push.exited).toBe(0);
    await waitFor('ended', async () => (await node.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 60_000);
    const text = await (await fetch(`${node.baseUrl}/metrics`)).text();
    const failures = Number(/^livecue_upload_failures_total (\d+)/m.exec(text)?.[1] ?? 0);
    expect(failures).toBeGreaterThan(0);

    const [session] = await node.lc.database.db.select().from(liveSessions).where(eq(liveSessions.streamId, stream.id));
    const rows = await node.lc.database.db.select().from(segments).where(eq(segments.sessionId, session!.id)).orderBy(asc(segments.sequence));
    for (const rendition of ['720p', '480p', '360p']) {
      const ofRendition = rows.filter((row) => row.rendition === rendition);
      expect(ofRendition.map((row) => row.sequence)).toEqual(ofRendition.map((_, index) => index));
      const seconds = ofRendition.reduce((sum, row) => sum + row.durationMs, 0) / 1000;
      expect(seconds).toBeGreaterThan(39);
    }
    const stored = new Set(await node.lc.store.list(`hls/${stream.playbackId}/`));
    for (const row of rows) expect(stored.has(row.objectKey)).toBe(true);
    // Straight from the bucket (through the origin), the closed live window decodes (the replay has it all).
    const playlist = await (await fetch(stream.playback.hlsUrl.replace('master.m3u8', '360p/index.m3u8'))).text();
    expect(playlist).toContain('#EXT-X-ENDLIST');
    expect(playlist).toContain(`ID="${cue.body.id}"`);
    expect(await decodeVideoFrames(stream.playback.hlsUrl.replace('master.m3u8', '360p/index.m3u8'))).toBeGreaterThan(300);
    // The S3 secret never reaches a log line.
    expect(node.logLines.join('')).not.toMatch(/secretAccessKey":"S3RVER/);
  });
});

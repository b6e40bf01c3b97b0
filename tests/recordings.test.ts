// Every show becomes a replay: BullMQ workers build VOD HLS with the show's cues, pictures and an
// MP4 from the stored segments; jobs survive a killed worker and a Redis restart; webhooks are signed.
import { spawn, type ChildProcess } from 'node:child_process';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveSessions, recordings, segments } from '../src/db/schema.ts';
import { createLogger } from '../src/log.ts';
import { EmbeddedRedis } from '../src/redis/embedded-redis.ts';
import { verifyWebhookSignature } from '../src/workers/webhooks.ts';
import { sleep, startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { decodeVideoFrames, probe, pushRtmp } from './helpers/media.ts';
import { WebhookReceiver } from './helpers/webhook-receiver.ts';

let node: TestNode;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await WebhookReceiver.start((delivery, deliveries) => {
    // The first delivery of each event fails once: it must be retried.
    const event = String(delivery.headers['livecue-event']);
    const seen = deliveries.filter((d) => d.headers['livecue-event'] === event).length;
    return seen === 1 ? 503 : 204;
  });
  node = await startTestNode({ RECONNECT_WINDOW_SECONDS: 3, RECORDING_ATTEMPTS: 2, THUMBNAIL_INTERVAL_SECONDS: 2 });
});

afterAll(async () => {
  await node?.stop();
  receiver?.close();
});

async function createStream(title: string) {
  const { body } = await node.api('POST', '/v1/streams', { title });
  return body as { id: string; playbackId: string; ingest: { rtmpUrl: string; streamKey: string }; playback: { hlsUrl: string } };
}

describe('recordings', () => {
  it('turns a 20 s show with a reconnect and cues into a ready replay, announced by signed webhooks', async () => {
    const hook = await node.api('POST', '/v1/webhooks', { url: receiver.url });
    expect(hook.status).toBe(201);
    expect(hook.body.secret).toMatch(/^whsec_/);
    const secret = hook.body.secret as string;
    expect(JSON.stringify((await node.api('GET', '/v1/webhooks')).body)).not.toContain(secret);

    const stream = await createStream('replay');
    const url = `${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`;
    const first = pushRtmp(url, { seconds: 10 });
    const session = await waitFor('live', () => node.lc.registry.get(stream.id), 10_000);
    await waitFor('media', () => session.timeline.duration >= 4, 15_000);
    const product = (await node.api('POST', '/v1/products', { sku: 'REPLAY-1', title: 'Scarf', price: 25, currency: 'EUR' })).body;
    const pin = (await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'product.pin', productId: product.id })).body;
    expect(await first.exited).toBe(0);
    await sleep(800);
    const second = pushRtmp(url, { seconds: 10 });
    await waitFor('second run', () => session.connected && session.timeline.spans.length === 2, 10_000);
    await sleep(3000);
    const announce = (await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'announcement', text: 'last chance' })).body;
    expect(await second.exited).toBe(0);

    const recording = await waitFor(
      'recording ready',
      async () => {
        const { body } = await node.api('GET', `/v1/streams/${stream.id}/recordings`);
        const found = body.recordings[0];
        return found?.status === 'ready' ? found : undefined;
      },
      60_000,
    );
    expect((await node.api('GET', `/v1/recordings/${recording.id}`)).body).toMatchObject({ id: recording.id, status: 'ready', sessionId: session.id });
    expect(Math.abs(recording.durationSeconds - 20)).toBeLessThan(0.5);
    expect(recording.renditions.map((r: { name: string }) => r.name)).toEqual(['720p', '480p', '360p']);

    const master = await (await fetch(recording.playback.hlsUrl)).text();
    expect(master.match(/#EXT-X-STREAM-INF/g)).toHaveLength(3);
    const vodUrl = recording.playback.hlsUrl.replace('master.m3u8', '360p/index.m3u8');
    const vod = await (await fetch(vodUrl)).text();
    expect(vod).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(vod.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(vod.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);
    // The whole replay decodes end to end: 20 s at 30 fps.
    const frames = await decodeVideoFrames(vodUrl);
    expect(Math.abs(frames - 600)).toBeLessThan(20);

    // The cues sit where they were live: START-DATE at the date of their media time.
    const rows = (await node.lc.database.db.select().from(segments).where(eq(segments.sessionId, session.id)).orderBy(asc(segments.sequence))).filter(
      (r) => r.rendition === '360p',
    );
    for (const cue of [pin, announce]) {
      const line = vod.split('\n').find((l) => l.includes(`ID="${cue.id}"`))!;
      const start = Date.parse(/START-DATE="([^"]+)"/.exec(line)![1]!);
      const holder = rows.find((row) => row.programDateTime.getTime() <= start && start < row.programDateTime.getTime() + row.durationMs)!;
      expect(Math.abs((holder.mediaStartMs + start - holder.programDateTime.getTime()) / 1000 - cue.mediaTime)).toBeLessThan(0.002);
    }
    const cueTrack = await (await fetch(recording.playback.cuesUrl)).json();
    expect(cueTrack.cues.map((c: { id: string }) => c.id)).toEqual([pin.id, announce.id]);

    const poster = await probe(recording.playback.posterUrl);
    expect(poster.streams[0]).toMatchObject({ codec_name: 'mjpeg', width: 1280, height: 720 });
    const sprite = await probe(recording.playback.hlsUrl.replace('master.m3u8', 'thumbnails.jpg'));
    expect(sprite.streams[0]).toMatchObject({ codec_name: 'mjpeg', width: 1600, height: 90 });
    const vtt = await (await fetch(recording.playback.thumbnailsVttUrl)).text();
    expect(vtt.startsWith('WEBVTT')).toBe(true);
    expect(vtt).toContain('00:00:02.000 --> 00:00:04.000\nthumbnails.jpg#xywh=160,0,160,90');
    const mp4 = await probe(recording.playback.mp4Url);
    expect(Math.abs(mp4.duration - 20)).toBeLessThan(0.6);
    expect(await decodeVideoFrames(recording.playback.mp4Url)).toBeGreaterThan(580);

    // Webhooks: each event arrives (after one refused attempt), signed; a tampered body is detectable.
    const ready = await waitFor(
      'recording.ready delivered twice',
      () => {
        const found = receiver.deliveries.filter((d) => d.headers['livecue-event'] === 'recording.ready');
        return found.length >= 2 ? found : undefined;
      },
      30_000,
    );
    for (const event of ['stream.live', 'stream.ended']) expect(receiver.deliveries.some((d) => d.headers['livecue-event'] === event)).toBe(true);
    const delivered = ready[1]!;
    const signature = String(delivered.headers['livecue-signature']);
    expect(verifyWebhookSignature(secret, signature, delivered.body)).toBe(true);
    expect(JSON.parse(delivered.body)).toMatchObject({ type: 'recording.ready', data: { id: recording.id, status: 'ready' } });
    expect(verifyWebhookSignature(secret, signature, delivered.body.replace('ready', 'readz'))).toBe(false);
    expect(verifyWebhookSignature('whsec_wrong', signature, delivered.body)).toBe(false);
    // An old signature is refused (replay protection).
    expect(verifyWebhookSignature(secret, signature, delivered.body, 300, Date.now() + 3600_000)).toBe(false);

    // A job that keeps failing ends `failed` with its reason.
    await node.lc.store.delete([rows[0]!.objectKey]);
    await node.lc.queues.recordings.add('finalize', { sessionId: session.id }, { jobId: `${session.id}-again` });
    const failed = await waitFor(
      'recording failed',
      async () => {
        const { body } = await node.api('GET', `/v1/recordings/${recording.id}`);
        return body.status === 'failed' ? body : undefined;
      },
      40_000,
    );
    expect(failed.failureReason).toMatch(/missing from storage/);
    await waitFor('recording.failed delivered', () => receiver.deliveries.some((d) => d.headers['livecue-event'] === 'recording.failed'), 30_000);

    // DELETE removes the replay's objects and the show's segments.
    expect((await node.api('DELETE', `/v1/recordings/${recording.id}`)).status).toBe(204);
    expect((await node.api('GET', `/v1/recordings/${recording.id}`)).body.status).toBe('deleted');
    expect(await node.lc.store.list(`hls/${stream.playbackId}/recordings/`)).toEqual([]);
    expect((await fetch(vodUrl)).status).toBe(404);
  });
});

describe('recording jobs under failure', () => {
  it('end with one ready recording when the worker is killed mid-job and Redis restarts', async () => {
    const redis = await EmbeddedRedis.start({ binary: 'redis-server', logger: createLogger('silent') });
    const port = Number(new URL(redis.url).port);
    let restarted: EmbeddedRedis | undefined;
    const api = await startTestNode({ REDIS_URL: redis.url, ROLE: 'ingest', RECONNECT_WINDOW_SECONDS: 1, RECORDING_MP4: true });
    const workers: ChildProcess[] = [];
    const startWorker = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker-main.ts'], {
        env: {
          ...process.env,
          PORT: '0',
          DATABASE_URL: api.lc.config.DATABASE_URL,
          REDIS_URL: redis.url,
          REDIS_KEY_PREFIX: api.lc.config.REDIS_KEY_PREFIX,
          LIVECUE_DATA_DIR: api.dataDir,
          LOG_LEVEL: 'warn',
          SWEEP_SECONDS: '2',
          WORKER_LOCK_SECONDS: '4',
          RECORDING_MP4: 'true',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      workers.push(child);
      return child;
    };
    try {
      const { body: stream } = await api.api('POST', '/v1/streams', { title: 'crash' });
      const worker = startWorker();
      expect(await pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 8 }).exited).toBe(0);
      const [session] = await waitFor(
        'session ended',
        async () => {
          const found = await api.lc.database.db.select().from(liveSessions).where(eq(liveSessions.streamId, stream.id));
          return found[0]?.endedAt ? found : undefined;
        },
        20_000,
      );
      // Kill the worker the moment it starts the job, then lose Redis (no persistence: the queue is gone).
      await waitFor(
        'job processing',
        async () => {
          const [row] = await api.lc.database.db.select().from(recordings).where(eq(recordings.sessionId, session!.id));
          return row?.status === 'processing' || undefined;
        },
        30_000,
        20,
      );
      worker.kill('SIGKILL');
      await redis.close();
      restarted = await EmbeddedRedis.start({ binary: 'redis-server', logger: createLogger('silent'), port });
      startWorker();
      const row = await waitFor(
        'ready after recovery',
        async () => {
          const found = await api.lc.database.db.select().from(recordings).where(eq(recordings.sessionId, session!.id));
          return found.length === 1 && found[0]!.status === 'ready' ? found[0] : undefined;
        },
        60_000,
      );
      expect(row.attempts).toBeGreaterThanOrEqual(2);
      expect(await api.lc.database.db.select().from(recordings).where(eq(recordings.streamId, stream.id))).toHaveLength(1);
      const view = (await api.api('GET', `/v1/recordings/${row.id}`)).body;
      expect(await decodeVideoFrames(view.playback.hlsUrl.replace('master.m3u8', '360p/index.m3u8'))).toBeGreaterThan(200);
    } finally {
      for (const child of workers) child.kill('SIGKILL');
      await api.stop();
      await restarted?.close();
      await redis.close();
    }
  });
});

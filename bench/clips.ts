// Benchmark of shoppable clips: time from the request to a ready 30 s clip (stream copy on keyframes, an edge
// re-encoded, a 9:16 portrait re-encode) and the CPU each costs, and the auto-clip time of a show with many pins
// (AUTO_CLIPS: from the show's end, through its recording, to every pin's clip ready).
// Scaled down by default (a 3-minute show with 6 pins, a pin every 30 s) so it runs in a few minutes;
// BENCH_MINUTES=10 BENCH_PINS=20 is the 10-minute show with 20 pins.
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { and, eq, inArray } from 'drizzle-orm';
import { startLivecue, type Livecue } from '../src/app.ts';
import { parseConfig } from '../src/config/load.ts';
import { clips, cues, liveSessions, recordings, streams } from '../src/db/schema.ts';
import { createLogger } from '../src/log.ts';
import { RecordingBuilder } from '../src/workers/recording-builder.ts';
import { randomBase62 } from '../src/streams/stream-keys.ts';
import { benchConfig } from './lib/bench-node.ts';
import { BenchRecord } from './lib/bench-record.ts';
import { childrenCpuSeconds, generateLadder, seedShow } from './lib/recording-show.ts';

const MINUTES = Number(process.env.BENCH_MINUTES ?? 3);
const PINS = Number(process.env.BENCH_PINS ?? 6);
const CLIP_SECONDS = 30;
const POLL_MS = 50;
const TIMEOUT_MS = 10 * 60_000;
const TUNABLE = ['SEGMENT_SECONDS', 'LADDER', 'X264_PRESET', 'WORKER_CONCURRENCY'] as const;

interface Cost {
  seconds: number;
  /** FFmpeg children waited for plus livecue's own Node process, over the wall time. */
  cpuSeconds: number;
}

function meter(): () => Cost {
  const started = performance.now();
  const children = childrenCpuSeconds();
  const own = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(own);
    return { seconds: (performance.now() - started) / 1000, cpuSeconds: childrenCpuSeconds() - children + (used.user + used.system) / 1e6 };
  };
}

async function api(lc: Livecue, method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${lc.urls.api}${url}`, {
    method,
    headers: { authorization: `Bearer ${lc.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json().catch(() => undefined) };
}

async function untilReady(lc: Livecue, ids: string[]): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (Date.now() < deadline) {
    const rows = await lc.database.db.select({ status: clips.status, reason: clips.failureReason }).from(clips).where(inArray(clips.id, ids));
    const failed = rows.find((row) => row.status === 'failed');
    if (failed) throw new Error(`a clip failed: ${failed.reason}`);
    if (rows.length === ids.length && rows.every((row) => row.status === 'ready')) return;
    await sleep(POLL_MS);
  }
  throw new Error('clips not ready in time');
}

async function main(): Promise<void> {
  const record = new BenchRecord('clips');
  const defaults = parseConfig({});
  const spec = {
    seconds: MINUTES * 60,
    runs: 1,
    width: 1280,
    height: 720,
    fps: 30,
    segmentSeconds: defaults.SEGMENT_SECONDS,
    preset: defaults.X264_PRESET,
    ladder: defaults.LADDER,
  };
  const sourceDir = process.env.BENCH_SOURCE_DIR ?? (await mkdtemp(path.join(os.tmpdir(), 'livecue-bench-clips-src-')));
  mkdirSync(sourceDir, { recursive: true });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'livecue-bench-clips-'));
  console.log(`livecue clips bench: ${MINUTES} min 720p30 show with ${PINS} pins, ladder ${spec.ladder}, x264 ${spec.preset}; encoding the ladder ...`);
  const ladder = await generateLadder(sourceDir, spec);
  const config = benchConfig({ dataDir, tunable: TUNABLE, forced: { AUTO_CLIPS: 'true', RECORDING_MP4: 'false' } });
  const lc = await startLivecue(config, { logger: createLogger('silent') });
  try {
    const { db } = lc.database;
    const show = await seedShow(lc, ladder, { reconnectGapSeconds: 0, cueEverySeconds: Number.MAX_SAFE_INTEGER, nodeId: config.NODE_ID ?? os.hostname() });
    // Pins spread over the show, off the keyframes (a host pins whenever), each running to the next.
    const spacing = show.mediaSeconds / PINS;
    const product = await api(lc, 'POST', '/v1/products', { sku: `BENCH-${randomBase62(6)}`, title: 'Bench scarf', price: 10, currency: 'EUR' });
    await db.insert(cues).values(
      Array.from({ length: PINS }, (_, index) => {
        const t = index * spacing + 0.37;
        return {
          id: `cue_${randomBase62(16)}`,
          streamId: show.streamId,
          sessionId: show.sessionId,
          seq: index + 1,
          type: 'product.pin',
          payload: { productId: product.body.id },
          mediaTimeMs: Math.round(t * 1000),
          wallClock: new Date(show.startedAt.getTime() + t * 1000),
        };
      }),
    );
    await sleep(1000);

    // Auto clips: the show ends, its recording is built, every pin becomes a clip.
    const auto = meter();
    const endedAt = new Date();
    await db.update(liveSessions).set({ endedAt, endReason: 'encoder_left' }).where(eq(liveSessions.id, show.sessionId));
    await db.update(streams).set({ status: 'ended', updatedAt: endedAt }).where(eq(streams.id, show.streamId));
    await new RecordingBuilder({ db, store: lc.store, config, logger: createLogger('silent') }).ensureRow(show.sessionId, show.streamId);
    await lc.queues.recordings.add('finalize', { sessionId: show.sessionId }, { jobId: show.sessionId });
    let recording: typeof recordings.$inferSelect | undefined;
    while (!recording || recording.status !== 'ready') {
      [recording] = await db.select().from(recordings).where(eq(recordings.sessionId, show.sessionId));
      if (recording?.status === 'failed') throw new Error(`recording failed: ${recording.failureReason}`);
      await sleep(POLL_MS);
    }
    const recordingCost = auto();
    let autoIds: string[] = [];
    while (autoIds.length < PINS) {
      autoIds = (
        await db
          .select({ id: clips.id })
          .from(clips)
          .where(and(eq(clips.recordingId, recording.id)))
      ).map((row) => row.id);
      await sleep(POLL_MS);
    }
    await untilReady(lc, autoIds);
    const autoCost = auto();
    console.log(`auto clips: recording ready ${recordingCost.seconds.toFixed(1)} s, ${PINS} clips ready ${autoCost.seconds.toFixed(1)} s after the end`);

    // One 30 s clip at a time, the queue otherwise idle.
    const single: Record<string, Cost & { durationSeconds: number }> = {};
    const cases: [string, Record<string, unknown>][] = [
      ['copy (cuts on keyframes)', { start: 30, end: 30 + CLIP_SECONDS }],
      ['edge re-encode (cut mid-GOP)', { start: 31.3, end: 31.3 + CLIP_SECONDS }],
      ['9:16 portrait (re-encode)', { start: 30, end: 30 + CLIP_SECONDS, aspect: '9:16' }],
    ];
    for (const [name, body] of cases) {
      const cost = meter();
      const created = await api(lc, 'POST', `/v1/recordings/${recording.id}/clips`, body);
      if (created.status !== 202) throw new Error(`${name}: ${created.status} ${JSON.stringify(created.body)}`);
      await untilReady(lc, [created.body.id]);
      const [row] = await db.select().from(clips).where(eq(clips.id, created.body.id));
      single[name] = { ...cost(), durationSeconds: (row?.durationMs ?? 0) / 1000 };
      console.log(`${name}: ready in ${single[name].seconds.toFixed(2)} s, ${single[name].cpuSeconds.toFixed(2)} CPU s`);
    }

    console.log('\n| 30 s clip | ready after request | CPU s | clip seconds |\n| --- | --- | --- | --- |');
    for (const [name, cost] of Object.entries(single))
      console.log(`| ${name} | ${cost.seconds.toFixed(2)} s | ${cost.cpuSeconds.toFixed(2)} | ${cost.durationSeconds.toFixed(2)} |`);
    console.log(
      `| auto: ${PINS} pins of a ${MINUTES} min show | ${autoCost.seconds.toFixed(1)} s after the end (recording ${recordingCost.seconds.toFixed(1)} s) | ${autoCost.cpuSeconds.toFixed(1)} | ${spacing.toFixed(1)} each |`,
    );

    record.write({
      config: { show: spec, pins: PINS, clipSeconds: CLIP_SECONDS, scaledDown: MINUTES !== 10 || PINS !== 20, workerConcurrency: config.WORKER_CONCURRENCY },
      single,
      auto: { pins: PINS, recording: recordingCost, allClipsReady: autoCost },
    });
  } finally {
    await lc.close();
    await rm(dataDir, { recursive: true, force: true });
    if (!process.env.BENCH_SOURCE_DIR) await rm(sourceDir, { recursive: true, force: true });
  }
}

await main();

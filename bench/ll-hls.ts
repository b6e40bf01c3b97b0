// Benchmark of Low-Latency HLS as a viewer and a CDN see it: glass-to-glass in Chromium (the viewer page with
// hls.js in low-latency mode, and hls.js with low-latency mode off, as a player that does not know LL-HLS), the
// time to the first playable part, the ladder's CPU, and the origin under hundreds of LL clients holding
// blocking playlist reloads on one show (origin CPU, how long it takes to release them all).
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser } from 'playwright-core';
import { launchChromium, requireChromiumAndPages } from '../tests/helpers/chromium.ts';
import { BenchNode, envNumber, waitForProducer } from './lib/bench-node.ts';
import { BenchRecord } from './lib/bench-record.ts';
import { CpuMeter, machineCpu, processCpu, type CpuSummary } from './lib/cpu.ts';
import { IpcChild } from './lib/ipc-child.ts';
import type { LlClientsReply, LlClientsRequest, LlClientsResult } from './lib/ll-clients.ts';
import { readLlPlaylist } from './lib/ll-playlist.ts';
import { api, createStream, type AdminApi } from './lib/livecue-api.ts';
import { startFrameSampling, takeShownFrames } from './lib/page-stamps.ts';
import { StampedCamera } from './lib/stamped-camera.ts';
import { fmt, fmtStats, stats, type Stats } from './lib/stats.ts';
import { printTextTable } from './lib/text-table.ts';

const WATCH_SECONDS = envNumber('BENCH_SECONDS', 60);
const CLIENTS = envNumber('BENCH_CLIENTS', 500);
const CLIENT_SECONDS = envNumber('BENCH_CLIENT_SECONDS', 30);
const IDLE_SECONDS = 10;
/** Playback settles (first fragments, catching up to the live edge) before latency counts. */
const SETTLE_SECONDS = 8;
const SOURCE = { width: envNumber('BENCH_WIDTH', 1280), height: envNumber('BENCH_HEIGHT', 720), fps: envNumber('BENCH_FPS', 30) };
const TUNABLE = ['SEGMENT_SECONDS', 'PART_SECONDS', 'LADDER', 'X264_PRESET', 'PASSTHROUGH'] as const;
const HLS_JS = path.join(import.meta.dirname, '..', 'node_modules', 'hls.js', 'dist', 'hls.min.js');

interface PlayerResult {
  player: string;
  /** Seconds from the page's load to its first sampled frame. */
  firstFrameSeconds?: number;
  /** Shown time − capture time of the frames on screen, seconds. */
  latency?: Stats;
  samples: number;
  unreadable: number;
}

/** A page that plays the master playlist with hls.js as given (the bench's own: low-latency mode off). */
function plainPlayerPage(): Promise<Server> {
  const page = `<!doctype html><meta charset="utf-8"><video muted autoplay playsinline></video><script src="/hls.js"></script><script>
    const hls = new Hls({ lowLatencyMode: false });
    hls.loadSource(new URLSearchParams(location.search).get('src'));
    hls.attachMedia(document.querySelector('video'));
  </script>`;
  const server = createServer((req, res) => {
    if (req.url === '/hls.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(HLS_JS));
    res.writeHead(200, { 'content-type': 'text/html' }).end(page);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Plays `url` for WATCH_SECONDS and reads the age of the picture on screen. */
async function watch(browser: Browser, player: string, url: string): Promise<PlayerResult> {
  const page = await browser.newPage();
  const opened = Date.now();
  const latencies: number[] = [];
  let samples = 0;
  let unreadable = 0;
  let firstFrameAt: number | undefined;
  try {
    await page.goto(url);
    await startFrameSampling(page);
    const endAt = Date.now() + WATCH_SECONDS * 1000;
    while (Date.now() < endAt) {
      await sleep(1000);
      for (const frame of await takeShownFrames(page)) {
        firstFrameAt ??= frame.shownAt;
        if (frame.shownAt - firstFrameAt < SETTLE_SECONDS * 1000) continue;
        samples++;
        if (frame.stamp === undefined) unreadable++;
        else latencies.push((frame.shownAt - frame.stamp) / 1000);
      }
    }
  } finally {
    await page.close();
  }
  return { player, firstFrameSeconds: firstFrameAt === undefined ? undefined : (firstFrameAt - opened) / 1000, latency: stats(latencies), samples, unreadable };
}

/** Seconds from the camera's start until the lowest rendition lists its first part (or its first segment). */
async function firstPart(masterUrl: string, spawnedAt: number): Promise<{ seconds?: number; playlistUrl?: string; hasParts: boolean }> {
  const deadline = spawnedAt + 30_000;
  while (performance.now() < deadline) {
    const master = await fetch(masterUrl).then((r) => (r.ok ? r.text() : ''));
    const variants = master.split('\n').filter((line) => line && !line.startsWith('#'));
    const lowest = variants[variants.length - 1];
    if (lowest) {
      const playlistUrl = new URL(lowest, masterUrl).href;
      const text = await fetch(playlistUrl).then((r) => (r.ok ? r.text() : ''));
      const view = readLlPlaylist(text);
      if (view.newest || text.includes('#EXTINF')) return { seconds: (performance.now() - spawnedAt) / 1000, playlistUrl, hasParts: view.newest !== undefined };
    }
    await sleep(20);
  }
  return { hasParts: false };
}

/** CPU of this process (the origin: livecue runs in it) while `during` runs. */
async function originCpu<T>(during: () => Promise<T>): Promise<{ value: T; cpu?: CpuSummary }> {
  const meter = new CpuMeter(() => processCpu(process.pid));
  meter.sample();
  const sampler = setInterval(() => meter.sample(), 1000);
  try {
    const value = await during();
    meter.sample();
    return { value, cpu: meter.summary() };
  } finally {
    clearInterval(sampler);
  }
}

async function main(): Promise<void> {
  requireChromiumAndPages();
  const record = new BenchRecord('ll-hls');
  record.announce(`${SOURCE.width}x${SOURCE.height}@${SOURCE.fps} x264 veryfast, ${WATCH_SECONDS} s per player, ${CLIENTS} LL clients for ${CLIENT_SECONDS} s`);
  const bench = await BenchNode.start({ tunable: TUNABLE, dirPrefix: 'livecue-llhls-' });
  const { node } = bench;
  const target: AdminApi = { baseUrl: `http://127.0.0.1:${node.httpPort}`, adminToken: node.adminToken };
  const plainServer = await plainPlayerPage();
  const browser = await launchChromium();
  const stream = await createStream(target, 'LL-HLS bench');
  const camera = new StampedCamera(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { ...SOURCE, preset: 'veryfast', name: 'camera' });
  const machine = new CpuMeter(machineCpu);
  const ladder = new CpuMeter(() => processCpu(node.registry.get(stream.id)?.transcoder.pid));
  const meters = setInterval(() => {
    machine.sample();
    ladder.sample();
  }, 1000);
  try {
    await waitForProducer(node, stream.id, 20_000);
    const first = await firstPart(stream.playback.hlsUrl, camera.spawnedAt);
    const llUrl = `${target.baseUrl}/watch/${stream.playbackId}?mode=hls`;
    const plainUrl = `http://127.0.0.1:${(plainServer.address() as AddressInfo).port}/?src=${encodeURIComponent(stream.playback.hlsUrl)}`;
    const players = [await watch(browser, 'viewer page, hls.js low-latency mode', llUrl), await watch(browser, 'hls.js, low-latency mode off', plainUrl)];
    await browser.close();

    const idle = await originCpu(() => sleep(IDLE_SECONDS * 1000));
    const swarm = new IpcChild<LlClientsRequest, LlClientsReply>(new URL('./lib/ll-clients.ts', import.meta.url), 'LL clients');
    let crowd: { value: LlClientsResult; cpu?: CpuSummary } | undefined;
    try {
      if (first.playlistUrl && first.hasParts) {
        crowd = await originCpu(async () => {
          const reply = await swarm.ask<'ran'>({ type: 'run', playlistUrl: first.playlistUrl!, clients: CLIENTS, seconds: CLIENT_SECONDS, fetchParts: true });
          return reply.result;
        });
      }
    } finally {
      await swarm.close();
    }
    machine.sample();
    ladder.sample();
    await camera.close();
    await api(target, 'DELETE', `/v1/streams/${stream.id}`).catch(() => {});

    const releaseLag = crowd && stats(crowd.value.releaseLagMs);
    const reload = crowd && stats(crowd.value.reloadMs);
    const releaseP99 =
      crowd && crowd.value.releaseLagMs.length
        ? [...crowd.value.releaseLagMs].sort((a, b) => a - b)[Math.ceil(0.99 * crowd.value.releaseLagMs.length) - 1]
        : undefined;
    printTextTable(
      [
        ['player', 'first frame s', 'glass-to-glass s p50 / p95 / max', 'frames read'],
        ...players.map((p) => [p.player, fmt(p.firstFrameSeconds, 1), fmtStats(p.latency, 2), `${p.samples - p.unreadable}/${p.samples}`]),
      ],
      { title: `Glass-to-glass in Chromium (${SOURCE.width}x${SOURCE.height}@${SOURCE.fps}, first ${SETTLE_SECONDS} s of playback left out)` },
    );
    printTextTable(
      [
        ['first part listed after the camera started', `${fmt(first.seconds, 2)} s${first.hasParts ? '' : ' (no parts: not LL-HLS)'}`],
        ['ladder FFmpeg cores', fmt(ladder.summary()?.cores, 2)],
        ['origin cores idle / with clients', `${fmt(idle.cpu?.cores, 3)} / ${fmt(crowd?.cpu?.cores, 3)}`],
        [
          `LL clients`,
          crowd ? `${crowd.value.clients}: ${crowd.value.reloads} blocking reloads, ${crowd.value.partsFetched} parts, ${crowd.value.errors} errors` : '—',
        ],
        ['release lag after the first client, ms p50 / p95 / max', fmtStats(releaseLag, 0)],
        ['release lag p99, ms', fmt(releaseP99, 0)],
        ['blocking reload wait, ms p50 / p95 / max', fmtStats(reload, 0)],
        ['machine busy cores', fmt(machine.summary()?.cores, 2)],
      ],
      { title: 'Origin' },
    );
    record.write({
      source: SOURCE,
      config: { SEGMENT_SECONDS: bench.config.SEGMENT_SECONDS, PART_SECONDS: (bench.config as unknown as Record<string, unknown>).PART_SECONDS },
      firstPart: first,
      players,
      ladderCpu: ladder.summary(),
      originCpuIdle: idle.cpu,
      crowd: crowd && { ...crowd.value, releaseLagMs: releaseLag, releaseLagP99Ms: releaseP99, reloadMs: reload, cpu: crowd.cpu },
      machineCpu: machine.summary(),
    });
  } finally {
    clearInterval(meters);
    await browser.close().catch(() => {});
    await camera.close().catch(() => {});
    plainServer.close();
    await bench.close();
  }
}

await main();

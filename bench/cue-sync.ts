// Benchmark of cue sync as a shopper sees it: the real viewer page in Chromium on WebRTC, live HLS and the replay,
// an RTMP show whose frames carry their capture time, cues (pins, offers, polls) placed at every phase of the frame
// clock. For each cue and path: the capture time of the frame on screen when the cue's card appears, against the
// frame that was arriving at livecue when the cue was placed; and how far the paths disagree on the same cue.
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, requireChromiumAndPages } from '../tests/helpers/chromium.ts';
import { BenchNode, envList, envNumber as env, sourceFromEnv, tunedFromEnv, waitForProducer } from './lib/bench-node.ts';
import { BenchRecord } from './lib/bench-record.ts';
import { CpuMeter, machineCpu } from './lib/cpu.ts';
import { IngestTap } from './lib/ingest-tap.ts';
import { api, createStream, type AdminApi, type BenchStream } from './lib/livecue-api.ts';
import { openViewer, waitForCards, type CardShown, type ViewerPath } from './lib/page-cue-probe.ts';
import { StampedCamera } from './lib/stamped-camera.ts';
import { fmt, fmtStats, stats, verdict, type Stats } from './lib/stats.ts';
import { printTextTable } from './lib/text-table.ts';

const SOURCE = sourceFromEnv();
const FPS = SOURCE.fps;
const FRAME_MS = 1000 / FPS;
const CUES = env('BENCH_CUES', 24);
const CUE_INTERVAL_MS = env('BENCH_CUE_INTERVAL_MS', 1500);
/** x264 preset of the camera: veryfast gives High, as OBS's default does. */
const PRESET = process.env.BENCH_PRESET ?? 'veryfast';
/** x264's own tuning with B-frames, as OBS sends (livecue encodes it once for WebRTC); BENCH_BFRAMES=0: zerolatency, passed through. */
const B_FRAMES = process.env.BENCH_BFRAMES !== '0';
const PATHS = new Set(envList('BENCH_PATHS', 'webrtc,hls,replay'));
const TUNABLE = ['SEGMENT_SECONDS', 'LIVE_WINDOW_SEGMENTS', 'LADDER', 'X264_PRESET', 'PASSTHROUGH'] as const;
/** ±1 frame, p95 over the cues, on every path and between paths. */
const TARGET_MS = Math.ceil(FRAME_MS);

type LivePath = ViewerPath;

interface PlacedCue {
  key: string;
  id: string;
  type: string;
  mediaTime: number;
  wallClock: number;
  /** Date.now() when the POST left and when its answer came. */
  postedAt: number;
  answeredAt: number;
  /** Date.now() when livecue took the show's position for it (between the two). */
  placedAt?: number;
  /** Capture stamp of the newest frame livecue had received when the POST left (the frame the cue is meant for). */
  meantStamp?: number;
}

interface Arrival {
  at: number;
  stamp: number;
}

/** Every video tag that reached livecue, with the capture time of its frame (by presentation time against the camera's stamps). */
function arrivalsOf(tap: IngestTap, camera: StampedCamera, streamKey: string): Arrival[] {
  return tap.framesOf(streamKey, FPS).flatMap((arrival) => {
    const stamp = camera.stamps[arrival.index];
    return stamp === undefined ? [] : [{ at: arrival.at, stamp }];
  });
}

function newestBefore(arrivals: Arrival[], at: number): Arrival | undefined {
  let found: Arrival | undefined;
  for (const arrival of arrivals) {
    if (arrival.at > at) break;
    found = arrival;
  }
  return found;
}

const CUE_KINDS = ['product.pin', 'offer.start', 'product.pin', 'poll.open'] as const;

async function placeCue(target: AdminApi, stream: BenchStream, index: number, products: string[]): Promise<PlacedCue | undefined> {
  const kind = CUE_KINDS[index % CUE_KINDS.length]!;
  const productId = products[Math.floor(index / 2) % products.length]!;
  const pollId = `bench_poll_${index}`;
  const body =
    kind === 'product.pin'
      ? { type: kind, productId }
      : kind === 'offer.start'
        ? { type: kind, productId, discountPercent: 10, durationSeconds: 60 }
        : { type: kind, pollId, question: `Which one? (${index})`, options: ['this', 'that'] };
  const postedAt = Date.now();
  const cue = (await api(target, 'POST', `/v1/streams/${stream.id}/cues`, body).catch(() => undefined)) as
    { id: string; type: string; mediaTime: number; wallClock: string } | undefined;
  if (!cue) return undefined;
  const key = kind === 'product.pin' ? `pin:${productId}` : kind === 'offer.start' ? `offer:${cue.id}` : `poll:${pollId}`;
  return { key, id: cue.id, type: cue.type, mediaTime: cue.mediaTime, wallClock: Date.parse(cue.wallClock), postedAt, answeredAt: Date.now() };
}

interface PathResult {
  path: LivePath;
  shown: number;
  /** Stamp on screen when the card appeared - stamp of the frame meant (ms; < 0: an earlier frame). */
  errorMs?: Stats & { mean: number; min: number };
  absErrorMs?: Stats;
  latencyBasis?: string;
  cardsUnreadable: number;
  error?: string;
}

function pathResult(path: LivePath, placed: PlacedCue[], shown: Map<PlacedCue, CardShown>): PathResult {
  const errors = placed.flatMap((cue) => {
    const card = shown.get(cue);
    return card?.stamp != null && cue.meantStamp !== undefined ? [card.stamp - cue.meantStamp] : [];
  });
  const summary = stats(errors);
  return {
    path,
    shown: shown.size,
    errorMs: summary && { ...summary, mean: errors.reduce((a, b) => a + b, 0) / errors.length, min: Math.min(...errors) },
    absErrorMs: stats(errors.map(Math.abs)),
    cardsUnreadable: [...shown.values()].filter((card) => card.stamp === null).length,
  };
}

/** Per cue, |stamp on path a - stamp on path b| for each pair of paths, and the largest of them. */
function crossPath(placed: PlacedCue[], byPath: Map<LivePath, Map<PlacedCue, CardShown>>) {
  const paths = [...byPath.keys()];
  const pairs: Record<string, Stats | undefined> = {};
  const worst: number[] = [];
  for (let i = 0; i < paths.length; i++)
    for (let j = i + 1; j < paths.length; j++) {
      const [a, b] = [paths[i]!, paths[j]!];
      pairs[`${a}-${b}`] = stats(
        placed.flatMap((cue) => {
          const [x, y] = [byPath.get(a)!.get(cue)?.stamp, byPath.get(b)!.get(cue)?.stamp];
          return x != null && y != null ? [Math.abs(x - y)] : [];
        }),
      );
    }
  for (const cue of placed) {
    const stamps = paths.flatMap((path) => {
      const stamp = byPath.get(path)!.get(cue)?.stamp;
      return stamp == null ? [] : [stamp];
    });
    if (stamps.length === paths.length && stamps.length > 1) worst.push(Math.max(...stamps) - Math.min(...stamps));
  }
  return { pairs, worstPerCueMs: stats(worst) };
}

async function main(): Promise<void> {
  requireChromiumAndPages();
  const record = new BenchRecord('cue-sync');
  const bench = await BenchNode.start({ tunable: TUNABLE, settings: { CUE_RATE_PER_SECOND: 100, RECONNECT_WINDOW_SECONDS: 1 } });
  const { node, config } = bench;
  const tap = new IngestTap(node);
  const target: AdminApi = { baseUrl: `http://127.0.0.1:${node.httpPort}`, adminToken: node.adminToken };
  record.announce(
    `RTMP ${SOURCE.width}x${SOURCE.height}@${FPS} x264 ${PRESET} ${B_FRAMES ? 'with B-frames' : 'zerolatency'}, ladder ${config.LADDER}, segments ${config.SEGMENT_SECONDS} s; ${CUES} cues every ~${CUE_INTERVAL_MS} ms; paths ${[...PATHS].join(', ')}`,
  );
  const machine = new CpuMeter(machineCpu);
  machine.sample();
  const sampling = setInterval(() => machine.sample(), 1000);
  let browser: Browser | undefined;
  let camera: StampedCamera | undefined;
  const byPath = new Map<LivePath, Map<PlacedCue, CardShown>>();
  const bases = new Map<LivePath, string | undefined>();
  const placed: PlacedCue[] = [];
  const placements: { at: number; mediaTime: number }[] = [];
  const failures: Record<string, string> = {};
  let arrivals: Arrival[] = [];
  try {
    const products: string[] = [];
    for (const sku of ['CUESYNC-A', 'CUESYNC-B', 'CUESYNC-C']) {
      const product = await api(target, 'POST', '/v1/products', {
        sku,
        title: `Product ${sku}`,
        price: 20,
        currency: 'EUR',
        imageUrl: `https://shop.example.com/${sku}.png`,
        productUrl: `https://shop.example.com/p/${sku}`,
      });
      products.push(product.id as string);
    }
    const stream = await createStream(target, 'bench cue sync');
    camera = new StampedCamera(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { ...SOURCE, preset: PRESET, bFrames: B_FRAMES });
    await waitForProducer(node, stream.id, 20_000);
    // The instant livecue places each cue: when the cue service asks the session where the show is.
    const session = node.registry.get(stream.id)!;
    const sessionNow = session.now.bind(session);
    session.now = (at?: number) => {
      const where = sessionNow(at);
      placements.push({ at: Date.now(), mediaTime: where.mediaTime });
      return where;
    };
    browser = await launchChromium();
    const watchUrl = `${target.baseUrl}/watch/${stream.playbackId}`;
    const livePages = new Map<LivePath, Page>();
    for (const path of ['webrtc', 'hls'] as const) {
      if (!PATHS.has(path)) continue;
      try {
        livePages.set(path, await openViewer(browser, path === 'hls' ? `${watchUrl}?mode=hls` : watchUrl, path));
      } catch (error) {
        failures[path] = (error as Error).message;
      }
    }
    console.log(`placing ${CUES} cues on ${[...livePages.keys()].join(' and ')} ...`);
    await sleep(3000);
    for (let i = 0; i < CUES; i++) {
      // A random part of a frame interval on top, so cues land at every phase of the frame clock.
      await sleep(CUE_INTERVAL_MS + Math.random() * FRAME_MS);
      const cue = await placeCue(target, stream, i, products);
      if (cue) placed.push(cue);
    }
    arrivals = arrivalsOf(tap, camera, stream.ingest.streamKey);
    for (const cue of placed) {
      const placedAt = placements.find((p) => p.at >= cue.postedAt && Math.abs(p.mediaTime - cue.mediaTime) < 1e-3)?.at ?? cue.postedAt;
      cue.placedAt = placedAt;
      cue.meantStamp = newestBefore(arrivals, placedAt)?.stamp;
    }
    for (const [path, page] of livePages) {
      byPath.set(path, await waitForCards(page, placed, 20_000));
      bases.set(path, await page.evaluate(() => (window as unknown as { livecueViewer: { latencyBasis?: string } }).livecueViewer.latencyBasis));
      await page.context().close();
    }
    await camera.close();
    if (PATHS.has('replay')) {
      console.log('the show ended; playing its replay ...');
      try {
        const page = await openViewer(browser, `${watchUrl}?replay=1`, 'replay');
        byPath.set('replay', await waitForCards(page, placed, (placed.at(-1)?.mediaTime ?? 0) * 1000 + 30_000));
        bases.set('replay', 'media-time');
        await page.context().close();
      } catch (error) {
        failures.replay = (error as Error).message;
      }
    }
  } finally {
    clearInterval(sampling);
    machine.sample();
    await camera?.close();
    await browser?.close();
    await bench.close();
  }

  const results = [...byPath].map(([path, shown]) => ({ ...pathResult(path, placed, shown), latencyBasis: bases.get(path) }));
  const cross = crossPath(placed, byPath);
  const ingestDelay = stats(arrivals.map((a) => a.at - a.stamp));
  // Where the PDT timeline puts the frame a cue is attached to, against the instant it was placed (that frame had just arrived).
  const anchorMs = stats(placed.map((cue) => cue.wallClock - (cue.placedAt ?? cue.postedAt)));
  const load = { loadavgStart: record.loadavgStart, loadavgEnd: os.loadavg(), machineBusyCores: machine.summary()?.cores };
  const rows: string[][] = [['', 'signed error p50 (ms)', '|error| p50 / p95 / max (ms)', 'cards', 'verdict', 'target']];
  for (const result of results) {
    const ok = result.absErrorMs ? result.absErrorMs.p95 <= TARGET_MS && result.shown === placed.length : false;
    rows.push([
      `${result.path} (${result.latencyBasis ?? '—'}): frame on screen - frame arriving at placement`,
      fmt(result.errorMs?.p50),
      fmtStats(result.absErrorMs),
      `${result.shown}/${placed.length}`,
      verdict(ok),
      `p95 <= ${TARGET_MS}`,
    ]);
  }
  for (const [pair, pairStats] of Object.entries(cross.pairs)) rows.push([`  paths differ: ${pair}`, '', fmtStats(pairStats), '', '', '']);
  rows.push([
    '  paths differ: widest per cue',
    '',
    fmtStats(cross.worstPerCueMs),
    '',
    verdict(cross.worstPerCueMs && cross.worstPerCueMs.p95 <= TARGET_MS),
    `p95 <= ${TARGET_MS}`,
  ]);
  rows.push(['  capture -> livecue ingest (ms)', fmt(ingestDelay?.p50), fmtStats(ingestDelay), '', '', 'in every path alike']);
  rows.push(['  cue wallClock (PDT timeline) - placement instant (ms)', fmt(anchorMs?.p50), fmtStats(anchorMs), '', '', 'information']);
  rows.push([
    '  machine',
    '',
    `load ${load.loadavgStart.map((l) => l.toFixed(1)).join(' ')} -> ${load.loadavgEnd.map((l) => l.toFixed(1)).join(' ')}; busy ${fmt(load.machineBusyCores, 2)}/${os.cpus().length} cores`,
    '',
    '',
    '',
  ]);
  printTextTable(rows);
  for (const [path, message] of Object.entries(failures)) console.log(`${path}: ${message}`);
  const file = record.write(
    {
      config: {
        ...SOURCE,
        preset: PRESET,
        bFrames: B_FRAMES,
        cues: CUES,
        cueIntervalMs: CUE_INTERVAL_MS,
        segmentSeconds: config.SEGMENT_SECONDS,
        ladder: config.LADDER,
        ...tunedFromEnv(TUNABLE),
      },
      targetMs: TARGET_MS,
      paths: results,
      crossPath: cross,
      ingestDelayMs: ingestDelay,
      pdtMinusPlacementMs: anchorMs,
      failures,
      cues: placed.map((cue) => ({
        type: cue.type,
        mediaTime: cue.mediaTime,
        wallClockMinusPlacedMs: cue.wallClock - (cue.placedAt ?? cue.postedAt),
        postMs: cue.answeredAt - cue.postedAt,
        errorMs: Object.fromEntries([...byPath].map(([path, shown]) => [path, (shown.get(cue)?.stamp ?? Number.NaN) - (cue.meantStamp ?? Number.NaN)])),
      })),
    },
    { busyCoresWholeRun: load.machineBusyCores },
  );
  console.log(`results: ${file}`);
}

await main();
process.exit(0);

// Benchmark of RTMP in, ABR HLS out: time to the first playable master playlist, transcoder CPU, glass-to-glass latency.
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Livecue } from '../src/app.ts';
import type { Config } from '../src/config/schema.ts';
import { BenchNode } from './lib/bench-node.ts';
import { BenchRecord } from './lib/bench-record.ts';
import { CpuMeter, machineCpu, processCpu, type CpuSummary } from './lib/cpu.ts';
import { readStamp } from './lib/frame-clock.ts';
import { nicedFfmpeg } from './lib/niced-ffmpeg.ts';
import { StampedCamera } from './lib/stamped-camera.ts';
import { stats, verdict, type Stats } from './lib/stats.ts';
import { printTextTable } from './lib/text-table.ts';

const BENCH_SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const CONCURRENT = process.env.BENCH_CONCURRENT === '1';
const WARMUP_SECONDS = 5;
const PLAYLIST_POLL_MS = 100;
const SAMPLE_MS = 1000;
/** Decoded frames are scaled to this size before the stamp is read, whatever the rendition. */
const READ_WIDTH = 480;
const READ_HEIGHT = 270;
/** A stamp older than this (or in the future) was misread, not merely late. */
const MAX_PLAUSIBLE_LATENCY_MS = 60_000;
/**
 * FFmpeg's speed gauge is media time over time since it finished probing its input, so a transcoder that
 * keeps up sits a little above 1 (the probed media counts) and one that falls behind sinks below it.
 */
const KEEPS_UP_SPEED = 1.0;
/** Options of livecue the bench lets the environment change; everything else stays on the embedded defaults. */
const TUNABLE = ['SEGMENT_SECONDS', 'LIVE_WINDOW_SEGMENTS', 'LADDER', 'X264_PRESET', 'PASSTHROUGH'] as const;

interface Source {
  name: string;
  width: number;
  height: number;
  fps: number;
}

/** The default pair; BENCH_SOURCES=all adds 60 fps and a phone held upright (their ladders cost more, or differently). */
const ALL_SOURCES: Source[] = [
  { name: '720p30', width: 1280, height: 720, fps: 30 },
  { name: '1080p30', width: 1920, height: 1080, fps: 30 },
  { name: '720p60', width: 1280, height: 720, fps: 60 },
  { name: 'portrait 1080x1920 30', width: 1080, height: 1920, fps: 30 },
];
const SOURCES: Source[] =
  process.env.BENCH_SOURCES === 'all'
    ? ALL_SOURCES
    : process.env.BENCH_SOURCES
      ? ALL_SOURCES.filter((source) => process.env.BENCH_SOURCES!.split(',').includes(source.name))
      : ALL_SOURCES.slice(0, 2);

interface ViewerResult {
  rendition: string;
  segmentsMeasured: number;
  decodeFailures: number;
  latencySeconds?: Stats;
  /** The same for the segment's first frame: about one segment duration older. */
  segmentStartLatencySeconds?: Stats;
  segmentSeconds?: number;
}

interface ShowResult {
  source: Source;
  ladder: { name: string; width: number; height: number; videoKbps: number }[];
  firstPlayableSeconds?: number;
  transcoderCpu?: CpuSummary;
  encoderCpu?: CpuSummary;
  /** This Node process: livecue's own work (RTMP, uploads, PGlite, HTTP) plus the bench's camera and viewers. */
  nodeCpu?: CpuSummary;
  /** All cores together, whoever uses them: shows how busy the machine was. */
  machineCpu?: CpuSummary;
  eventLoopDelayP99Ms: number;
  transcoderSpeed: { gaugeMin?: number; gaugeLast?: number; keptUp: boolean };
  viewers: ViewerResult[];
  encoderBacklogMaxFrames: number;
  encoderExitCode: number | null;
}

function variantUris(master: string): string[] {
  return master
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

function mediaSegments(playlist: string): { uri: string; duration: number; map?: string }[] {
  const segments: { uri: string; duration: number; map?: string }[] = [];
  let duration: number | undefined;
  let map: string | undefined;
  for (const raw of playlist.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice('#EXTINF:'.length));
    else if (line.startsWith('#EXT-X-MAP:')) map = /URI="([^"]+)"/.exec(line)?.[1];
    else if (line && !line.startsWith('#') && duration !== undefined) {
      segments.push({ uri: line, duration, map });
      duration = undefined;
    }
  }
  return segments;
}

async function fetchText(url: string): Promise<string | undefined> {
  const response = await fetch(url).catch(() => undefined);
  if (!response?.ok) {
    await response?.body?.cancel();
    return undefined;
  }
  return response.text();
}

/** Polls until the master is served and its first rendition lists a segment; the seconds since the encoder spawned. */
async function waitPlayable(masterUrl: string, spawnedAt: number, deadline: number): Promise<{ seconds: number; variants: string[] } | undefined> {
  while (performance.now() < deadline) {
    const master = await fetchText(masterUrl);
    const variants = master ? variantUris(master) : [];
    if (variants[0]) {
      const media = await fetchText(new URL(variants[0], masterUrl).href);
      if (media && mediaSegments(media).length > 0) return { seconds: (performance.now() - spawnedAt) / 1000, variants };
    }
    await sleep(PLAYLIST_POLL_MS);
  }
  return undefined;
}

/**
 * A viewer of one rendition's live playlist: for each segment that appears, fetches it, reads the stamp of
 * its last frame (the newest frame a player could show) and records now - stamp, "now" being when the
 * segment finished downloading (the bench's own decoding time is not counted).
 */
class LatencyViewer {
  #seen = new Set<string>();
  /** Init segments by URL: one per transcoder run. */
  #inits: Record<string, Buffer> = {};
  #latencies: number[] = [];
  #startLatencies: number[] = [];
  #durations: number[] = [];
  #failures = 0;
  #pending = new Set<Promise<void>>();
  #running = true;
  #loop: Promise<void>;

  constructor(
    readonly rendition: string,
    private readonly playlistUrl: string,
  ) {
    this.#loop = this.#poll();
  }

  async #poll(): Promise<void> {
    let first = true;
    while (this.#running) {
      const text = await fetchText(this.playlistUrl);
      if (text) {
        const fresh = mediaSegments(text).filter((segment) => !this.#seen.has(segment.uri));
        for (const segment of fresh) this.#seen.add(segment.uri);
        // Segments listed before the viewer started are not fresh: measuring them would overstate latency.
        const newest = fresh[fresh.length - 1];
        if (newest && !first) {
          this.#durations.push(newest.duration);
          const measuring = this.#measure(new URL(newest.uri, this.playlistUrl).href, newest.map && new URL(newest.map, this.playlistUrl).href);
          this.#pending.add(measuring);
          void measuring.finally(() => this.#pending.delete(measuring));
        }
        first = false;
      }
      await sleep(PLAYLIST_POLL_MS);
    }
  }

  /** A segment's frames, read behind its init segment (fragmented MP4); latency counts from the segment's arrival. */
  async #measure(segmentUrl: string, initUrl: string | undefined): Promise<void> {
    try {
      if (!initUrl) throw new Error('segment without EXT-X-MAP');
      const response = await fetch(segmentUrl);
      if (!response.ok) throw new Error(`segment ${response.status}`);
      const segment = Buffer.from(await response.arrayBuffer());
      const availableAt = Date.now();
      const init = (this.#inits[initUrl] ??= await fetch(initUrl).then(async (r) => Buffer.from(await r.arrayBuffer())));
      const body = Buffer.concat([init, segment]);
      const { stdout: frames } = await nicedFfmpeg(
        ['-v', 'error', '-f', 'mp4', '-i', 'pipe:0', '-an', '-vf', `scale=${READ_WIDTH}:${READ_HEIGHT},format=gray`, '-f', 'rawvideo', 'pipe:1'],
        body,
      );
      const frameBytes = READ_WIDTH * READ_HEIGHT;
      const latency = this.#latencyOf(frames.subarray(frames.length - frameBytes), availableAt);
      const startLatency = this.#latencyOf(frames.subarray(0, frameBytes), availableAt);
      if (latency === undefined || startLatency === undefined) throw new Error('implausible stamp');
      this.#latencies.push(latency);
      this.#startLatencies.push(startLatency);
    } catch {
      this.#failures++;
    }
  }

  #latencyOf(frame: Buffer, availableAt: number): number | undefined {
    const stamp = readStamp(frame, READ_WIDTH, READ_HEIGHT);
    const latency = stamp === undefined ? NaN : availableAt - stamp;
    return latency >= 0 && latency <= MAX_PLAUSIBLE_LATENCY_MS ? latency / 1000 : undefined;
  }

  async stop(): Promise<ViewerResult> {
    this.#running = false;
    await this.#loop;
    await Promise.all(this.#pending);
    const durations = this.#durations;
    return {
      rendition: this.rendition,
      segmentsMeasured: this.#latencies.length + this.#failures,
      decodeFailures: this.#failures,
      latencySeconds: stats(this.#latencies),
      segmentStartLatencySeconds: stats(this.#startLatencies),
      segmentSeconds: durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : undefined,
    };
  }
}

async function api(node: Livecue, method: string, urlPath: string, body?: unknown): Promise<any> {
  const response = await fetch(`http://127.0.0.1:${node.httpPort}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${node.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${urlPath}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
}

async function speedGauge(node: Livecue, streamId: string): Promise<number | undefined> {
  const text = await fetchText(`http://127.0.0.1:${node.httpPort}/metrics`);
  const match = text && new RegExp(`^livecue_transcoder_speed_ratio\\{stream_id="${streamId}"\\} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Pushes one source for `seconds` and measures it from the outside, as an encoder, a viewer and `top` would. */
async function runShow(node: Livecue, source: Source, seconds: number): Promise<ShowResult> {
  const stream = await api(node, 'POST', '/v1/streams', { title: `bench ${source.name}` });
  const masterUrl: string = stream.playback.hlsUrl;
  const encoder = new StampedCamera(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, {
    width: source.width,
    height: source.height,
    fps: source.fps,
    name: `encoder (${source.name})`,
  });
  const endAt = encoder.spawnedAt + seconds * 1000;
  const transcoderPid = () => node.registry.get(stream.id)?.transcoder.pid;
  const transcoderCpu = new CpuMeter(() => processCpu(transcoderPid()));
  const encoderCpu = new CpuMeter(() => processCpu(encoder.pid));
  const nodeCpu = new CpuMeter(() => processCpu(process.pid));
  const machine = new CpuMeter(machineCpu);
  const meters = [transcoderCpu, encoderCpu, nodeCpu, machine];
  // Livecue and the bench's camera share this event loop: a late loop delays both RTMP handling and frames.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const speeds: { at: number; speed: number }[] = [];
  let ladder: ShowResult['ladder'] = [];

  const sampling = (async () => {
    while (transcoderPid() === undefined && performance.now() < endAt) await sleep(50);
    const transcoderStart = performance.now();
    const steadyFrom = transcoderStart + WARMUP_SECONDS * 1000;
    while (performance.now() < endAt) {
      const now = performance.now();
      if (now >= steadyFrom) for (const meter of meters) meter.sample(now);
      const speed = await speedGauge(node, stream.id);
      if (speed !== undefined) speeds.push({ at: (now - transcoderStart) / 1000, speed });
      ladder = (node.registry.get(stream.id)?.transcoder.renditions ?? []).map(({ name, width, height, videoBitrate }) => ({
        name,
        width,
        height,
        videoKbps: Math.round(videoBitrate / 1000),
      }));
      await sleep(Math.max(0, Math.min(SAMPLE_MS - (performance.now() - now), endAt - performance.now())));
    }
    for (const meter of meters) meter.sample();
  })();

  const playable = await waitPlayable(masterUrl, encoder.spawnedAt, endAt);
  const variants = playable?.variants ?? [];
  const watched = [...new Set([variants[0], variants[variants.length - 1]])].filter((uri): uri is string => uri !== undefined);
  const viewers = watched.map((uri) => new LatencyViewer(uri.split('/')[0]!, new URL(uri, masterUrl).href));

  await sampling;
  loopDelay.disable();
  const viewerResults = await Promise.all(viewers.map((viewer) => viewer.stop()));
  const encoderExitCode = await encoder.close();
  await api(node, 'DELETE', `/v1/streams/${stream.id}`);

  const steady = speeds.filter((sample) => sample.at >= WARMUP_SECONDS).map((sample) => sample.speed);
  const gaugeMin = steady.length ? Math.min(...steady) : undefined;
  return {
    source,
    ladder,
    firstPlayableSeconds: playable?.seconds,
    transcoderCpu: transcoderCpu.summary(),
    encoderCpu: encoderCpu.summary(),
    nodeCpu: nodeCpu.summary(),
    machineCpu: machine.summary(),
    eventLoopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    transcoderSpeed: { gaugeMin, gaugeLast: steady[steady.length - 1], keptUp: gaugeMin !== undefined && gaugeMin >= KEEPS_UP_SPEED },
    viewers: viewerResults,
    encoderBacklogMaxFrames: encoder.maxBacklogFrames,
    encoderExitCode,
  };
}

interface Targets {
  firstPlayableSeconds: number;
  ladder720Cores: number;
  latencySeconds: number;
}

function targetsFor(config: Config): Targets {
  return {
    firstPlayableSeconds: 2 * config.SEGMENT_SECONDS + 1,
    ladder720Cores: 0.5,
    latencySeconds: 3 * config.SEGMENT_SECONDS + 1,
  };
}

const fmt = (value: number | undefined, digits = 2) => (value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits));

/** p95 of the worst watched rendition: the target holds only if every rendition meets it. */
const worstLatencyP95 = (show: ShowResult) => {
  const p95s = show.viewers.map((viewer) => viewer.latencySeconds?.p95).filter((p): p is number => p !== undefined);
  return p95s.length ? Math.max(...p95s) : undefined;
};

const is720Ladder = (show: ShowResult) => show.source.height === 720 && show.ladder.length === 3;

function verdicts(show: ShowResult, targets: Targets) {
  const latency = worstLatencyP95(show);
  return {
    firstPlayable: show.firstPlayableSeconds === undefined ? false : show.firstPlayableSeconds <= targets.firstPlayableSeconds,
    cores: is720Ladder(show) && show.transcoderCpu ? show.transcoderCpu.cores < targets.ladder720Cores : undefined,
    latency: latency === undefined ? false : latency < targets.latencySeconds,
  };
}

function printTable(title: string, shows: ShowResult[], targets: Targets): void {
  const viewerCell = (show: ShowResult, index: 0 | 1) => {
    const viewer = index === 0 ? show.viewers[0] : show.viewers[show.viewers.length - 1];
    const latency = viewer?.latencySeconds;
    return viewer ? `${viewer.rendition}: ${fmt(latency?.p50)} / ${fmt(latency?.p95)} / ${fmt(latency?.max)}` : '—';
  };
  const rows: string[][] = [
    ['', ...shows.map((show) => show.source.name), 'target'],
    ['ladder', ...shows.map((show) => show.ladder.map((r) => r.name).join(',') || '—'), ''],
    [
      'first playable master (s)',
      ...shows.map((show) => `${fmt(show.firstPlayableSeconds)}  ${verdict(verdicts(show, targets).firstPlayable)}`),
      `<= ${targets.firstPlayableSeconds} (2 segments + 1 s)`,
    ],
    [
      'transcoder cores mean / max 1 s',
      ...shows.map((show) => {
        const cpu = show.transcoderCpu;
        const pids = cpu && cpu.pids > 1 ? ` (${cpu.pids} pids)` : '';
        return `${fmt(cpu?.cores)} / ${fmt(cpu?.maxCores)}${pids}  ${verdict(verdicts(show, targets).cores)}`;
      }),
      `< ${targets.ladder720Cores} (720p, 3 rungs)`,
    ],
    ['encoder cores (not livecue)', ...shows.map((show) => fmt(show.encoderCpu?.cores)), ''],
    ['node process cores (livecue + bench)', ...shows.map((show) => fmt(show.nodeCpu?.cores)), ''],
    ['machine busy cores, all processes', ...shows.map((show) => `${fmt(show.machineCpu?.cores)} of ${os.cpus().length}`), ''],
    ['node event loop delay p99 (ms)', ...shows.map((show) => fmt(show.eventLoopDelayP99Ms, 0)), ''],
    [
      'ffmpeg speed min / last',
      ...shows.map((show) => `${fmt(show.transcoderSpeed.gaugeMin, 3)} / ${fmt(show.transcoderSpeed.gaugeLast, 3)}`),
      `>= ${KEEPS_UP_SPEED.toFixed(1)} throughout`,
    ],
    ['latency top p50 / p95 / max (s)', ...shows.map((show) => viewerCell(show, 0)), ''],
    ['latency low p50 / p95 / max (s)', ...shows.map((show) => viewerCell(show, 1)), ''],
    [
      'latency verdict (worst p95)',
      ...shows.map((show) => `${fmt(worstLatencyP95(show))}  ${verdict(verdicts(show, targets).latency)}`),
      `< ${targets.latencySeconds} (3 segments + 1 s)`,
    ],
    ['segment duration (s)', ...shows.map((show) => fmt(show.viewers[0]?.segmentSeconds)), ''],
    ['segments measured / decode failures', ...shows.map((show) => show.viewers.map((v) => `${v.segmentsMeasured}/${v.decodeFailures}`).join('  ')), ''],
  ];
  printTextTable(rows, { title });
}

async function main(): Promise<void> {
  const record = new BenchRecord('hls-ladder');
  const bench = await BenchNode.start({ tunable: TUNABLE });
  const { node, config } = bench;
  const targets = targetsFor(config);
  const backends = { database: node.database.kind, redis: 'embedded redis-server', store: node.store.kind };
  record.announce(
    `x264 preset ${config.X264_PRESET}, ladder ${config.LADDER}, segments ${config.SEGMENT_SECONDS} s; ` +
      `${BENCH_SECONDS} s per source; ${Object.values(backends).join(', ')}`,
  );

  const sequential: ShowResult[] = [];
  let concurrent: { shows: ShowResult[]; totalTranscoderCores?: number; totalEncoderCores?: number; allKeptUp: boolean; fits: boolean } | undefined;
  try {
    for (const source of SOURCES) {
      console.log(`pushing ${source.name} for ${BENCH_SECONDS} s ...`);
      sequential.push(await runShow(node, source, BENCH_SECONDS));
    }
    if (CONCURRENT) {
      console.log(`pushing ${SOURCES.map((s) => s.name).join(' + ')} together for ${BENCH_SECONDS} s ...`);
      const shows = await Promise.all(SOURCES.map((source) => runShow(node, source, BENCH_SECONDS)));
      const sum = (values: (number | undefined)[]) => (values.every((v) => v !== undefined) ? values.reduce((a: number, b) => a + b, 0) : undefined);
      const totalTranscoderCores = sum(shows.map((show) => show.transcoderCpu?.cores));
      const allKeptUp = shows.every((show) => show.transcoderSpeed.keptUp);
      concurrent = {
        shows,
        totalTranscoderCores,
        totalEncoderCores: sum(shows.map((show) => show.encoderCpu?.cores)),
        allKeptUp,
        fits: allKeptUp && totalTranscoderCores !== undefined && totalTranscoderCores <= 2,
      };
    }
  } finally {
    await bench.close();
  }

  printTable('one source at a time', sequential, targets);
  if (concurrent) {
    printTable('both sources at once', concurrent.shows, targets);
    console.log(
      `two shows on 2 cores: transcoders ${fmt(concurrent.totalTranscoderCores)} cores together (encoders ${fmt(concurrent.totalEncoderCores)} more, ` +
        `machine ${fmt(concurrent.shows[0]?.machineCpu?.cores)} of ${os.cpus().length} busy), ` +
        `speed ${concurrent.allKeptUp ? 'kept' : 'did NOT keep'} >= ${KEEPS_UP_SPEED}  ${verdict(concurrent.fits)}`,
    );
  }

  record.write({
    config: {
      benchSeconds: BENCH_SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      playlistPollMs: PLAYLIST_POLL_MS,
      concurrent: CONCURRENT,
      encoder: `libx264 ultrafast zerolatency, 1 s gop, each source's frame rate, testsrc2 + time stamp band, aac 128k`,
      segmentSeconds: config.SEGMENT_SECONDS,
      liveWindowSegments: config.LIVE_WINDOW_SEGMENTS,
      ladder: config.LADDER,
      x264Preset: config.X264_PRESET,
      passthrough: config.PASSTHROUGH,
      ...backends,
    },
    targets: { ...targets, keepsUpSpeed: KEEPS_UP_SPEED, latencyStatistic: 'p95 of the worst watched rendition' },
    sequential: sequential.map((show) => ({ ...show, verdicts: verdicts(show, targets) })),
    ...(concurrent && { concurrent: { ...concurrent, shows: concurrent.shows.map((show) => ({ ...show, verdicts: verdicts(show, targets) })) } }),
  });
}

await main();

// Memory footprint: the RSS of livecue and every process it owns (redis-server, mediasoup workers,
// FFmpeg), idle and during one show, for the compiled server as ./scripts/start.sh and the image
// run it (`node dist/main.js`, one Node process). Shapes: the embedded defaults on a fresh data dir,
// the same after a restart, and PostgreSQL and Redis outside (the machine's, when reachable).
//
//   npm run build && npx tsx bench/footprint.ts          # BENCH_IDLE_SECONDS (15), BENCH_SHOW_SECONDS (20)
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { newAdminToken, randomBase62 } from '../src/streams/stream-keys.ts';
import { BenchRecord } from './lib/bench-record.ts';
import { createStream } from './lib/livecue-api.ts';
import { createFreshDatabase } from '../tests/helpers/fresh-database.ts';
import { pushTestPattern } from './lib/test-pattern-push.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 15);
const SHOW_SECONDS = Number(process.env.BENCH_SHOW_SECONDS ?? 20);
const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ProcessRss {
  command: string;
  rssMb: number;
}

/** livecue and its descendants, from /proc (VmRSS: shared pages count in each process). */
function processTree(root: number): ProcessRss[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone.
    }
  }
  const pids = [root];
  for (let i = 0; i < pids.length; i++) for (const [pid, parent] of parentOf) if (parent === pids[i]) pids.push(pid);
  return pids.flatMap((pid) => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return [{ command: /Name:\s+(\S+)/.exec(status)?.[1] ?? '?', rssMb: Math.round(rss / 102.4) / 10 }];
    } catch {
      return [];
    }
  });
}

const summarise = (tree: ProcessRss[]) => {
  const byCommand: Record<string, { count: number; rssMb: number }> = {};
  for (const { command, rssMb } of tree) {
    byCommand[command] ??= { count: 0, rssMb: 0 };
    byCommand[command].count++;
    byCommand[command].rssMb = Math.round((byCommand[command].rssMb + rssMb) * 10) / 10;
  }
  return { totalMb: Math.round(tree.reduce((sum, p) => sum + p.rssMb, 0)), byCommand };
};

async function startNode(env: Record<string, string>): Promise<{ child: ChildProcess; baseUrl: string; rtmpPort: number }> {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...(process.env.MEDIASOUP_WORKER_BIN ? { MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN } : {}),
      PORT: '0',
      RTMP_PORT: '0',
      HOST: '127.0.0.1',
      RTMP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  return new Promise((resolve, reject) => {
    let rtmpPort = 0;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const rtmp = /RTMP ingest:\s+rtmp:\/\/[^:]+:(\d+)/.exec(line);
      if (rtmp) rtmpPort = Number(rtmp[1]);
      const listening = /Listening:\s+(\S+):(\d+)/.exec(line);
      if (listening) resolve({ child, baseUrl: `http://127.0.0.1:${listening[2]}`, rtmpPort });
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.once('exit', (code) => reject(new Error(`livecue exited (${code}) before it was ready: ${stderr}`)));
  });
}

async function stopNode(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  return exited;
}

async function measure(label: string, env: Record<string, string>, show: boolean) {
  const adminToken = newAdminToken();
  const { child, baseUrl, rtmpPort } = await startNode({ ...env, LIVECUE_ADMIN_TOKEN: adminToken });
  await sleep(IDLE_SECONDS * 1000);
  const idle = summarise(processTree(child.pid!));
  let during: ReturnType<typeof summarise> | undefined;
  if (show) {
    const stream = await createStream({ baseUrl, adminToken }, 'footprint');
    const source = pushTestPattern(`rtmp://127.0.0.1:${rtmpPort}/live/${stream.ingest.streamKey}`, { size: '1280x720' });
    await sleep(SHOW_SECONDS * 1000);
    during = summarise(processTree(child.pid!));
    await source.stop();
  }
  const exitCode = await stopNode(child);
  console.log(`${label}: idle ${idle.totalMb} MB${during ? `, during a 720p show ${during.totalMb} MB` : ''} (exit ${exitCode})`);
  return { label, idle, during, exitCode };
}

const record = new BenchRecord('footprint');
const scratch = await mkdtemp(path.join(tmpdir(), 'livecue-footprint-'));
const results = [];
try {
  const embeddedDir = path.join(scratch, 'embedded');
  results.push(await measure('embedded defaults, fresh data dir', { LIVECUE_DATA_DIR: embeddedDir }, true));
  results.push(await measure('embedded defaults, restart', { LIVECUE_DATA_DIR: embeddedDir }, false));
  try {
    const database = await createFreshDatabase(POSTGRES_URL, 'livecue_bench');
    try {
      results.push(
        await measure(
          'PostgreSQL and Redis outside',
          { LIVECUE_DATA_DIR: path.join(scratch, 'external'), DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: `footprint-${randomBase62(6)}` },
          true,
        ),
      );
    } finally {
      await database.drop();
    }
  } catch (error) {
    console.log(`PostgreSQL and Redis outside: skipped (${(error as Error).message})`);
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}
record.write({ config: { idleSeconds: IDLE_SECONDS, showSeconds: SHOW_SECONDS }, results });

// Runs livecue as its own OS process (`src/main.ts` under tsx, in-process: one Node process), as a
// deployment runs several nodes: resolves once it prints the address it listens on, keeps its log
// lines, and stops it with SIGTERM (SIGKILL after a timeout).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomBase62 } from '../../src/streams/stream-keys.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The line livecue (and a worker) prints once it serves HTTP: `Listening:   <host>:<port>`. */
const READY = /Listening:\s+(\S+):(\d+)\s*$/;

export interface LivecueProcess {
  pid: number;
  baseUrl: string;
  logLines: string[];
  /** Resolves with the exit code or signal when the process ends, whoever ended it. */
  exited: Promise<number | string | null>;
  stop(): Promise<void>;
}

export interface LivecueProcessOptions {
  timeoutMs?: number;
  /**
   * Exactly this environment (plus PATH and HOME), without the test defaults (ports 0, loopback
   * hosts, a data dir, a node id) or the test process's own variables: what a manifest gives a pod.
   */
  exactEnv?: boolean;
  /** Lead a process group of its own, as a terminal's foreground job does (for signals to the group). */
  processGroup?: boolean;
  /** A data dir to use (and keep) instead of a fresh one removed at stop. */
  dataDir?: string;
  /** The command to run from the repository root, e.g. the image's CMD (`node dist/main.js`); default: src/main.ts under tsx. */
  command?: string[];
}

/** `env` is livecue's configuration (DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX, …); ports default to any free one. */
export async function startLivecueProcess(env: Record<string, string | number>, options: LivecueProcessOptions = {}): Promise<LivecueProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'livecue-proc-')));
  const nodeId = String(env.NODE_ID ?? `proc-${randomBase62(6)}`);
  const given = Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value)]));
  const [program, ...args] = options.command ?? ['node', '--import', 'tsx', path.join(ROOT, 'src/main.ts')];
  const child: ChildProcess = spawn(program === 'node' ? process.execPath : program!, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.processGroup ?? false,
    env: options.exactEnv
      ? { PATH: process.env.PATH, HOME: process.env.HOME, ...given }
      : {
          ...process.env,
          PORT: '0',
          RTMP_PORT: '0',
          HOST: '127.0.0.1',
          RTMP_HOST: '127.0.0.1',
          LIVECUE_DATA_DIR: dataDir,
          NODE_ID: nodeId,
          LOG_LEVEL: 'warn',
          // Tests' webhook receivers and restream targets listen on loopback.
          ALLOW_PRIVATE_DESTINATIONS: 'true',
          ...given,
        },
  });
  // Should the test process end without stopping it (a crash, a timeout), the node goes with it.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  const logLines: string[] = [];
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => {
      process.off('exit', reap);
      resolve(code ?? signal);
    }),
  );
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`livecue process ${nodeId} did not start in time:\n${logLines.slice(-20).join('\n')}`)),
      options.timeoutMs ?? 60_000,
    );
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        logLines.push(line);
        if (process.env.LIVECUE_TEST_LOGS) process.stderr.write(`[${nodeId} pid:${child.pid}] ${line}\n`);
        const match = READY.exec(line);
        if (match) {
          clearTimeout(timer);
          const host = match[1] === '0.0.0.0' || match[1] === '::' ? '127.0.0.1' : match[1]!;
          resolve(`http://${host.includes(':') ? `[${host}]` : host}:${match[2]}`);
        }
      });
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`livecue process ${nodeId} exited (${code}) before it was ready:\n${logLines.slice(-20).join('\n')}`));
    });
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(kill);
      }
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    })());
  try {
    const baseUrl = await ready;
    return { pid: child.pid!, baseUrl, logLines, exited, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

// Child processes livecue owns (redis-server, FFmpeg, the mediasoup workers) run in a session and
// process group of their own: a terminal's Ctrl-C (SIGINT to the whole foreground group) reaches
// livecue alone, which then stops them itself, after what uses them is closed.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A wrapper that execs its target (LIVECUE_OWN_SESSION_TARGET) under setsid, keeping the pid: for
 * children whose spawn livecue does not control (mediasoup spawns its workers itself).
 */
export const OWN_SESSION_WRAPPER = fileURLToPath(new URL('../scripts/own-session', import.meta.url));
export const OWN_SESSION_TARGET_ENV = 'LIVECUE_OWN_SESSION_TARGET';

const running = new Set<ChildProcess>();
let reaperInstalled = false;

/**
 * Out of the terminal's group, a child would outlive a livecue that exits without stopping it (an
 * uncaught error, process.exit): whatever is still running when the process exits is killed.
 */
function track(child: ChildProcess): ChildProcess {
  if (!reaperInstalled) {
    reaperInstalled = true;
    process.once('exit', () => {
      for (const owned of running) if (owned.exitCode === null && owned.signalCode === null) owned.kill('SIGKILL');
    });
  }
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.once('error', () => running.delete(child));
  return child;
}

/** `spawn` in a session of its own (setsid), so only livecue signals it. */
export function spawnOwned(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return track(spawn(command, args, { ...options, detached: true }));
}

/** A short job that outlived its `timeout`: its whole process group was killed. */
export class OwnedProcessTimeout extends Error {
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(`${path.basename(command)} did not finish within ${timeoutMs / 1000} s; its process group was killed`, options);
  }
}

export interface OwnedJobOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kills the job's whole process group (SIGKILL), not only its first process, and rejects with OwnedProcessTimeout. */
  timeout?: number;
  /** Output (stdout or stderr) beyond this many bytes kills the job, as execFile's maxBuffer does. */
  maxBuffer?: number;
}

/**
 * `execFile`, promisified, in a session of its own: a short job (a thumbnail, a probe) is not cut by Ctrl-C either.
 * (execFile itself drops `detached`, so its children stayed in livecue's process group.)
 */
export function execFileOwned(command: string, args: readonly string[], options: OwnedJobOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const maxBuffer = options.maxBuffer ?? 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawnOwned(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = { stdout: '', stderr: '' };
    let failure: Error | undefined;
    const fail = (error: Error) => {
      failure ??= error;
      killGroup(child);
    };
    for (const name of ['stdout', 'stderr'] as const) {
      child[name]!.on('data', (chunk: Buffer) => {
        output[name] += chunk.toString();
        if (output[name].length > maxBuffer) fail(new Error(`${path.basename(command)} wrote more than ${maxBuffer} bytes to ${name}`));
      });
    }
    const timer = options.timeout ? setTimeout(() => fail(new OwnedProcessTimeout(command, options.timeout!)), options.timeout) : undefined;
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      if (code === 0) return resolve(output);
      const error = new Error(`Command failed: ${[command, ...args].join(' ')}\n${output.stderr}`);
      reject(Object.assign(error, { code, signal, ...output }));
    });
  });
}

/** The child leads its own group (setsid), so the group's id is its pid. */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** The script and environment that run `binary` in its own session when spawned by someone else. */
export function ownSessionCommand(binary: string): { command: string; env: Record<string, string> } {
  return { command: OWN_SESSION_WRAPPER, env: { [OWN_SESSION_TARGET_ENV]: path.resolve(binary) } };
}

/** Whether a process still exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

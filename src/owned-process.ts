// Child processes livecue owns (redis-server, FFmpeg, the mediasoup workers) run in a session and
// process group of their own: a terminal's Ctrl-C (SIGINT to the whole foreground group) reaches
// livecue alone, which then stops them itself, after what uses them is closed.
import { execFile, spawn, type ChildProcess, type ExecFileOptions, type SpawnOptions } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

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

/** `execFile` (promisified) in a session of its own: a short job (a thumbnail, a probe) is not cut by Ctrl-C either. */
export function execFileOwned(command: string, args: readonly string[], options: ExecFileOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const result = execFileAsync(command, args, { ...options, encoding: 'utf8', detached: true } as ExecFileOptions & { encoding: 'utf8' }) as Promise<{
    stdout: string;
    stderr: string;
  }> & { child: ChildProcess };
  track(result.child);
  return result;
}

/** The script and environment that run `binary` in its own session when spawned by someone else. */
export function ownSessionCommand(binary: string): { command: string; env: Record<string, string> } {
  return { command: OWN_SESSION_WRAPPER, env: { [OWN_SESSION_TARGET_ENV]: path.resolve(binary) } };
}

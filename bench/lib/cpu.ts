// CPU time of a process from /proc/<pid>/stat, and a meter turning it into cores used over a wall-clock window.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

export function clockTicks(): number {
  ticksPerSecond ??= Number.parseInt(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim(), 10);
  return ticksPerSecond;
}

/** utime + stime of every thread of the process, in seconds; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 (utime) and 15 (stime), i.e. indexes 11 and 12 after field 2.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

export interface CpuSummary {
  /** CPU seconds / wall seconds over the window. */
  cores: number;
  /** Busiest ~1 s interval between two samples. */
  maxCores: number;
  windowSeconds: number;
  cpuSeconds: number;
  /** Distinct pids seen (more than one: the process was restarted during the window). */
  pids: number;
}

/**
 * Sampled periodically; follows the pid it is given, so a restarted process (new pid) keeps being
 * counted. CPU spent by an old pid after its last sample is lost, which is negligible at 1 s samples.
 */
export class CpuMeter {
  #start?: number;
  #last?: { at: number; pid: number; cpu: number };
  #cpu = 0;
  #maxCores = 0;
  #pids = new Set<number>();

  constructor(private readonly pidOf: () => number | undefined) {}

  sample(now = performance.now()): void {
    const pid = this.pidOf();
    const cpu = pid === undefined ? undefined : cpuSeconds(pid);
    if (pid === undefined || cpu === undefined) return;
    this.#pids.add(pid);
    const last = this.#last;
    this.#start ??= now;
    if (last && last.pid === pid) {
      this.#cpu += cpu - last.cpu;
      const seconds = (now - last.at) / 1000;
      if (seconds > 0.5) this.#maxCores = Math.max(this.#maxCores, (cpu - last.cpu) / seconds);
    }
    this.#last = { at: now, pid, cpu };
  }

  summary(): CpuSummary | undefined {
    if (this.#start === undefined || !this.#last) return undefined;
    const windowSeconds = (this.#last.at - this.#start) / 1000;
    if (windowSeconds <= 0) return undefined;
    return { cores: this.#cpu / windowSeconds, maxCores: this.#maxCores, windowSeconds, cpuSeconds: this.#cpu, pids: this.#pids.size };
  }
}

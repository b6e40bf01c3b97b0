// CPU time of a process (/proc/<pid>/stat) or of the whole machine (/proc/stat), and a meter turning it into cores used over a window.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

export function clockTicks(): number {
  ticksPerSecond ??= Number.parseInt(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim(), 10);
  return ticksPerSecond;
}

/** A cumulative CPU time and what it belongs to: a new key (e.g. a restarted process's pid) starts a new count. */
export interface CpuReading {
  key: number | string;
  seconds: number;
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

export function processCpu(pid: number | undefined): CpuReading | undefined {
  const seconds = pid === undefined ? undefined : cpuSeconds(pid);
  return pid === undefined || seconds === undefined ? undefined : { key: pid, seconds };
}

/** Busy (not idle or iowait) CPU seconds of all cores together, from the first line of /proc/stat. */
export function machineCpu(): CpuReading {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal (guest time is already counted in user).
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  const busy = [user, nice, system, irq, softirq, steal].reduce((sum: number, value) => sum + (value ?? 0), 0);
  return { key: 'machine', seconds: busy / clockTicks() };
}

export interface CpuSummary {
  /** CPU seconds / wall seconds over the window. */
  cores: number;
  /** Busiest ~1 s interval between two samples. */
  maxCores: number;
  windowSeconds: number;
  cpuSeconds: number;
  /** Distinct keys seen (pids: more than one means the process was restarted during the window). */
  pids: number;
}

/**
 * Sampled periodically; follows the key of its readings, so a restarted process (new pid) keeps being
 * counted. CPU spent by an old pid after its last sample is lost, which is negligible at 1 s samples.
 */
export class CpuMeter {
  #start?: number;
  #last?: { at: number; reading: CpuReading };
  #cpu = 0;
  #maxCores = 0;
  #keys = new Set<number | string>();

  constructor(private readonly read: () => CpuReading | undefined) {}

  sample(now = performance.now()): void {
    const reading = this.read();
    if (!reading) return;
    this.#keys.add(reading.key);
    const last = this.#last;
    this.#start ??= now;
    if (last && last.reading.key === reading.key) {
      const used = reading.seconds - last.reading.seconds;
      this.#cpu += used;
      const seconds = (now - last.at) / 1000;
      if (seconds > 0.5) this.#maxCores = Math.max(this.#maxCores, used / seconds);
    }
    this.#last = { at: now, reading };
  }

  summary(): CpuSummary | undefined {
    if (this.#start === undefined || !this.#last) return undefined;
    const windowSeconds = (this.#last.at - this.#start) / 1000;
    if (windowSeconds <= 0) return undefined;
    return { cores: this.#cpu / windowSeconds, maxCores: this.#maxCores, windowSeconds, cpuSeconds: this.#cpu, pids: this.#keys.size };
  }
}

// A bench run's record: when it ran, on which machine and under what load (results are noisy otherwise), written
// with the bench's own numbers to bench/results/<bench>-<UTC start time>.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { roundDeep } from './stats.ts';

const RESULTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');

function ffmpegVersion(): string {
  try {
    return execFileSync('ffmpeg', ['-version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
  } catch {
    return 'unknown';
  }
}

/** The machine a result was measured on, with the load before and after. */
function machineInfo(loadavgStart: number[], loadavgEnd = os.loadavg(), extra: Record<string, unknown> = {}) {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model,
    loadavgStart,
    loadavgEnd,
    ...extra,
    totalMemoryMb: Math.round(os.totalmem() / 2 ** 20),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
    ffmpeg: ffmpegVersion(),
  };
}

export class BenchRecord {
  readonly startedAt = new Date();
  readonly loadavgStart = os.loadavg();

  constructor(readonly benchmark: string) {}

  /** Prints the run's first line: the bench, the machine, the load at its start, then `details`. */
  announce(details: string): void {
    const cpus = os.cpus();
    console.log(
      `livecue ${this.benchmark} bench: ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, load ${this.loadavgStart.map((l) => l.toFixed(2)).join(' ')}; ${details}`,
    );
  }

  /** Writes benchmark, start, finish and machine (plus `machineExtra`), then `body`, numbers to 3 decimals; returns the file. */
  write(body: Record<string, unknown>, machineExtra: Record<string, unknown> = {}): string {
    const record = {
      benchmark: this.benchmark,
      startedAt: this.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: machineInfo(this.loadavgStart, os.loadavg(), machineExtra),
      ...body,
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = path.join(
      RESULTS_DIR,
      `${this.benchmark}-${this.startedAt
        .toISOString()
        .replace(/\.\d+Z$/, 'Z')
        .replace(/:/g, '-')}.json`,
    );
    writeFileSync(file, `${JSON.stringify(roundDeep(record), null, 2)}\n`);
    console.log(`\nresult: ${path.relative(process.cwd(), file)}`);
    return file;
  }
}

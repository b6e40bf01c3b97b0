// Direct children of a process by command name (/proc/<pid>/stat), and a CPU reading over all of them: e.g. the
// redis-server or FFmpeg transcoders an in-process livecue spawned.
import { readdirSync, readFileSync } from 'node:fs';
import { cpuSeconds, type CpuReading } from './cpu.ts';

export interface ChildInfo {
  pid: number;
  comm: string;
}

export function childrenOf(parent: number): ChildInfo[] {
  const found: ChildInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    // Fields after the command: state (3), ppid (4).
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    if (ppid === parent) found.push({ pid: Number(entry), comm });
  }
  return found;
}

/**
 * Summed CPU seconds of the parent's children whose command matches, minus the excluded pids. The key is the set of
 * pids, so a meter restarts its count when one comes or goes (an FFmpeg restart), like a restarted process.
 */
export function childrenCpu(parent: number, comm: RegExp, exclude: () => number[] = () => []): () => CpuReading | undefined {
  return () => {
    const skip = new Set(exclude());
    const matching = childrenOf(parent).filter((c) => comm.test(c.comm) && !skip.has(c.pid));
    if (matching.length === 0) return undefined;
    let seconds = 0;
    for (const child of matching) seconds += cpuSeconds(child.pid) ?? 0;
    return {
      key: matching
        .map((c) => c.pid)
        .sort((a, b) => a - b)
        .join(','),
      seconds,
    };
  };
}

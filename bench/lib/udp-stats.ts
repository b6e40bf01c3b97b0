// The kernel's UDP counters (/proc/net/snmp): datagrams dropped because a socket's receive or send buffer was full.
import { readFileSync } from 'node:fs';

export interface UdpCounters {
  inDatagrams: number;
  outDatagrams: number;
  /** Dropped on arrival: the receiving socket's buffer was full (its reader fell behind). */
  rcvbufErrors: number;
  sndbufErrors: number;
  inErrors: number;
}

export function udpCounters(): UdpCounters | undefined {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('Udp:'));
    const [names, values] = lines.map((line) => line.split(/\s+/).slice(1));
    const get = (name: string) => Number(values![names!.indexOf(name)]);
    return {
      inDatagrams: get('InDatagrams'),
      outDatagrams: get('OutDatagrams'),
      rcvbufErrors: get('RcvbufErrors'),
      sndbufErrors: get('SndbufErrors'),
      inErrors: get('InErrors'),
    };
  } catch {
    return undefined;
  }
}

export function udpDelta(before: UdpCounters | undefined, after: UdpCounters | undefined): UdpCounters | undefined {
  if (!before || !after) return undefined;
  return {
    inDatagrams: after.inDatagrams - before.inDatagrams,
    outDatagrams: after.outDatagrams - before.outDatagrams,
    rcvbufErrors: after.rcvbufErrors - before.rcvbufErrors,
    sndbufErrors: after.sndbufErrors - before.sndbufErrors,
    inErrors: after.inErrors - before.inErrors,
  };
}

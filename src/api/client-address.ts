// The client's address, for rate limits and per-address caps: the TCP peer, or behind trusted proxies
// (TRUST_PROXY) the address they put in X-Forwarded-For. Untrusted peers cannot choose their address.
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { ProxyTrust } from '../config/trust-proxy.ts';

function normalized(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

function trusts(trust: ProxyTrust & { kind: 'ranges' }, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && trust.ranges.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export function clientAddress(req: IncomingMessage, trust: ProxyTrust): string {
  const peer = normalized(req.socket.remoteAddress ?? 'unknown');
  if (trust.kind === 'none') return peer;
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((part) => normalized(part.trim()))
    .filter((part) => isIP(part) !== 0);
  // Nearest first: the peer, then what each proxy appended, right to left.
  const chain = [peer, ...forwarded.reverse()];
  if (trust.kind === 'hops') return chain[Math.min(trust.hops, chain.length - 1)]!;
  let index = 0;
  while (index < chain.length - 1 && trusts(trust, chain[index]!)) index++;
  return chain[index]!;
}

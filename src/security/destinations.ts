// Where livecue may send data on a client's behalf (webhook receivers, restream targets): public
// addresses only, unless ALLOW_PRIVATE_DESTINATIONS. Otherwise anyone with a write token could make
// the server call its own Redis, the cloud's metadata service or a private network's ports.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Ranges that are not the public internet (IANA special-purpose registries, IPv4 and IPv6). */
const RESERVED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  RESERVED.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  RESERVED.addSubnet(network, prefix, 'ipv6');

/** True for an address on the public internet; IPv4-mapped IPv6 addresses are judged as the IPv4 they carry. */
export function isPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPublicAddress(mapped[1]!);
  const family = isIP(address);
  if (family === 0) return false;
  return !RESERVED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class DestinationPolicy {
  constructor(readonly allowPrivate: boolean) {}

  /** Why a URL's host may not be called (a private literal address or a local name), or undefined. */
  hostProblem(hostname: string): string | undefined {
    if (this.allowPrivate) return undefined;
    const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (isIP(host)) return isPublicAddress(host) ? undefined : 'points at a private, loopback or reserved address';
    if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal') || !host.includes('.')) {
      return 'names a local host; use a public host name';
    }
    return undefined;
  }

  /**
   * A `lookup` for sockets (http.request, net.connect) that refuses names resolving to non-public addresses,
   * checked at connect time so a name that changes its address after it was accepted is caught too.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const allowed = this.allowPrivate ? addresses : addresses.filter((entry) => isPublicAddress(entry.address));
      if (allowed.length === 0) {
        const refused = Object.assign(new Error('the destination resolves to a private, loopback or reserved address'), { code: 'EDESTINATION' });
        return callback(refused, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };

  /** Resolves a host to one address this policy allows, or throws (for clients that connect by themselves, e.g. FFmpeg). */
  resolve(hostname: string): Promise<string> {
    const problem = this.hostProblem(hostname);
    if (problem) return Promise.reject(new Error(`the destination ${problem}`));
    const host = hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) return Promise.resolve(host);
    return new Promise((resolve, reject) => this.lookup(host, {}, (error, address) => (error ? reject(error) : resolve(address as string))));
  }
}

// TRUST_PROXY: which peers' X-Forwarded-For livecue believes. A hop count, or addresses/CIDRs.
import { BlockList, isIP } from 'node:net';

/** An address or CIDR as [network, prefix, family], or undefined when it is neither. */
export function trustedRange(text: string): [string, number, 'ipv4' | 'ipv6'] | undefined {
  const [address = '', prefixText] = text.split('/');
  const family = isIP(address);
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return [address, prefix, family === 4 ? 'ipv4' : 'ipv6'];
}

export type ProxyTrust = { kind: 'none' } | { kind: 'hops'; hops: number } | { kind: 'ranges'; ranges: BlockList };

export function parseTrustProxy(value: string): ProxyTrust {
  if (value === '' || value === 'false' || value === '0') return { kind: 'none' };
  if (/^\d+$/.test(value)) return { kind: 'hops', hops: Number(value) };
  const ranges = new BlockList();
  for (const part of value.split(',')) {
    const range = trustedRange(part.trim());
    if (range) ranges.addSubnet(...range);
  }
  return { kind: 'ranges', ranges };
}

import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseTrustProxy } from '../config/trust-proxy.ts';
import { clientAddress } from './client-address.ts';

const request = (peer: string, forwardedFor?: string) =>
  ({ socket: { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } }) as unknown as IncomingMessage;

describe('client address', () => {
  it('is the TCP peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress(request('203.0.113.9', '1.2.3.4'), parseTrustProxy(''))).toBe('203.0.113.9');
    expect(clientAddress(request('::ffff:203.0.113.9'), parseTrustProxy('false'))).toBe('203.0.113.9');
  });

  it('behind N trusted hops is the address the outermost trusted proxy saw', () => {
    // The client may send its own X-Forwarded-For: only what the trusted proxy appended counts.
    expect(clientAddress(request('10.0.0.2', 'spoofed, 198.51.100.7'), parseTrustProxy('1'))).toBe('198.51.100.7');
    expect(clientAddress(request('10.0.0.2', '198.51.100.7, 10.0.0.9'), parseTrustProxy('2'))).toBe('198.51.100.7');
    expect(clientAddress(request('10.0.0.2'), parseTrustProxy('1'))).toBe('10.0.0.2');
  });

  it('behind trusted ranges is the first address from the right that is not a trusted proxy', () => {
    const trust = parseTrustProxy('10.0.0.0/8, 192.168.0.1');
    expect(clientAddress(request('10.0.0.2', '198.51.100.7, 192.168.0.1'), trust)).toBe('198.51.100.7');
    // A peer outside the trusted ranges is the client even when it sends the header.
    expect(clientAddress(request('203.0.113.9', '198.51.100.7'), trust)).toBe('203.0.113.9');
  });
});

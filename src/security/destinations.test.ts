import { describe, expect, it } from 'vitest';
import { DestinationPolicy, isPublicAddress } from './destinations.ts';

describe('destination policy', () => {
  it('tells public addresses from loopback, link-local, private and reserved ones', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(isPublicAddress(address), address).toBe(true);
    for (const address of [
      '127.0.0.1',
      '127.8.8.8',
      '169.254.169.254',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
      'not-an-ip',
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
  });

  it('refuses private literals and local names unless private destinations are allowed', () => {
    const strict = new DestinationPolicy(false);
    for (const host of ['127.0.0.1', '169.254.169.254', '[::1]', '10.0.0.5', 'localhost', 'redis', 'metadata.google.internal', 'printer.local'])
      expect(strict.hostProblem(host), host).toBeTruthy();
    for (const host of ['hooks.example.com', '8.8.8.8', '[2606:4700:4700::1111]']) expect(strict.hostProblem(host), host).toBeUndefined();
    expect(new DestinationPolicy(true).hostProblem('127.0.0.1')).toBeUndefined();
  });

  it('refuses at connect time a name that resolves to a private address', async () => {
    const strict = new DestinationPolicy(false);
    // "localhost" is refused by name already; the lookup itself refuses what it resolves to.
    const lookedUp = await new Promise<NodeJS.ErrnoException | null>((resolve) => strict.lookup('localhost', {}, (error) => resolve(error)));
    expect(lookedUp?.code).toBe('EDESTINATION');
    await expect(strict.resolve('127.0.0.1')).rejects.toThrow(/private, loopback or reserved/);
    const open = await new Promise<string>((resolve, reject) =>
      new DestinationPolicy(true).lookup('localhost', {}, (error, address) => (error ? reject(error) : resolve(address as string))),
    );
    expect(['127.0.0.1', '::1']).toContain(open);
  });
});

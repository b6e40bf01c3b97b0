// Child process of bench/engagement.ts: the shop's webhook receiver, outside livecue's process as a real shop is.
// Counts offer.claimed deliveries (distinct claims, repeats) and offer.sold_out per offer; answers the parent over IPC.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ShopRequest = { id: number; type: 'listen' } | { id: number; type: 'hits'; offerId: string } | { id: number; type: 'close' };

export interface ShopHits {
  claimed: number;
  soldOut: number;
  /** offer.claimed deliveries of a claim already delivered. */
  duplicates: number;
  /** Date.now() of the last delivery for the offer (0: none). */
  lastAt: number;
}

export type ShopReply = { id: number; type: 'listening'; port: number } | { id: number; type: 'hits'; hits: ShopHits } | { id: number; type: 'closed' };

const hits = new Map<string, { claimed: Set<string>; soldOut: number; duplicates: number; lastAt: number }>();

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    res.writeHead(204).end();
    try {
      const { data } = JSON.parse(body) as { data: { offer?: { id?: string }; claim?: { id?: string } } };
      const offerId = data.offer?.id;
      if (!offerId) return;
      const offer = hits.get(offerId) ?? { claimed: new Set<string>(), soldOut: 0, duplicates: 0, lastAt: 0 };
      hits.set(offerId, offer);
      offer.lastAt = Date.now();
      if (req.headers['livecue-event'] === 'offer.sold_out') offer.soldOut++;
      else if (data.claim?.id && offer.claimed.has(data.claim.id)) offer.duplicates++;
      else if (data.claim?.id) offer.claimed.add(data.claim.id);
    } catch {
      // Not a delivery.
    }
  });
});

process.on('message', (request: ShopRequest) => {
  const reply = (message: ShopReply) => process.send!(message);
  switch (request.type) {
    case 'listen':
      server.listen(0, '127.0.0.1', () => reply({ id: request.id, type: 'listening', port: (server.address() as AddressInfo).port }));
      return;
    case 'hits': {
      const offer = hits.get(request.offerId);
      reply({
        id: request.id,
        type: 'hits',
        hits: { claimed: offer?.claimed.size ?? 0, soldOut: offer?.soldOut ?? 0, duplicates: offer?.duplicates ?? 0, lastAt: offer?.lastAt ?? 0 },
      });
      return;
    }
    case 'close':
      server.close();
      reply({ id: request.id, type: 'closed' });
      setTimeout(() => process.exit(0), 100);
  }
});
process.on('disconnect', () => process.exit(0));

import { describe, expect, it } from 'vitest';
import type { CueMessage } from '../contract/cue-message.ts';
import { cuesInClip, offerOfSpan, pinSpan, productOfSpan } from './clip-span.ts';

let seq = 0;
const cue = (type: CueMessage['type'], mediaTime: number, payload: Record<string, unknown> = {}): CueMessage => ({
  id: `cue_${String(++seq).padStart(16, '0')}`,
  seq,
  type,
  payload,
  mediaTime,
  wallClock: new Date(Date.UTC(2026, 0, 1) + mediaTime * 1000).toISOString(),
});

describe('clip spans', () => {
  const a = cue('product.pin', 10, { productId: 'prd_a' });
  const offer = cue('offer.start', 12, { productId: 'prd_a', discountPercent: 10 });
  const unpin = cue('product.unpin', 25, { productId: 'prd_a' });
  const b = cue('product.pin', 40, { productId: 'prd_b' });
  const cues = [a, offer, unpin, b];

  it('runs from the pin to its unpin, the next pin, the cap or the end of the show', () => {
    expect(pinSpan(a, cues, 100_000, 60_000)).toEqual({ startMs: 10_000, endMs: 25_000 });
    expect(pinSpan(a, [a, b], 100_000, 60_000)).toEqual({ startMs: 10_000, endMs: 40_000 });
    expect(pinSpan(a, [a, b], 100_000, 5_000)).toEqual({ startMs: 10_000, endMs: 15_000 });
    expect(pinSpan(b, cues, 50_000, 60_000)).toEqual({ startMs: 40_000, endMs: 50_000 });
  });

  it('names the product pinned at the start, else the first pinned inside', () => {
    expect(productOfSpan({ startMs: 11_000, endMs: 20_000 }, cues)).toBe('prd_a');
    expect(productOfSpan({ startMs: 30_000, endMs: 45_000 }, cues)).toBe('prd_b');
    expect(productOfSpan({ startMs: 0, endMs: 5_000 }, cues)).toBeNull();
  });

  it("moves the cues inside onto the clip's time", () => {
    const start = new Date('2026-02-01T00:00:00.000Z');
    const inside = cuesInClip({ startMs: 10_000, endMs: 25_000 }, cues, start);
    expect(inside.map((c) => [c.id, c.mediaTime, c.wallClock])).toEqual([
      [a.id, 0, '2026-02-01T00:00:00.000Z'],
      [offer.id, 2, '2026-02-01T00:00:02.000Z'],
    ]);
  });

  it('finds the offer of the product that ran', () => {
    expect(offerOfSpan({ startMs: 10_000, endMs: 25_000 }, cues, 'prd_a')?.id).toBe(offer.id);
    expect(offerOfSpan({ startMs: 40_000, endMs: 50_000 }, cues, 'prd_b')).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { TurnBatch } from './turn-batch.ts';

describe('TurnBatch', () => {
  it('flushes each key once per turn with everything added in it, and every add hears the outcome', async () => {
    const flushed: [string, number[]][] = [];
    const batch = new TurnBatch<number>(async (key, items) => {
      flushed.push([key, [...items]]);
      if (key === 'bad') throw new Error('refused');
    });
    const first = [batch.add('a', 1), batch.add('b', 2), batch.add('a', 3)];
    const bad = batch.add('bad', 4);
    await Promise.all(first);
    await expect(bad).rejects.toThrow('refused');
    expect(flushed).toEqual([
      ['a', [1, 3]],
      ['b', [2]],
      ['bad', [4]],
    ]);
    // The next turn starts a new batch.
    await batch.add('a', 5);
    expect(flushed.at(-1)).toEqual(['a', [5]]);
  });
});

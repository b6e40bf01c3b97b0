import { describe, expect, it } from 'vitest';
import { cueStateAt, foldCues } from './cue-fold.ts';
import type { CueMessage, CueType } from './cue-message.ts';

const T0 = Date.parse('2026-01-01T12:00:00.000Z');
const iso = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

function cue(seq: number, type: CueType, mediaTime: number, payload: Record<string, unknown> = {}, duration?: number): CueMessage {
  return { id: `cue_${seq}`, seq, type, payload, mediaTime, wallClock: iso(mediaTime), ...(duration !== undefined && { duration }) };
}

/** The server's moment: cues up to a media time, deadlines on the wall clock (here the two run together). */
const at = (seconds: number) => ({ mediaTime: seconds, wallClock: T0 + seconds * 1000 });

describe('foldCues', () => {
  const show = [
    cue(1, 'product.pin', 10, { productId: 'prd_a' }),
    cue(2, 'offer.start', 15, { productId: 'prd_a', discountPercent: 20 }, 60),
    cue(3, 'poll.open', 20, { pollId: 'q1', question: 'Rouge ?' }),
    cue(4, 'offer.end', 25, { productId: 'prd_other' }),
    cue(5, 'poll.close', 30, { pollId: 'other' }),
    cue(6, 'product.unpin', 35, { productId: 'prd_other' }),
    cue(7, 'announcement', 40, { text: 'one' }),
    cue(8, 'announcement', 41, { text: 'two' }),
  ];

  it('keeps what a close cue naming something else does not close', () => {
    const folded = foldCues(show, { cueOf: (c) => c, reached: (c) => c.mediaTime <= 50, secondsSince: (c) => 50 - c.mediaTime });
    expect(folded.pinned?.cue.id).toBe('cue_1');
    expect(folded.offer).toEqual({ cue: show[1], remainingSeconds: 25 });
    expect(folded.poll?.cue.id).toBe('cue_3');
    expect(folded.announcements.map((a) => a.id)).toEqual(['cue_7', 'cue_8']);
  });

  it('closes on a cue that names the open item or nothing, and when a duration runs out', () => {
    const closing = [...show, cue(9, 'product.unpin', 45, {}), cue(10, 'poll.close', 46, { pollId: 'q1' })];
    const folded = foldCues(closing, { cueOf: (c) => c, reached: () => true, secondsSince: (c) => 80 - c.mediaTime });
    expect(folded).toEqual({ announcements: [show[6], show[7]] });
  });

  it('ignores cues the moment has not reached', () => {
    expect(foldCues(show, { cueOf: (c) => c, reached: (c) => c.mediaTime <= 12, secondsSince: () => 0 })).toEqual({
      pinned: { cue: show[0] },
      announcements: [],
    });
  });
});

describe('cueStateAt (the late joiner state the API answers)', () => {
  it('writes the open items with their deadlines and the last announcement, whatever order the cues come in', () => {
    const cues = [
      cue(3, 'announcement', 30, { text: 'last' }),
      cue(2, 'offer.start', 15, { productId: 'prd_a', code: 'X' }, 60),
      cue(1, 'product.pin', 10, { productId: 'prd_a' }),
    ];
    expect(cueStateAt(cues, at(40))).toEqual({
      asOf: { mediaTime: 40, wallClock: iso(40) },
      pinnedProduct: { productId: 'prd_a', cueId: 'cue_1' },
      offer: { productId: 'prd_a', code: 'X', cueId: 'cue_2', endsAt: iso(75), secondsLeft: 35 },
      poll: null,
      lastAnnouncement: { text: 'last', cueId: 'cue_3', wallClock: iso(30) },
    });
    expect(cueStateAt(cues, at(80)).offer).toBeNull();
    expect(cueStateAt(cues, at(12))).toMatchObject({ pinnedProduct: { productId: 'prd_a' }, offer: null, lastAnnouncement: null });
  });

  it('names a poll by its id, or by its cue when it has none', () => {
    const state = cueStateAt([cue(1, 'poll.open', 5, { question: 'Bleu ?' }, 30)], at(10));
    expect(state.poll).toEqual({ question: 'Bleu ?', pollId: 'cue_1', cueId: 'cue_1', endsAt: iso(35) });
    expect(cueStateAt([cue(1, 'poll.open', 5, { question: 'Bleu ?' }, 30), cue(2, 'poll.close', 8, { pollId: 'cue_1' })], at(10)).poll).toBeNull();
  });
});

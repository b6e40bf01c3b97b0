// What a late joiner needs to see: the commerce state produced by the cues up to an instant.
import type { CueMessage } from './cue-schema.ts';

export interface CueState {
  asOf: { mediaTime: number; wallClock: string };
  pinnedProduct: ({ productId: string; cueId: string } & Record<string, unknown>) | null;
  offer: ({ productId: string; cueId: string; endsAt: string | null; secondsLeft: number | null } & Record<string, unknown>) | null;
  poll: ({ pollId: string; cueId: string; endsAt: string | null } & Record<string, unknown>) | null;
  lastAnnouncement: { text: string; cueId: string; wallClock: string } | null;
}

const endOf = (cue: CueMessage): number | null => (cue.duration !== undefined ? Date.parse(cue.wallClock) + cue.duration * 1000 : null);

/** Folds cues (in sequence order) that happened at or before `at` (media time, and its wall clock). */
export function foldCueState(cues: CueMessage[], at: { mediaTime: number; wallClock: number }): CueState {
  const state: CueState = {
    asOf: { mediaTime: at.mediaTime, wallClock: new Date(at.wallClock).toISOString() },
    pinnedProduct: null,
    offer: null,
    poll: null,
    lastAnnouncement: null,
  };
  const ordered = [...cues].sort((a, b) => a.seq - b.seq).filter((cue) => cue.mediaTime <= at.mediaTime + 1e-6);
  for (const cue of ordered) {
    const payload = cue.payload;
    switch (cue.type) {
      case 'product.pin':
        state.pinnedProduct = { ...payload, productId: String(payload.productId), cueId: cue.id };
        break;
      case 'product.unpin':
        if (!payload.productId || state.pinnedProduct?.productId === payload.productId) state.pinnedProduct = null;
        break;
      case 'offer.start': {
        const end = endOf(cue);
        state.offer = { ...payload, productId: String(payload.productId), cueId: cue.id, endsAt: end === null ? null : new Date(end).toISOString(), secondsLeft: null };
        break;
      }
      case 'offer.end':
        if (!payload.productId || state.offer?.productId === payload.productId) state.offer = null;
        break;
      case 'poll.open': {
        const end = endOf(cue);
        state.poll = { ...payload, pollId: String(payload.pollId ?? cue.id), cueId: cue.id, endsAt: end === null ? null : new Date(end).toISOString() };
        break;
      }
      case 'poll.close':
        if (!payload.pollId || state.poll?.pollId === payload.pollId) state.poll = null;
        break;
      case 'announcement':
        state.lastAnnouncement = { text: String(payload.text), cueId: cue.id, wallClock: cue.wallClock };
        break;
      case 'custom':
        break;
    }
  }
  // Offers and polls with a deadline close by themselves.
  if (state.offer?.endsAt) {
    const left = (Date.parse(state.offer.endsAt) - at.wallClock) / 1000;
    state.offer = left > 0 ? { ...state.offer, secondsLeft: Math.round(left * 10) / 10 } : null;
  }
  if (state.poll?.endsAt && Date.parse(state.poll.endsAt) <= at.wallClock) state.poll = null;
  return state;
}

// The one fold of commerce cues into what is open at a moment: the pinned product, the offer, the poll and
// the announcements. The server's late-joiner state (below), the player's scheduler and, through that state,
// the console read it. Type imports only: the browser bundle takes it without the server or zod.
import type { CueMessage } from './cue-message.ts';
import type { CueState } from './cues.ts';

/** A cue still open at the moment folded to. */
export interface OpenCue {
  readonly cue: CueMessage;
  /** Seconds of the cue's duration left; absent for a cue without a duration. */
  readonly remainingSeconds?: number;
}

export interface FoldedCues {
  pinned?: OpenCue;
  offer?: OpenCue;
  poll?: OpenCue;
  /** Every announcement reached, oldest first. */
  announcements: CueMessage[];
}

/** Where the fold stands, for items that carry a cue (the player folds its schedule entries, the server bare cues). */
export interface FoldMoment<T> {
  cueOf(item: T): CueMessage;
  /** Whether the item's cue has happened by the moment. */
  reached(item: T): boolean;
  /** Seconds from the item's cue to the moment, on the timeline its duration runs on. */
  secondsSince(item: T): number;
}

/** An unpin, end or close names what it closes (by `key`), or closes whatever is open. */
function closes(open: CueMessage | undefined, close: CueMessage, key: 'productId' | 'pollId'): boolean {
  const named = close.payload[key];
  if (!named) return true;
  const openId = key === 'pollId' ? (open?.payload.pollId ?? open?.id) : open?.payload.productId;
  return open !== undefined && String(openId) === named;
}

/** Replays the items (in seq order) reached by the moment; an item whose duration has run out is closed. */
export function foldCues<T>(items: Iterable<T>, moment: FoldMoment<T>): FoldedCues {
  let pinned: T | undefined;
  let offer: T | undefined;
  let poll: T | undefined;
  const announcements: CueMessage[] = [];
  const cueOf = (item: T | undefined) => (item === undefined ? undefined : moment.cueOf(item));
  for (const item of items) {
    if (!moment.reached(item)) continue;
    const cue = moment.cueOf(item);
    switch (cue.type) {
      case 'product.pin':
        pinned = item;
        break;
      case 'product.unpin':
        if (closes(cueOf(pinned), cue, 'productId')) pinned = undefined;
        break;
      case 'offer.start':
        offer = item;
        break;
      case 'offer.end':
        if (closes(cueOf(offer), cue, 'productId')) offer = undefined;
        break;
      case 'poll.open':
        poll = item;
        break;
      case 'poll.close':
        if (closes(cueOf(poll), cue, 'pollId')) poll = undefined;
        break;
      case 'announcement':
        announcements.push(cue);
        break;
      case 'custom':
        break;
    }
  }
  const folded: FoldedCues = { announcements };
  const still = (item: T | undefined): OpenCue | undefined => {
    if (item === undefined) return undefined;
    const cue = moment.cueOf(item);
    if (cue.duration === undefined) return { cue };
    const remainingSeconds = cue.duration - moment.secondsSince(item);
    return remainingSeconds > 0 ? { cue, remainingSeconds } : undefined;
  };
  const [openPin, openOffer, openPoll] = [still(pinned), still(offer), still(poll)];
  if (openPin) folded.pinned = openPin;
  if (openOffer) folded.offer = openOffer;
  if (openPoll) folded.poll = openPoll;
  return folded;
}

const endsAt = (cue: CueMessage): string | null =>
  cue.duration !== undefined ? new Date(Date.parse(cue.wallClock) + cue.duration * 1000).toISOString() : null;

/**
 * The late joiner's state (GET …/cues/state, the viewers' socket, the console): the cues at or before
 * `at.mediaTime`, their deadlines measured on the wall clock at `at.wallClock` (ms since the epoch).
 */
export function cueStateAt(cues: readonly CueMessage[], at: { mediaTime: number; wallClock: number }): CueState {
  const ordered = [...cues].sort((a, b) => a.seq - b.seq);
  const { pinned, offer, poll, announcements } = foldCues(ordered, {
    cueOf: (cue) => cue,
    reached: (cue) => cue.mediaTime <= at.mediaTime + 1e-6,
    secondsSince: (cue) => (at.wallClock - Date.parse(cue.wallClock)) / 1000,
  });
  const announcement = announcements.at(-1);
  return {
    asOf: { mediaTime: at.mediaTime, wallClock: new Date(at.wallClock).toISOString() },
    pinnedProduct: pinned ? { ...pinned.cue.payload, productId: String(pinned.cue.payload.productId), cueId: pinned.cue.id } : null,
    offer: offer
      ? {
          ...offer.cue.payload,
          productId: String(offer.cue.payload.productId),
          cueId: offer.cue.id,
          endsAt: endsAt(offer.cue),
          secondsLeft: offer.remainingSeconds === undefined ? null : Math.round(offer.remainingSeconds * 10) / 10,
        }
      : null,
    poll: poll ? { ...poll.cue.payload, pollId: String(poll.cue.payload.pollId ?? poll.cue.id), cueId: poll.cue.id, endsAt: endsAt(poll.cue) } : null,
    lastAnnouncement: announcement ? { text: String(announcement.payload.text), cueId: announcement.id, wallClock: announcement.wallClock } : null,
  };
}

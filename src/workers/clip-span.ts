// Pure clip arithmetic: a pin's span on the show's timeline, the product a span sold, and the cues that fell
// inside it moved onto the clip's own time.
import type { CueMessage } from '../contract/cue-message.ts';

export interface ClipSpan {
  startMs: number;
  endMs: number;
}

/** From the pin to its unpin (of that product, or any) or the next pin, at most `maxMs`, never past the show. */
export function pinSpan(pin: CueMessage, cues: readonly CueMessage[], showMs: number, maxMs: number): ClipSpan {
  const startMs = Math.round(pin.mediaTime * 1000);
  const next = cues.find(
    (cue) =>
      cue.mediaTime > pin.mediaTime &&
      (cue.type === 'product.pin' ||
        (cue.type === 'product.unpin' && (cue.payload.productId === undefined || cue.payload.productId === pin.payload.productId))),
  );
  const endMs = Math.min(next ? Math.round(next.mediaTime * 1000) : showMs, startMs + maxMs, showMs);
  return { startMs, endMs };
}

/** The product of a span: the one pinned at its start, else the first pinned inside it. */
export function productOfSpan(span: ClipSpan, cues: readonly CueMessage[]): string | null {
  let pinned: string | null = null;
  for (const cue of cues) {
    if (cue.mediaTime * 1000 > span.startMs) break;
    if (cue.type === 'product.pin') pinned = String(cue.payload.productId);
    if (cue.type === 'product.unpin' && (cue.payload.productId === undefined || cue.payload.productId === pinned)) pinned = null;
  }
  if (pinned) return pinned;
  const inside = cues.find((cue) => cue.type === 'product.pin' && cue.mediaTime * 1000 >= span.startMs && cue.mediaTime * 1000 < span.endMs);
  return inside ? String(inside.payload.productId) : null;
}

/** The cues inside the span, on the clip's time: mediaTime from the clip's start, wallClock from `clipStart`. */
export function cuesInClip(span: ClipSpan, cues: readonly CueMessage[], clipStart: Date): CueMessage[] {
  return cues
    .filter((cue) => cue.mediaTime * 1000 >= span.startMs && cue.mediaTime * 1000 < span.endMs)
    .map((cue) => {
      const offset = Math.max(0, (cue.mediaTime * 1000 - span.startMs) / 1000);
      return { ...cue, mediaTime: Number(offset.toFixed(3)), wallClock: new Date(clipStart.getTime() + Math.round(offset * 1000)).toISOString() };
    });
}

/** The offer of the product that ran during the span (its offer.start cue), if any. */
export function offerOfSpan(span: ClipSpan, cues: readonly CueMessage[], productId: string | null): CueMessage | null {
  if (!productId) return null;
  let found: CueMessage | null = null;
  for (const cue of cues) {
    if (cue.mediaTime * 1000 >= span.endMs) break;
    if (cue.type === 'offer.start' && cue.payload.productId === productId) found = cue;
    else if (
      found &&
      cue.type === 'offer.end' &&
      (cue.payload.productId === undefined || cue.payload.productId === productId) &&
      cue.mediaTime * 1000 <= span.startMs
    )
      found = null;
  }
  if (found && found.duration !== undefined && (found.mediaTime + found.duration) * 1000 <= span.startMs) return null;
  return found;
}

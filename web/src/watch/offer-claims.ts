// This viewer's claims on the show's offers: the units each offer has left (from the socket's stock
// messages), the claim in flight and what the server answered, kept per offer so a redrawn card shows
// them again. An offer's id is its offer.start cue's.
import type { ClaimAnswer, OfferStock } from './viewer-socket.ts';

export type ClaimOutcome =
  /** 201: a unit is held for this viewer until expiresAt; 200: it was already (the earlier claim). */
  { kind: 'reserved' | 'already-yours'; expiresAt: string | undefined } | { kind: 'sold-out' | 'ended' | 'failed'; detail: string };

export interface OfferClaim {
  /** Units left as last announced (or answered); undefined until the server says. */
  remaining?: number;
  claiming: boolean;
  outcome?: ClaimOutcome;
}

/** What a claim's answer means for the viewer. */
export function claimOutcome(answer: ClaimAnswer): ClaimOutcome {
  const { status, body } = answer;
  const expiresAt = typeof body.expiresAt === 'string' ? body.expiresAt : undefined;
  if (status === 201) return { kind: 'reserved', expiresAt };
  if (status === 200) return { kind: 'already-yours', expiresAt };
  const detail = typeof body.detail === 'string' && body.detail !== '' ? body.detail : `the claim failed (${status})`;
  if (body.reason === 'sold_out') return { kind: 'sold-out', detail };
  if (body.reason === 'offer_ended') return { kind: 'ended', detail };
  return { kind: 'failed', detail };
}

export class OfferClaims {
  readonly #claims = new Map<string, OfferClaim>();
  readonly #claim: (offerId: string) => Promise<ClaimAnswer>;
  readonly #onChange: (offerId: string) => void;

  /** `claim` asks the server; `onChange` hears of every change to an offer's claim or stock. */
  constructor(claim: (offerId: string) => Promise<ClaimAnswer>, onChange: (offerId: string) => void) {
    this.#claim = claim;
    this.#onChange = onChange;
  }

  get(offerId: string): OfferClaim {
    let claim = this.#claims.get(offerId);
    if (!claim) this.#claims.set(offerId, (claim = { claiming: false }));
    return claim;
  }

  /** Whether the viewer can ask now: not while a claim is out, nor once it holds a unit or none are left. */
  canClaim(offerId: string): boolean {
    const { claiming, remaining, outcome } = this.get(offerId);
    return !claiming && remaining !== 0 && (outcome === undefined || outcome.kind === 'failed');
  }

  stock(stock: OfferStock): void {
    const claim = this.get(stock.id);
    claim.remaining = stock.remaining;
    // Units come back when other viewers' claims expire: a sold-out answer no longer holds.
    if (stock.remaining > 0 && claim.outcome?.kind === 'sold-out') claim.outcome = undefined;
    this.#onChange(stock.id);
  }

  async claim(offerId: string): Promise<void> {
    if (!this.canClaim(offerId)) return;
    const claim = this.get(offerId);
    claim.claiming = true;
    claim.outcome = undefined;
    this.#onChange(offerId);
    const answer = await this.#claim(offerId);
    claim.claiming = false;
    claim.outcome = claimOutcome(answer);
    if (typeof answer.body.remaining === 'number') claim.remaining = answer.body.remaining;
    if (claim.outcome.kind === 'sold-out') claim.remaining = 0;
    this.#onChange(offerId);
  }
}

// Draws the commerce state the cue scheduler gives for the picture on screen: the pinned product,
// an offer with its countdown (live: its units left and a claim button), a poll (live: votes and the
// tally), the last announcement. Sections are rebuilt only when what they show changes; countdowns,
// stock, claims and tallies update in place, so a click never lands on a replaced button.
import type { CommerceState, OpenItem } from '../player/cue-scheduler.ts';
import { h, replaceChildren } from '../ui/element.ts';
import { formatClock, formatPrice } from '../ui/format.ts';
import { OfferClaims, type ClaimOutcome } from './offer-claims.ts';
import { safeWebUrl, type ProductCatalog, type ProductCard } from './product-catalog.ts';
import type { ClaimAnswer, OfferStock } from './viewer-socket.ts';

export interface CommercePanelElements {
  product: HTMLElement;
  offer: HTMLElement;
  poll: HTMLElement;
  announcement: HTMLElement;
}

function offerPrice(card: ProductCard, offer: OpenItem | undefined): number | undefined {
  if (!offer || offer.productId !== card.id) return undefined;
  if (typeof offer.offerPrice === 'number') return offer.offerPrice;
  if (typeof offer.discountPercent === 'number') return Math.round(card.price * (100 - offer.discountPercent)) / 100;
  return undefined;
}

function countdownText(item: OpenItem): string {
  return item.remainingSeconds === undefined ? '' : formatClock(Math.ceil(item.remainingSeconds));
}

/** "14:05", in the viewer's own time. */
function timeOfDay(iso: string | undefined): string {
  const at = iso === undefined ? Number.NaN : Date.parse(iso);
  return Number.isFinite(at) ? new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
}

function outcomeText(outcome: ClaimOutcome): string {
  switch (outcome.kind) {
    case 'reserved':
      return `Reserved for you${outcome.expiresAt ? ` until ${timeOfDay(outcome.expiresAt)}` : ''} — complete checkout in the shop`;
    case 'already-yours':
      return `Already yours${outcome.expiresAt ? `, reserved until ${timeOfDay(outcome.expiresAt)}` : ''} — complete checkout in the shop`;
    case 'sold-out':
      return 'Sold out: every unit has been claimed';
    case 'ended':
      return 'This offer has ended';
    case 'failed':
      return outcome.detail;
  }
}

/** What a viewer can do about the cues while the show is live (the page's socket). */
export interface ViewerActions {
  /** False on a replay: no one to vote or claim with. */
  readonly live: boolean;
  /** Whether the vote went out. */
  vote(pollId: string, option: number): boolean;
  claim(offerId: string): Promise<ClaimAnswer>;
}

export interface CommercePanelOptions {
  /** The viewer tapped the pinned product's card (its buy button included). */
  onProductTap?: (productId: string) => void;
  actions?: ViewerActions;
}

/** The offer card's parts that change in place. */
interface OfferParts {
  offer: OpenItem;
  offerId: string | undefined;
  countdown: HTMLElement;
  stock: HTMLElement | undefined;
  claimButton: HTMLButtonElement | undefined;
  claimResult: HTMLElement | undefined;
}

/** The poll's parts that change in place, one count and bar per option. */
interface PollParts {
  pollId: string;
  countdown: HTMLElement;
  counts: HTMLElement[];
  shares: HTMLElement[];
  total: HTMLElement;
  note: HTMLElement;
}

export class CommercePanel {
  readonly #elements: CommercePanelElements;
  readonly #catalog: ProductCatalog;
  #productKey = '';
  #offerKey = '';
  #pollKey = '';
  #announcementKey = '';
  #offerParts: OfferParts | undefined;
  #pollParts: PollParts | undefined;
  readonly #pollChoice = new Map<string, number>();
  /** The latest tally heard for each poll, option index -> votes. */
  readonly #tallies = new Map<string, Record<string, number>>();
  readonly #claims: OfferClaims | undefined;
  readonly #options: CommercePanelOptions;

  constructor(elements: CommercePanelElements, catalog: ProductCatalog, options: CommercePanelOptions = {}) {
    this.#elements = elements;
    this.#catalog = catalog;
    this.#options = options;
    const actions = options.actions;
    this.#claims =
      actions &&
      new OfferClaims(
        (offerId) => actions.claim(offerId),
        (offerId) => {
          if (this.#offerParts?.offerId === offerId) this.#updateOffer(this.#offerParts);
        },
      );
  }

  /** A poll's live tally (`poll.tally` on the socket). */
  showTally(pollId: string, tally: Record<string, number>): void {
    this.#tallies.set(pollId, tally);
    if (this.#pollParts?.pollId === pollId) this.#updateTally(this.#pollParts);
  }

  /** This viewer's earlier vote (from the socket's greeting): the option shows chosen, and no second vote goes out. */
  showVote(pollId: string, option: number): void {
    if (this.#pollChoice.get(pollId) === option) return;
    this.#pollChoice.set(pollId, option);
    // Drawn again at the next render: the poll's key includes the choice.
  }

  /** An offer's units left (`offer` on the socket). */
  showStock(stock: OfferStock): void {
    this.#claims?.stock(stock);
  }

  render(state: CommerceState): void {
    this.#renderProduct(state);
    this.#renderOffer(state.offer);
    this.#renderPoll(state.poll);
    const announcement = state.announcements.at(-1);
    const key = announcement?.id ?? '';
    if (key !== this.#announcementKey) {
      this.#announcementKey = key;
      const text = typeof announcement?.payload.text === 'string' ? announcement.payload.text : '';
      this.#elements.announcement.textContent = text;
      this.#elements.announcement.hidden = text === '';
    }
  }

  #renderProduct(state: CommerceState): void {
    const pinned = state.pinnedProduct;
    const card = pinned ? this.#catalog.get(pinned.productId) : undefined;
    const price = card ? offerPrice(card, state.offer) : undefined;
    const key = pinned ? `${pinned.productId}|${card ? 'loaded' : 'loading'}|${price ?? ''}` : '';
    if (key === this.#productKey) return;
    this.#productKey = key;
    if (!pinned) {
      replaceChildren(this.#elements.product);
      return;
    }
    if (!card) void this.#catalog.load(pinned.productId);
    const image = safeWebUrl(card?.imageUrl);
    const link = safeWebUrl(card?.productUrl);
    replaceChildren(
      this.#elements.product,
      h(
        'article',
        {
          class: 'product-card',
          dataset: { productId: pinned.productId },
          'data-testid': 'product-card',
          on: { click: () => this.#options.onProductTap?.(pinned.productId) },
        },
        image ? h('img', { src: image, alt: '', loading: 'eager', referrerPolicy: 'no-referrer' }) : h('div', { class: 'placeholder' }),
        h(
          'div',
          {},
          h('div', { class: 'pinned', text: 'Now showing' }),
          h('h2', { text: card?.title ?? 'Loading product…' }),
          card &&
            h(
              'div',
              { class: 'price' },
              formatPrice(price ?? card.price, card.currency),
              price !== undefined && h('s', { text: formatPrice(card.price, card.currency) }),
            ),
          link && h('a', { class: 'button primary buy', href: link, target: '_blank', rel: 'noopener noreferrer', text: 'Buy now' }),
        ),
      ),
    );
  }

  #renderOffer(offer: OpenItem | undefined): void {
    const offerCard = typeof offer?.productId === 'string' ? this.#catalog.get(offer.productId) : undefined;
    // An offer's id is its offer.start cue's: its claims and stock go by it.
    const offerId = offer?.cueId;
    const live = this.#options.actions?.live === true;
    const key = offer ? JSON.stringify({ ...offer, remainingSeconds: undefined, endsAt: undefined, loaded: offerCard !== undefined, offerId, live }) : '';
    if (key !== this.#offerKey) {
      this.#offerKey = key;
      this.#offerParts = undefined;
      if (!offer) replaceChildren(this.#elements.offer);
      else {
        const card = offerCard;
        const deal =
          typeof offer.discountPercent === 'number'
            ? `−${offer.discountPercent}%`
            : typeof offer.offerPrice === 'number' && card
              ? formatPrice(offer.offerPrice, card.currency)
              : typeof offer.code === 'string'
                ? `Code ${offer.code}`
                : 'Special offer';
        const limited = typeof offer.quantity === 'number';
        // Offers with a quantity are claimable; the claim goes by the offer's id.
        const claimable = limited && live && offerId !== undefined && this.#claims !== undefined;
        const parts: OfferParts = {
          offer,
          offerId,
          countdown: h('span', { class: 'countdown', 'data-testid': 'offer-countdown' }),
          stock: limited ? h('div', { class: 'left', 'data-testid': 'offer-stock' }) : undefined,
          claimButton: claimable
            ? h('button', { type: 'button', class: 'claim', 'data-testid': 'offer-claim', on: { click: () => void this.#claims!.claim(offerId) } })
            : undefined,
          claimResult: claimable ? h('p', { class: 'claim-result', 'data-testid': 'offer-claim-result', role: 'status', hidden: true }) : undefined,
        };
        this.#offerParts = parts;
        replaceChildren(
          this.#elements.offer,
          h(
            'div',
            { class: 'offer', 'data-testid': 'offer', dataset: offerId ? { offerId } : {} },
            h('div', {}, h('div', { text: `${deal}${card ? ` on ${card.title}` : ''}` }), parts.stock),
            parts.countdown,
            parts.claimButton && h('div', { class: 'claim-row' }, parts.claimButton, parts.claimResult),
          ),
        );
        if (typeof offer.productId === 'string' && !card) void this.#catalog.load(offer.productId);
      }
    }
    if (offer && this.#offerParts) {
      this.#offerParts.offer = offer;
      this.#updateOffer(this.#offerParts);
    }
  }

  /** The countdown, the units left and the claim's state, in place. */
  #updateOffer(parts: OfferParts): void {
    const { offer, offerId } = parts;
    parts.countdown.textContent = countdownText(offer);
    const claim = offerId !== undefined ? this.#claims?.get(offerId) : undefined;
    const remaining = claim?.remaining;
    if (parts.stock) {
      parts.stock.textContent = remaining === undefined ? `Only ${String(offer.quantity)} available` : remaining === 0 ? 'Sold out' : `${remaining} left`;
    }
    if (!claim || !parts.claimButton || !parts.claimResult || offerId === undefined) return;
    const outcome = claim.outcome;
    const holds = outcome?.kind === 'reserved' || outcome?.kind === 'already-yours';
    parts.claimButton.disabled = !this.#claims!.canClaim(offerId);
    parts.claimButton.textContent = claim.claiming ? 'Claiming…' : holds ? 'Claimed' : remaining === 0 || outcome?.kind === 'sold-out' ? 'Sold out' : 'Claim';
    const result = claim.claiming ? '' : outcome ? outcomeText(outcome) : '';
    parts.claimResult.textContent = result;
    parts.claimResult.hidden = result === '';
    if (outcome && !claim.claiming) parts.claimResult.dataset.outcome = outcome.kind;
    else delete parts.claimResult.dataset.outcome;
  }

  #renderPoll(poll: OpenItem | undefined): void {
    const pollId = typeof poll?.pollId === 'string' ? poll.pollId : '';
    const choice = this.#pollChoice.get(pollId);
    const live = this.#options.actions?.live === true;
    const key = poll ? `${pollId}|${choice ?? ''}|${live}` : '';
    if (key !== this.#pollKey) {
      this.#pollKey = key;
      this.#pollParts = undefined;
      if (!poll) replaceChildren(this.#elements.poll);
      else {
        const options = Array.isArray(poll.options) ? poll.options.map(String) : [];
        const parts: PollParts = {
          pollId,
          countdown: h('div', { class: 'closes subtle' }),
          counts: options.map(() => h('span', { class: 'count', 'data-testid': 'poll-count' })),
          shares: options.map(() => h('span', { class: 'share', 'aria-hidden': 'true' })),
          total: h('div', { class: 'total subtle', 'data-testid': 'poll-total' }),
          note: h('div', { class: 'note subtle', role: 'status' }),
        };
        this.#pollParts = parts;
        replaceChildren(
          this.#elements.poll,
          h(
            'section',
            { class: 'poll', 'data-testid': 'poll', dataset: { pollId } },
            h('h2', { text: String(poll.question ?? 'Poll') }),
            h(
              'div',
              { class: 'options' },
              ...options.map((option, index) =>
                h(
                  'button',
                  {
                    type: 'button',
                    'data-testid': 'poll-option',
                    'aria-pressed': String(choice === index),
                    // One vote per viewer and poll; a replay's poll is over.
                    disabled: !live || choice !== undefined,
                    on: { click: () => this.#vote(poll, pollId, index) },
                  },
                  parts.shares[index],
                  h('span', { class: 'label', text: option }),
                  parts.counts[index],
                ),
              ),
            ),
            parts.total,
            parts.note,
            parts.countdown,
          ),
        );
        this.#updateTally(parts);
      }
    }
    if (poll && this.#pollParts) this.#pollParts.countdown.textContent = poll.remainingSeconds === undefined ? '' : `Closes in ${countdownText(poll)}`;
  }

  #vote(poll: OpenItem, pollId: string, option: number): void {
    if (this.#pollChoice.has(pollId)) return;
    if (!this.#options.actions?.vote(pollId, option)) {
      if (this.#pollParts) this.#pollParts.note.textContent = 'Not connected: try again in a moment.';
      return;
    }
    this.#pollChoice.set(pollId, option);
    this.#pollKey = '';
    this.#renderPoll(poll);
  }

  /** Votes per option, and each option's share as its bar; nothing until a tally is heard. */
  #updateTally(parts: PollParts): void {
    const tally = this.#tallies.get(parts.pollId);
    if (!tally) return;
    const votes = parts.counts.map((_count, index) => tally[String(index)] ?? 0);
    const total = votes.reduce((sum, count) => sum + count, 0);
    votes.forEach((count, index) => {
      parts.counts[index]!.textContent = String(count);
      parts.shares[index]!.style.width = `${total > 0 ? (count / total) * 100 : 0}%`;
    });
    parts.total.textContent = `${total} ${total === 1 ? 'vote' : 'votes'}`;
  }
}

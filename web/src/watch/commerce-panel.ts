// Draws the commerce state the cue scheduler gives for the picture on screen: the pinned product,
// an offer with its countdown, a poll, the last announcement. Sections are rebuilt only when what
// they show changes; countdowns tick in place.
import type { CommerceState, OpenItem } from '../../../src/player/cue-scheduler.ts';
import { h, replaceChildren } from '../ui/element.ts';
import { formatClock, formatPrice } from '../ui/format.ts';
import { safeWebUrl, type ProductCatalog, type ProductCard } from './product-catalog.ts';

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

export class CommercePanel {
  readonly #elements: CommercePanelElements;
  readonly #catalog: ProductCatalog;
  #productKey = '';
  #offerKey = '';
  #pollKey = '';
  #announcementKey = '';
  #offerCountdown: HTMLElement | undefined;
  #pollCountdown: HTMLElement | undefined;
  readonly #pollChoice = new Map<string, number>();
  readonly #onProductTap: ((productId: string) => void) | undefined;

  /** `onProductTap`: the viewer tapped the pinned product's card (its buy button included). */
  constructor(elements: CommercePanelElements, catalog: ProductCatalog, onProductTap?: (productId: string) => void) {
    this.#elements = elements;
    this.#catalog = catalog;
    this.#onProductTap = onProductTap;
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
        { class: 'product-card', dataset: { productId: pinned.productId }, 'data-testid': 'product-card', on: { click: () => this.#onProductTap?.(pinned.productId) } },
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
    const key = offer ? JSON.stringify({ ...offer, remainingSeconds: undefined, endsAt: undefined, loaded: offerCard !== undefined }) : '';
    if (key !== this.#offerKey) {
      this.#offerKey = key;
      this.#offerCountdown = undefined;
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
        this.#offerCountdown = h('span', { class: 'countdown', 'data-testid': 'offer-countdown' });
        replaceChildren(
          this.#elements.offer,
          h(
            'div',
            { class: 'offer', 'data-testid': 'offer' },
            h('div', {}, h('div', { text: `${deal}${card ? ` on ${card.title}` : ''}` }), typeof offer.quantity === 'number' && h('div', { class: 'left', text: `Only ${offer.quantity} available` })),
            this.#offerCountdown,
          ),
        );
        if (typeof offer.productId === 'string' && !card) void this.#catalog.load(offer.productId);
      }
    }
    if (offer && this.#offerCountdown) this.#offerCountdown.textContent = countdownText(offer);
  }

  #renderPoll(poll: OpenItem | undefined): void {
    const pollId = typeof poll?.pollId === 'string' ? poll.pollId : '';
    const choice = this.#pollChoice.get(pollId);
    const key = poll ? `${pollId}|${choice ?? ''}` : '';
    if (key !== this.#pollKey) {
      this.#pollKey = key;
      this.#pollCountdown = undefined;
      if (!poll) replaceChildren(this.#elements.poll);
      else {
        const options = Array.isArray(poll.options) ? poll.options.map(String) : [];
        this.#pollCountdown = h('div', { class: 'closes subtle' });
        replaceChildren(
          this.#elements.poll,
          h(
            'section',
            { class: 'poll', 'data-testid': 'poll' },
            h('h2', { text: String(poll.question ?? 'Poll') }),
            h(
              'div',
              { class: 'options' },
              ...options.map((option, index) =>
                h('button', {
                  type: 'button',
                  text: option,
                  'aria-pressed': String(choice === index),
                  on: { click: () => (this.#pollChoice.set(pollId, index), (this.#pollKey = ''), this.#renderPoll(poll)) },
                }),
              ),
            ),
            this.#pollCountdown,
          ),
        );
      }
    }
    if (poll && this.#pollCountdown) this.#pollCountdown.textContent = poll.remainingSeconds === undefined ? '' : `Closes in ${countdownText(poll)}`;
  }
}

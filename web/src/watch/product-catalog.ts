// Product cards for the products a show pins, from livecue's public endpoint, each fetched once.
import type { PlaybackUrls } from '../player/playback-urls.ts';
import type { Product } from '../player/product.ts';

/** A pinned product's card shows the catalogue product as the API gives it. */
export type ProductCard = Product;

export class ProductCatalog {
  readonly #urls: PlaybackUrls;
  readonly #cards = new Map<string, ProductCard>();
  readonly #loading = new Map<string, Promise<ProductCard | undefined>>();
  readonly #onLoaded: (card: ProductCard) => void;

  constructor(urls: PlaybackUrls, onLoaded: (card: ProductCard) => void = () => {}) {
    this.#urls = urls;
    this.#onLoaded = onLoaded;
  }

  get(productId: string): ProductCard | undefined {
    return this.#cards.get(productId);
  }

  /** Starts (or joins) the fetch; a cue's product is loaded when the cue arrives, before its moment is shown. */
  load(productId: string): Promise<ProductCard | undefined> {
    const known = this.#cards.get(productId);
    if (known) return Promise.resolve(known);
    let pending = this.#loading.get(productId);
    if (!pending) {
      pending = fetch(this.#urls.product(productId))
        .then(async (response) => (response.ok ? ((await response.json()) as ProductCard) : undefined))
        .catch(() => undefined)
        .then((card) => {
          this.#loading.delete(productId);
          if (card) {
            this.#cards.set(productId, card);
            this.#onLoaded(card);
          }
          return card;
        });
      this.#loading.set(productId, pending);
    }
    return pending;
  }
}

/** Only web links may become an href or an image source (never javascript: or data:). */
export function safeWebUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value, location.href);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

// The waiting room of a scheduled show (/watch/<playbackId> before it goes live): cover, title, description, a live
// countdown, the lineup as product cards, "remind me" and the calendar file. The page leaves it for the player when
// its socket says the show is live (or a reconnect finds it live).
import type { PlaybackUrls } from '../player/playback-urls.ts';
import type { Product } from '../player/product.ts';
import { byId, h, replaceChildren } from '../ui/element.ts';
import { formatPrice } from '../ui/format.ts';
import { safeWebUrl } from './product-catalog.ts';

/** GET /live/<playbackId>/show, as the page reads it. */
export interface ShowInfo {
  title: string;
  status: 'idle' | 'live' | 'ended';
  schedule: {
    startAt: string;
    description: string | null;
    coverImageUrl: string | null;
    late: boolean;
    upcoming: boolean;
    products: Product[];
    calendarUrl: string;
  } | null;
  reminded: boolean;
}

/** The show as livecue describes it now; undefined when it cannot say (the page then plays as it always did). */
export async function fetchShow(urls: PlaybackUrls, viewerToken?: string): Promise<ShowInfo | undefined> {
  try {
    const response = await fetch(urls.show(viewerToken), { cache: 'no-store' });
    return response.ok ? ((await response.json()) as ShowInfo) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the page should wait in the waiting room rather than look for the show's media. */
export const isUpcoming = (show: ShowInfo | undefined): boolean => show?.schedule?.upcoming === true && show.status !== 'live';

/** 93784 s → "1 d 02:03:04"; 185 s → "03:05". */
export function formatCountdown(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  const days = Math.floor(seconds / 86_400);
  const clock = [Math.floor((seconds % 86_400) / 3600), Math.floor((seconds % 3600) / 60), seconds % 60].map((part) => String(part).padStart(2, '0'));
  const text = clock[0] === '00' && days === 0 ? clock.slice(1).join(':') : clock.join(':');
  return days > 0 ? `${days} d ${text}` : text;
}

/** A started show this late past its time is said to be running late (the server marks it at 30 minutes). */
const LATE_MS = 30 * 60_000;

export class WaitingRoom {
  readonly #root = byId('waiting-room');
  readonly #countdown = h('p', { class: 'countdown', 'data-testid': 'countdown', 'aria-live': 'off' });
  readonly #remind = h('button', { class: 'button primary remind', type: 'button', 'data-testid': 'remind' });
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #startAt: number;
  #reminded: boolean;

  constructor(
    private readonly show: ShowInfo & { schedule: NonNullable<ShowInfo['schedule']> },
    private readonly urls: PlaybackUrls,
    private readonly viewerToken: string | undefined,
  ) {
    this.#startAt = Date.parse(show.schedule.startAt);
    this.#reminded = show.reminded;
    this.#render();
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), 1000);
    document.body.dataset.waiting = '1';
  }

  /** The show started: the room gives way to the player. */
  close(): void {
    clearInterval(this.#timer);
    this.#root.hidden = true;
    delete document.body.dataset.waiting;
  }

  #render(): void {
    const { schedule, title } = this.show;
    const cover = safeWebUrl(schedule.coverImageUrl);
    const starts = new Date(this.#startAt);
    replaceChildren(
      this.#root,
      cover ? h('img', { class: 'cover', src: cover, alt: '', referrerPolicy: 'no-referrer', 'data-testid': 'cover' }) : null,
      h('p', { class: 'upcoming-label', text: 'Upcoming live show' }),
      h('h1', { text: title, 'data-testid': 'show-title' }),
      h('p', { class: 'starts', text: `Starts ${starts.toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' })}` }),
      this.#countdown,
      schedule.description ? h('p', { class: 'description', text: schedule.description, 'data-testid': 'description' }) : null,
      h(
        'div',
        { class: 'room-actions' },
        this.viewerToken ? this.#remind : null,
        h('a', { class: 'button', href: this.urls.calendar(), download: 'show.ics', 'data-testid': 'calendar', text: 'Add to calendar' }),
      ),
      schedule.products.length > 0 ? h('h2', { class: 'lineup-title', text: 'In this show' }) : null,
      h('div', { class: 'lineup', 'data-testid': 'lineup' }, ...schedule.products.map((product) => this.#card(product))),
    );
    this.#remind.onclick = () => void this.#toggleReminder();
    this.#showReminder();
    this.#root.hidden = false;
  }

  #card(product: Product): HTMLElement {
    const image = safeWebUrl(product.imageUrl);
    const link = safeWebUrl(product.productUrl);
    return h(
      'article',
      { class: 'product-card', dataset: { productId: product.id }, 'data-testid': 'lineup-card' },
      image ? h('img', { src: image, alt: '', loading: 'lazy', referrerPolicy: 'no-referrer' }) : h('div', { class: 'placeholder' }),
      h(
        'div',
        {},
        h('h2', { text: product.title }),
        h('div', { class: 'price', text: formatPrice(product.price, product.currency) }),
        link && h('a', { class: 'button buy', href: link, target: '_blank', rel: 'noopener noreferrer', text: 'View product' }),
      ),
    );
  }

  #tick(): void {
    const left = (this.#startAt - Date.now()) / 1000;
    if (left > 0) this.#countdown.textContent = `Starts in ${formatCountdown(left)}`;
    else if (this.show.schedule.late || -left * 1000 > LATE_MS)
      this.#countdown.textContent = 'The show is running late: this page starts it as soon as it begins.';
    else this.#countdown.textContent = 'Starting any moment…';
    this.#countdown.dataset.late = String(this.show.schedule.late || -left * 1000 > LATE_MS);
  }

  #showReminder(): void {
    this.#remind.textContent = this.#reminded ? 'Reminder set ✓' : 'Remind me';
    this.#remind.setAttribute('aria-pressed', String(this.#reminded));
  }

  async #toggleReminder(): Promise<void> {
    if (!this.viewerToken) return;
    this.#remind.disabled = true;
    try {
      const response = await fetch(this.urls.reminders(), {
        method: this.#reminded ? 'DELETE' : 'POST',
        headers: { authorization: `Bearer ${this.viewerToken}` },
      });
      if (response.ok) this.#reminded = !this.#reminded;
    } catch {
      // Offline a moment: the button stays as it was and can be pressed again.
    } finally {
      this.#remind.disabled = false;
      this.#showReminder();
    }
  }
}

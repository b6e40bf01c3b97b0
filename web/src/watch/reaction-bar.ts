// A row of reaction buttons: a tap sends one reaction; the show's reactions of the last second
// (the server sums them once a second) pop up on each button for a moment.
import { h, replaceChildren } from '../ui/element.ts';

/** The reactions the server accepts (REACTIONS in src/engagement/engagement-service.ts). */
export const REACTIONS = ['❤️', '🔥', '😂', '😮', '👏', '🛍️'] as const;
const LABELS: Record<(typeof REACTIONS)[number], string> = { '❤️': 'Love', '🔥': 'Fire', '😂': 'Funny', '😮': 'Wow', '👏': 'Applause', '🛍️': 'Want it' };
/** A second's count stays up a little longer than the second, so a steady stream reads as one. */
const COUNT_SHOWN_MS = 1500;

export interface ReactionSender {
  /** Whether the reaction went out. */
  react(emoji: string): boolean;
}

export class ReactionBar {
  readonly #counts = new Map<string, { element: HTMLElement; timer?: ReturnType<typeof setTimeout> }>();

  constructor(root: HTMLElement, sender: ReactionSender) {
    const buttons = REACTIONS.map((emoji) => {
      const count = h('span', { class: 'count', 'data-testid': 'reaction-count', hidden: true });
      this.#counts.set(emoji, { element: count });
      return h(
        'button',
        {
          type: 'button',
          class: 'reaction',
          title: LABELS[emoji],
          'aria-label': LABELS[emoji],
          dataset: { emoji },
          'data-testid': 'reaction',
          on: { click: () => sender.react(emoji) },
        },
        h('span', { class: 'emoji', text: emoji, 'aria-hidden': 'true' }),
        count,
      );
    });
    replaceChildren(root, ...buttons);
  }

  /** The show's reactions of the last second, emoji -> count. */
  show(counts: Record<string, number>): void {
    for (const [emoji, count] of Object.entries(counts)) {
      const shown = this.#counts.get(emoji);
      if (!shown || count <= 0) continue;
      clearTimeout(shown.timer);
      shown.element.textContent = `+${count}`;
      shown.element.hidden = false;
      shown.element.classList.remove('pop');
      // Restarting the animation: a reflow between removing and adding the class.
      void shown.element.offsetWidth;
      shown.element.classList.add('pop');
      shown.timer = setTimeout(() => (shown.element.hidden = true), COUNT_SHOWN_MS);
    }
  }
}

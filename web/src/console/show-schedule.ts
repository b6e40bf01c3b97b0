// The console's scheduled show panel: set or move a stream's show (date and time, description, cover, lineup from the
// catalogue), see how many viewers asked to be reminded, and copy the waiting room's link.
import { h, replaceChildren } from '../ui/element.ts';
import type { AdminApi, Product, StreamView } from './admin-api.ts';
import { copyField } from './copy-field.ts';

/** A Date as <input type="datetime-local"> shows it: the host's local time, to the minute. */
function localInputValue(at: Date): string {
  const local = new Date(at.getTime() - at.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

export class SchedulePanel {
  readonly element = h('section', { class: 'panel schedule', 'data-testid': 'schedule' });
  readonly #summary = h('div', { class: 'schedule-summary' });
  readonly #startAt = h('input', { type: 'datetime-local', required: true, 'aria-label': 'Start', 'data-testid': 'schedule-start' });
  readonly #description = h('textarea', { rows: 3, maxLength: 5000, placeholder: 'What the show is about', 'aria-label': 'Description' });
  readonly #cover = h('input', { type: 'url', placeholder: 'https://… cover picture', 'aria-label': 'Cover image URL' });
  readonly #lineup = h('div', { class: 'lineup-picker', 'data-testid': 'schedule-lineup' });
  readonly #message = h('p', { class: 'message', role: 'status' });
  /** The schedule the form was last filled from, and whether the host has edited it since: a poll never overwrites an edit. */
  #filledFrom: string | undefined;
  #edited = false;
  #products: Product[] = [];
  #stream: StreamView | undefined;

  constructor(
    private readonly api: AdminApi,
    private readonly onSaved: (stream: StreamView) => void,
  ) {
    const form = h(
      'form',
      { class: 'schedule-form' },
      h('label', { class: 'label', text: 'Starts' }),
      this.#startAt,
      h('label', { class: 'label', text: 'Description' }),
      this.#description,
      h('label', { class: 'label', text: 'Cover image' }),
      this.#cover,
      h('span', { class: 'label', text: 'Lineup' }),
      this.#lineup,
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'submit', class: 'primary', text: 'Save schedule', 'data-testid': 'schedule-save' }),
        h('button', { type: 'button', text: 'Remove schedule', on: { click: () => void this.#save({ scheduledStartAt: null }) } }),
      ),
    );
    form.addEventListener('input', () => (this.#edited = true));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#save(this.#formChanges());
    });
    replaceChildren(this.element, h('h3', { text: 'Scheduled show' }), this.#summary, form, this.#message);
  }

  /** Each refresh of the stream: the summary always, the form only when the schedule itself changed. */
  update(stream: StreamView, products: Product[]): void {
    this.#stream = stream;
    const schedule = stream.schedule;
    const key = JSON.stringify({ schedule: schedule && { ...schedule, reminders: 0, late: false }, products: products.map((product) => product.id) });
    replaceChildren(
      this.#summary,
      schedule
        ? h(
            'div',
            {},
            h('p', {
              'data-testid': 'schedule-status',
              text: `${schedule.upcoming ? 'Starts' : 'Started (scheduled)'} ${new Date(schedule.startAt).toLocaleString()}${schedule.late ? ' — running late' : ''}`,
            }),
            h('p', {}, 'Reminders: ', h('strong', { text: String(schedule.reminders), 'data-testid': 'schedule-reminders' })),
            copyField('Waiting room', schedule.watchUrl, { testId: 'waiting-room-url' }),
            copyField('Calendar file', schedule.calendarUrl),
          )
        : h('p', { class: 'subtle', text: 'Not scheduled: set a start time to open a waiting room and take reminders.' }),
    );
    if (key === this.#filledFrom || this.#edited) return;
    this.#filledFrom = key;
    this.#products = products;
    this.#startAt.value = schedule ? localInputValue(new Date(schedule.startAt)) : '';
    this.#description.value = schedule?.description ?? '';
    this.#cover.value = schedule?.coverImageUrl ?? '';
    const chosen = new Set(schedule?.products ?? []);
    replaceChildren(
      this.#lineup,
      ...products.map((product) =>
        h(
          'label',
          { class: 'check' },
          h('input', { type: 'checkbox', value: product.id, checked: chosen.has(product.id) }),
          ` ${product.title} (${product.sku})`,
        ),
      ),
      products.length === 0 && h('p', { class: 'subtle', text: 'Add products to the catalogue to build a lineup.' }),
    );
  }

  #formChanges(): Record<string, unknown> {
    const picked = [...this.#lineup.querySelectorAll<HTMLInputElement>('input[type=checkbox]')].filter((box) => box.checked).map((box) => box.value);
    // The lineup keeps the catalogue's order.
    const products = this.#products.map((product) => product.id).filter((id) => picked.includes(id));
    return {
      scheduledStartAt: new Date(this.#startAt.value).toISOString(),
      description: this.#description.value,
      ...(this.#cover.value ? { coverImageUrl: this.#cover.value } : {}),
      products,
    };
  }

  async #save(changes: Record<string, unknown>): Promise<void> {
    if (!this.#stream) return;
    try {
      if (changes.scheduledStartAt !== null && Number.isNaN(Date.parse(String(changes.scheduledStartAt)))) throw new Error('Pick a start date and time.');
      const stream = await this.api.updateStream(this.#stream.id, changes);
      this.#filledFrom = undefined;
      this.#edited = false;
      this.update(stream, this.#products);
      this.#message.textContent = stream.schedule ? 'Schedule saved.' : 'Schedule removed.';
      this.#message.classList.remove('error');
      this.onSaved(stream);
    } catch (error) {
      this.#message.textContent = (error as Error).message;
      this.#message.classList.add('error');
    }
  }
}

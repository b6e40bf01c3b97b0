// Replay controls: play/pause, a seek bar with a marker at each product's moment and a thumbnail
// preview of the time under the pointer, and a product list that jumps to the moment each product was
// pinned.
import type { CueMessage } from '../player/cue-scheduler.ts';
import { h, replaceChildren } from '../ui/element.ts';
import { formatClock } from '../ui/format.ts';
import { safeWebUrl, type ProductCatalog } from './product-catalog.ts';
import type { ThumbnailTrack } from './thumbnails.ts';

const KEY_STEP_SECONDS = 5;

/** A URL as a CSS string (inside url(…)). */
const cssUrl = (url: string) => `url("${url.replace(/["\\\n]/g, (c) => `\\${c.charCodeAt(0).toString(16)} `)}")`;

export class ReplayTimeline {
  readonly #video: HTMLVideoElement;
  readonly #catalog: ProductCatalog;
  readonly #videoTimeOf: (cue: CueMessage) => number | undefined;
  readonly #bar: HTMLElement;
  readonly #progress: HTMLElement;
  readonly #buffered: HTMLElement;
  readonly #markers: HTMLElement;
  readonly #time: HTMLElement;
  readonly #playButton: HTMLButtonElement;
  readonly #list: HTMLElement;
  readonly #listRoot: HTMLElement;
  readonly #preview: HTMLElement;
  readonly #previewPicture: HTMLElement;
  readonly #previewTime: HTMLElement;
  #thumbnails: ThumbnailTrack | undefined;
  #pins: CueMessage[] = [];
  /** What the markers and the list show; they are rebuilt only when it changes, so a click never lands on a replaced button. */
  #markersKey = '';
  #listKey = '';

  constructor(
    root: HTMLElement,
    listRoot: HTMLElement,
    video: HTMLVideoElement,
    catalog: ProductCatalog,
    videoTimeOf: (cue: CueMessage) => number | undefined,
  ) {
    this.#video = video;
    this.#catalog = catalog;
    this.#videoTimeOf = videoTimeOf;
    this.#progress = h('div', { class: 'progress' });
    this.#buffered = h('div', { class: 'buffered' });
    this.#markers = h('div', { class: 'markers' });
    this.#previewPicture = h('div', { class: 'picture' });
    this.#previewTime = h('span', { class: 'at' });
    this.#preview = h(
      'div',
      { class: 'seek-preview', 'data-testid': 'seek-preview', 'aria-hidden': 'true', hidden: true },
      this.#previewPicture,
      this.#previewTime,
    );
    this.#bar = h(
      'div',
      { class: 'seekbar', role: 'slider', tabIndex: 0, 'aria-label': 'Seek', 'data-testid': 'seekbar' },
      h('div', { class: 'track' }),
      this.#buffered,
      this.#progress,
      this.#markers,
      this.#preview,
    );
    this.#time = h('span', { class: 'time', text: '0:00' });
    this.#playButton = h('button', { type: 'button', 'aria-label': 'Play', text: '▶', on: { click: () => this.#togglePlay() } });
    this.#list = h('ol', {});
    this.#listRoot = listRoot;
    replaceChildren(root, h('div', { class: 'controls' }, this.#playButton, this.#bar, this.#time));
    replaceChildren(listRoot, h('h2', { text: 'Products in this show' }), this.#list);
    root.hidden = false;

    this.#bar.addEventListener('pointerdown', (event) => {
      this.#bar.setPointerCapture(event.pointerId);
      this.#seekToPointer(event);
      this.#showPreview(event);
    });
    // Hovering (mouse) or dragging (any pointer) previews the picture at the pointer's time.
    this.#bar.addEventListener('pointermove', (event) => {
      if (this.#bar.hasPointerCapture(event.pointerId)) this.#seekToPointer(event);
      this.#showPreview(event);
    });
    this.#bar.addEventListener('pointerleave', (event) => {
      if (!this.#bar.hasPointerCapture(event.pointerId)) this.#preview.hidden = true;
    });
    for (const type of ['pointerup', 'pointercancel'] as const) {
      this.#bar.addEventListener(type, (event) => {
        if (event.pointerType !== 'mouse') this.#preview.hidden = true;
      });
    }
    this.#bar.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowRight') this.seek(video.currentTime + KEY_STEP_SECONDS);
      else if (event.key === 'ArrowLeft') this.seek(video.currentTime - KEY_STEP_SECONDS);
      else return;
      event.preventDefault();
    });
    for (const type of ['timeupdate', 'durationchange', 'progress', 'play', 'pause', 'seeked'] as const) {
      video.addEventListener(type, () => this.update());
    }
    video.addEventListener('durationchange', () => this.refresh());
  }

  /** The pinned products of the show (cues of other types are ignored). */
  setCues(cues: CueMessage[]): void {
    this.#pins = cues.filter((cue) => cue.type === 'product.pin').sort((a, b) => a.mediaTime - b.mediaTime);
    for (const pin of this.#pins) void this.#catalog.load(String(pin.payload.productId));
    this.#renderMarkers();
    this.#renderList();
  }

  /** The recording's seek-preview pictures. */
  setThumbnails(track: ThumbnailTrack | undefined): void {
    this.#thumbnails = track;
    if (!track) this.#preview.hidden = true;
  }

  /** Product details arrived: titles and pictures fill in. */
  refresh(): void {
    this.#renderMarkers();
    this.#renderList();
  }

  seek(time: number): void {
    const duration = this.#duration();
    this.#video.currentTime = Math.max(0, Math.min(time, Number.isFinite(duration) ? duration - 0.1 : time));
    this.update();
  }

  update(): void {
    const duration = this.#duration();
    const now = this.#video.currentTime;
    const fraction = Number.isFinite(duration) && duration > 0 ? Math.min(1, now / duration) : 0;
    this.#progress.style.width = `${fraction * 100}%`;
    const buffered = this.#video.buffered;
    const bufferedEnd = buffered.length > 0 ? buffered.end(buffered.length - 1) : 0;
    this.#buffered.style.width = `${Number.isFinite(duration) && duration > 0 ? Math.min(1, bufferedEnd / duration) * 100 : 0}%`;
    this.#time.textContent = `${formatClock(now)} / ${Number.isFinite(duration) ? formatClock(duration) : '–'}`;
    this.#bar.setAttribute('aria-valuenow', String(Math.round(now)));
    this.#bar.setAttribute('aria-valuemax', String(Number.isFinite(duration) ? Math.round(duration) : 0));
    const paused = this.#video.paused;
    this.#playButton.textContent = paused ? '▶' : '❚❚';
    this.#playButton.setAttribute('aria-label', paused ? 'Play' : 'Pause');
  }

  #duration(): number {
    return this.#video.duration;
  }

  #togglePlay(): void {
    if (this.#video.paused) void this.#video.play().catch(() => {});
    else this.#video.pause();
  }

  #seekToPointer(event: PointerEvent): void {
    const rect = this.#bar.getBoundingClientRect();
    const duration = this.#duration();
    if (!Number.isFinite(duration) || rect.width === 0) return;
    this.seek(((event.clientX - rect.left) / rect.width) * duration);
  }

  #showPreview(event: PointerEvent): void {
    const rect = this.#bar.getBoundingClientRect();
    const duration = this.#duration();
    if (!this.#thumbnails || !Number.isFinite(duration) || duration <= 0 || rect.width === 0) return;
    const fraction = Math.max(0, Math.min(1, (event.clientX - rect.left) / rect.width));
    const time = fraction * duration;
    const thumbnail = this.#thumbnails.at(time);
    if (!thumbnail) {
      this.#preview.hidden = true;
      return;
    }
    const style = this.#previewPicture.style;
    style.width = `${thumbnail.width}px`;
    style.height = `${thumbnail.height}px`;
    style.backgroundImage = cssUrl(thumbnail.url);
    style.backgroundPosition = `-${thumbnail.x}px -${thumbnail.y}px`;
    this.#previewTime.textContent = formatClock(time);
    // Centred on the pointer, kept within the bar.
    const left = Math.max(0, Math.min(fraction * rect.width - thumbnail.width / 2, rect.width - thumbnail.width));
    this.#preview.style.left = `${left}px`;
    this.#preview.dataset.time = time.toFixed(3);
    this.#preview.hidden = false;
  }

  #title(cue: CueMessage): string {
    return this.#catalog.get(String(cue.payload.productId))?.title ?? 'Product';
  }

  #renderMarkers(): void {
    const duration = this.#duration();
    const shown =
      Number.isFinite(duration) && duration > 0
        ? this.#pins.map((pin) => ({ pin, at: this.#videoTimeOf(pin) })).filter(({ at }) => at !== undefined && at <= duration)
        : [];
    const key = JSON.stringify([duration, shown.map(({ pin, at }) => [pin.id, at, this.#title(pin)])]);
    if (key === this.#markersKey) return;
    this.#markersKey = key;
    replaceChildren(this.#markers);
    for (const { pin, at: time } of shown) {
      const at = time!;
      const marker = h('button', {
        type: 'button',
        class: 'marker',
        title: `${this.#title(pin)} · ${formatClock(at)}`,
        'aria-label': `Jump to ${this.#title(pin)}`,
        dataset: { productId: String(pin.payload.productId), cueId: pin.id },
        on: {
          pointerdown: (event) => event.stopPropagation(),
          click: () => this.#jump(pin),
        },
      });
      marker.style.left = `${(at / duration) * 100}%`;
      this.#markers.appendChild(marker);
    }
  }

  /** Only the moments the media holds (a closed live playlist keeps just its last segments). */
  #renderList(): void {
    const entries = this.#pins
      .map((pin) => ({ pin, at: this.#videoTimeOf(pin), card: this.#catalog.get(String(pin.payload.productId)) }))
      .filter(({ at }) => at !== undefined);
    const key = JSON.stringify(entries.map(({ pin, at, card }) => [pin.id, at, card]));
    if (key === this.#listKey) return;
    this.#listKey = key;
    replaceChildren(
      this.#list,
      ...entries.map(({ pin, at, card }) => {
        const image = safeWebUrl(card?.imageUrl);
        return h(
          'li',
          {},
          h(
            'button',
            { type: 'button', dataset: { productId: String(pin.payload.productId), cueId: pin.id }, on: { click: () => this.#jump(pin) } },
            image ? h('img', { src: image, alt: '', referrerPolicy: 'no-referrer' }) : h('span', { class: 'placeholder' }),
            h('span', { text: this.#title(pin) }),
            h('span', { class: 'at', text: formatClock(at!) }),
          ),
        );
      }),
    );
    this.#listRoot.hidden = entries.length === 0;
  }

  #jump(pin: CueMessage): void {
    const at = this.#videoTimeOf(pin);
    if (at === undefined) return;
    // A hair after the cue, so the seek lands on the moment the product is already shown.
    this.seek(at + 0.05);
    void this.#video.play().catch(() => {});
  }
}

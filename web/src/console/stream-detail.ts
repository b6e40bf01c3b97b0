// One stream in the console: how to go live, live status and ingest health, a WebRTC preview, the
// one-click commerce controls (pin, offer, poll, announcement), cue history and recordings.
import { PlaybackUrls } from '../player/playback-urls.ts';
import { WhepSession } from '../player/whep-client.ts';
import { h, replaceChildren } from '../ui/element.ts';
import { formatClock, formatPrice } from '../ui/format.ts';
import { ApiError, type AdminApi, type Cue, type CueState, type Product, type Recording, type StreamAnalytics, type StreamView } from './admin-api.ts';
import { copyField } from './copy-field.ts';
import { SchedulePanel } from './show-schedule.ts';

const POLL_MS = 2000;
/** A private stream's preview and viewer link use a playback token minted for the host, renewed before it runs out. */
const HOST_TOKEN_SECONDS = 3600;

const OBS_SETTINGS: [string, string][] = [
  ['Service', 'Custom… (Server and Stream Key below)'],
  ['Output mode', 'Advanced'],
  ['Encoder', 'x264 (or NVENC H.264)'],
  ['Rate control', 'CBR, 4500–6000 kb/s at 1080p, 2500–4000 kb/s at 720p'],
  ['Keyframe interval', '1 s: WebRTC viewers start at the next keyframe (2 s also works)'],
  ['Tune / profile', 'zerolatency, profile main or high, no B-frames (the WebRTC path is then not re-encoded)'],
  ['Audio', 'AAC, 128–160 kb/s, 48 kHz'],
  ['Resolution', 'up to 1080p (higher is scaled down)'],
];

function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function cueSummary(cue: Cue, products: Map<string, Product>): string {
  const p = cue.payload;
  const product = typeof p.productId === 'string' ? (products.get(p.productId)?.title ?? p.productId) : undefined;
  switch (cue.type) {
    case 'product.pin':
      return `Pinned ${product}`;
    case 'product.unpin':
      return product ? `Unpinned ${product}` : 'Unpinned';
    case 'offer.start': {
      const deal = typeof p.discountPercent === 'number' ? `−${p.discountPercent}%` : typeof p.code === 'string' ? `code ${p.code}` : `price ${p.offerPrice}`;
      return `Offer ${deal} on ${product}${cue.duration ? ` for ${formatClock(cue.duration)}` : ''}${typeof p.quantity === 'number' ? `, ${p.quantity} units` : ''}`;
    }
    case 'offer.end':
      return 'Offer ended';
    case 'poll.open':
      return `Poll: ${String(p.question)}`;
    case 'poll.close':
      return 'Poll closed';
    case 'announcement':
      return `“${String(p.text)}”`;
    default:
      return cue.type;
  }
}

export class StreamDetail {
  readonly element: HTMLElement;
  readonly #api: AdminApi;
  readonly #streamId: string;
  /** The key is returned only by create and rotate; the console keeps it in memory, never in storage. */
  readonly #keys: Map<string, string>;
  readonly #onChange: () => void;
  #stream: StreamView | undefined;
  #products: Product[] = [];
  #state: CueState | undefined;
  #cues: Cue[] = [];
  #analytics: StreamAnalytics | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #preview: WhepSession | undefined;
  #previewStarting = false;
  #hostToken: { token: string; renewAt: number } | undefined;
  #closed = false;

  readonly #header = h('div', { class: 'detail-header' });
  readonly #ingest = h('section', { class: 'panel' });
  readonly #status = h('section', { class: 'panel' });
  readonly #numbers = h('section', { class: 'panel', 'data-testid': 'numbers' });
  readonly #previewVideo = h('video', { muted: true, autoplay: true, playsInline: true, 'data-testid': 'preview' });
  readonly #previewNote = h('p', { class: 'subtle', text: 'The preview starts when the show is live.' });
  readonly #commerce = h('section', { class: 'panel' });
  readonly #history = h('section', { class: 'panel' });
  readonly #recordings = h('section', { class: 'panel', hidden: true });
  readonly #message = h('p', { class: 'message', role: 'status' });
  readonly #schedule: SchedulePanel;

  constructor(api: AdminApi, streamId: string, keys: Map<string, string>, onChange: () => void) {
    this.#api = api;
    this.#streamId = streamId;
    this.#keys = keys;
    this.#onChange = onChange;
    this.#schedule = new SchedulePanel(api, () => onChange());
    this.element = h(
      'div',
      { class: 'detail' },
      this.#header,
      this.#message,
      h(
        'div',
        { class: 'columns' },
        h(
          'div',
          {},
          this.#status,
          this.#numbers,
          h('section', { class: 'panel preview' }, h('h3', { text: 'Preview (WebRTC)' }), this.#previewVideo, this.#previewNote),
          this.#ingest,
        ),
        h('div', {}, this.#commerce, this.#schedule.element, this.#history, this.#recordings),
      ),
    );
    void this.#refresh(true);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    void this.#preview?.close();
  }

  async #refresh(first = false): Promise<void> {
    if (this.#closed) return;
    try {
      const [stream, state, cues, products, analytics] = await Promise.all([
        this.#api.getStream(this.#streamId),
        this.#api.cueState(this.#streamId),
        this.#api.listCues(this.#streamId),
        first || this.#products.length === 0 ? this.#api.listProducts() : Promise.resolve(this.#products),
        // A token without the read scope still runs the show: the numbers just stay hidden.
        this.#api.analytics(this.#streamId).catch(() => undefined),
      ]);
      if (this.#closed) return;
      const statusChanged = this.#stream?.status !== stream.status;
      this.#stream = stream;
      this.#state = state;
      this.#cues = cues;
      this.#products = products;
      this.#analytics = analytics;
      if (stream.private && (!this.#hostToken || Date.now() > this.#hostToken.renewAt)) {
        const { token } = await this.#api.playbackToken(stream.id, HOST_TOKEN_SECONDS);
        this.#hostToken = { token, renewAt: Date.now() + (HOST_TOKEN_SECONDS / 2) * 1000 };
        this.#renderIngest();
      }
      if (first) {
        this.#renderIngest();
        void this.#loadRecordings();
      }
      this.#renderHeader();
      this.#renderStatus();
      this.#renderNumbers();
      this.#renderCommerce();
      this.#renderHistory();
      this.#schedule.update(stream, products);
      this.#updatePreview();
      if (statusChanged && !first) {
        this.#onChange();
        if (stream.status === 'ended') void this.#loadRecordings();
      }
    } catch (error) {
      this.#say(error instanceof Error ? error.message : String(error), true);
    }
    if (!this.#closed) this.#timer = setTimeout(() => void this.#refresh(), POLL_MS);
  }

  #say(text: string, isError = false): void {
    this.#message.textContent = text;
    this.#message.classList.toggle('error', isError);
  }

  /** The viewer page of the stream; a private one's link carries the host's playback token. */
  #watchUrl(): string {
    const stream = this.#stream!;
    const token = stream.private ? this.#hostToken?.token : undefined;
    return new URL(`/watch/${stream.playbackId}${token ? `?token=${encodeURIComponent(token)}` : ''}`, location.href).href;
  }

  #renderHeader(): void {
    const stream = this.#stream!;
    replaceChildren(
      this.#header,
      h('h2', { text: stream.title }),
      h('span', { class: `status status-${stream.status}`, text: stream.status, 'data-testid': 'stream-status' }),
      stream.private && h('span', { class: 'status', text: 'private' }),
      h('a', { class: 'button', href: this.#watchUrl(), target: '_blank', rel: 'noopener', text: 'Open viewer page' }),
    );
  }

  #renderIngest(): void {
    const stream = this.#stream!;
    const key = this.#keys.get(stream.id);
    replaceChildren(
      this.#ingest,
      h('h3', { text: 'Go live' }),
      copyField('RTMP server', stream.ingest.rtmpUrl, { testId: 'rtmp-url' }),
      key
        ? copyField('Stream key', key, { masked: true, testId: 'stream-key' })
        : h(
            'div',
            { class: 'field' },
            h('span', { class: 'label', text: 'Stream key' }),
            h('p', { class: 'subtle', text: 'Shown once when the stream is created. Rotate to get a new key.' }),
          ),
      h('button', { type: 'button', text: 'Rotate key', on: { click: (event) => void this.#rotate(event.currentTarget as HTMLButtonElement) } }),
      copyField('WHIP URL (OBS 30+: Service WHIP, Bearer Token = the stream key)', stream.ingest.whipUrl),
      copyField(stream.private ? 'Viewer page (private: this link carries a 1-hour playback token)' : 'Viewer page', this.#watchUrl()),
      copyField('HLS', stream.playback.hlsUrl),
      h(
        'details',
        {},
        h('summary', { text: 'Recommended OBS settings (lowest latency)' }),
        h('table', { class: 'settings' }, ...OBS_SETTINGS.map(([name, value]) => h('tr', {}, h('th', { text: name }), h('td', { text: value })))),
      ),
    );
  }

  async #rotate(button: HTMLButtonElement): Promise<void> {
    if (!confirm('Rotate the stream key? The old key stops working for new connections at once (a live encoder is not cut off).')) return;
    button.disabled = true;
    try {
      this.#keys.set(this.#streamId, await this.#api.rotateKey(this.#streamId));
      this.#renderIngest();
      this.#say('New stream key: update your encoder.');
    } catch (error) {
      this.#say((error as Error).message, true);
    } finally {
      button.disabled = false;
    }
  }

  #renderStatus(): void {
    const stream = this.#stream!;
    const session = stream.session;
    const rows: [string, string][] = session
      ? [
          ['Encoder', session.encoderConnected ? 'connected' : 'disconnected (waiting for it to come back)'],
          ['On air', formatClock(session.mediaSeconds)],
          ['Reconnects', String(session.reconnects)],
          ['Playable', session.playable ? 'yes' : 'starting…'],
        ]
      : [['Encoder', stream.status === 'ended' ? 'the show has ended' : 'not connected: push to the RTMP server with the stream key']];
    replaceChildren(
      this.#status,
      h('h3', { text: 'Status' }),
      h('table', { class: 'kv', 'data-testid': 'ingest' }, ...rows.map(([name, value]) => h('tr', {}, h('th', { text: name }), h('td', { text: value })))),
      session &&
        session.renditions.length > 0 &&
        h(
          'table',
          { class: 'renditions' },
          h('tr', {}, h('th', { text: 'Rendition' }), h('th', { text: 'Size' }), h('th', { text: 'Bitrate' }), h('th', { text: 'Frame rate' })),
          ...session.renditions.map((r) =>
            h(
              'tr',
              {},
              h('td', { text: `${r.name}${r.passthrough ? ' (passthrough)' : ''}` }),
              h('td', { text: `${r.width}×${r.height}` }),
              h('td', { text: `${Math.round(r.videoBitrate / 1000)} kb/s` }),
              h('td', { text: `${r.frameRate}` }),
            ),
          ),
        ),
    );
  }

  /** Who is watching and how each product does, from the analytics API (refreshed with the rest). */
  #renderNumbers(): void {
    const analytics = this.#analytics;
    this.#numbers.hidden = !analytics;
    if (!analytics) return;
    const viewers = analytics.live.viewers;
    const minute = analytics.perMinute.at(-1);
    const titles = new Map(this.#products.map((product) => [product.id, product.title]));
    const percent = (ratio: number) => `${(ratio * 100).toFixed(1)} %`;
    replaceChildren(
      this.#numbers,
      h('h3', { text: 'Live numbers' }),
      h(
        'table',
        { class: 'kv' },
        h(
          'tr',
          {},
          h('th', { text: 'Watching' }),
          h('td', { 'data-testid': 'viewers', text: `${viewers.total} (WebRTC ${viewers.webrtc}, HLS ${viewers.hls}, replay ${viewers.replay})` }),
        ),
        // The average is over the whole show: shown once it has ended.
        h(
          'tr',
          {},
          h('th', { text: 'Peak' }),
          h('td', {
            text:
              this.#stream?.status === 'ended'
                ? `${analytics.summary.peakViewers} (average ${analytics.summary.averageViewers.toFixed(1)})`
                : String(analytics.summary.peakViewers),
          }),
        ),
        minute &&
          h(
            'tr',
            {},
            h('th', { text: 'This minute' }),
            h('td', { text: `${minute.chat} chat, ${minute.reactions} reactions, ${minute.votes} votes, ${minute.taps} taps, ${minute.claims} claims` }),
          ),
      ),
      analytics.products.length > 0 &&
        h(
          'table',
          { class: 'product-numbers', 'data-testid': 'product-numbers' },
          h(
            'tr',
            {},
            h('th', { text: 'Product' }),
            h('th', { text: 'Views' }),
            h('th', { text: 'Clicks' }),
            h('th', { text: 'Claims' }),
            h('th', { text: 'Conversion' }),
          ),
          ...analytics.products.map((product) =>
            h(
              'tr',
              { dataset: { productId: product.productId } },
              h('td', { text: titles.get(product.productId) ?? product.productId }),
              h('td', { text: String(product.views) }),
              h('td', { text: `${product.clicks} (${percent(product.clickRate)})` }),
              h('td', { text: String(product.claims) }),
              h('td', { text: percent(product.conversion) }),
            ),
          ),
        ),
    );
  }

  #updatePreview(): void {
    const live = this.#stream?.status === 'live' && this.#stream.session?.playable === true;
    if (live && !this.#preview && !this.#previewStarting) void this.#startPreview();
    if (!live && this.#preview) {
      void this.#preview.close();
      this.#preview = undefined;
      this.#previewVideo.srcObject = null;
      this.#previewNote.hidden = false;
    }
  }

  async #startPreview(): Promise<void> {
    this.#previewStarting = true;
    try {
      const stream = this.#stream!;
      const urls = new PlaybackUrls(stream.playbackId, stream.private ? this.#hostToken?.token : undefined);
      const session = await WhepSession.start(urls.whep({ preview: true }), {
        onLost: () => {
          if (this.#preview !== session) return;
          this.#preview = undefined;
          this.#previewNote.hidden = false;
        },
      });
      if (this.#closed) return void session.close();
      this.#preview = session;
      this.#previewVideo.srcObject = session.stream;
      void this.#previewVideo.play().catch(() => {});
      this.#previewNote.hidden = true;
    } catch (error) {
      this.#previewNote.textContent = `Preview unavailable: ${(error as Error).message}`;
    } finally {
      this.#previewStarting = false;
    }
  }

  async #cue(button: HTMLButtonElement, cue: Record<string, unknown>, done: string): Promise<void> {
    button.disabled = true;
    try {
      // One key per click: a retried request cannot place the cue twice.
      await this.#api.placeCue(this.#streamId, { ...cue, idempotencyKey: randomKey() });
      this.#say(done);
      clearTimeout(this.#timer);
      await this.#refresh();
    } catch (error) {
      const message = error instanceof ApiError && error.status === 409 ? 'The stream is not live: cues go on a live show.' : (error as Error).message;
      this.#say(message, true);
    } finally {
      button.disabled = false;
    }
  }

  #renderCommerce(): void {
    // Rebuilding while the host types would drop their input: only the parts without inputs are redrawn.
    if (!this.#commerce.dataset.built) this.#buildCommerce();
    this.#renderCatalogue();
    this.#renderOpenItems();
  }

  readonly #catalogue = h('ul', { class: 'catalogue', 'data-testid': 'catalogue' });
  readonly #openItems = h('div', { class: 'open-items' });
  readonly #discount = h('input', { type: 'number', min: '1', max: '100', value: '20', 'aria-label': 'Discount %' });
  readonly #minutes = h('input', { type: 'number', min: '1', max: '1440', value: '10', 'aria-label': 'Offer minutes' });
  readonly #quantity = h('input', { type: 'number', min: '1', value: '50', 'aria-label': 'Units on offer' });
  readonly #question = h('input', { type: 'text', placeholder: 'Which colour next?', maxLength: 300, 'aria-label': 'Poll question' });
  readonly #options = h('input', { type: 'text', placeholder: 'sand, navy', 'aria-label': 'Poll options, comma separated' });
  readonly #pollSeconds = h('input', { type: 'number', min: '10', value: '60', 'aria-label': 'Poll seconds' });
  readonly #announcement = h('input', { type: 'text', placeholder: 'Free shipping today', maxLength: 500, 'aria-label': 'Announcement' });

  #buildCommerce(): void {
    this.#commerce.dataset.built = '1';
    const openPoll = h('button', { type: 'button', text: 'Open poll' });
    openPoll.addEventListener('click', () => {
      const options = this.#options.value
        .split(',')
        .map((option) => option.trim())
        .filter(Boolean);
      void this.#cue(
        openPoll,
        { type: 'poll.open', question: this.#question.value.trim(), options, durationSeconds: Number(this.#pollSeconds.value) || undefined },
        'Poll opened.',
      );
    });
    const announce = h('button', { type: 'button', text: 'Announce' });
    announce.addEventListener('click', () => void this.#cue(announce, { type: 'announcement', text: this.#announcement.value.trim() }, 'Announced.'));
    const addProduct = this.#productForm();
    replaceChildren(
      this.#commerce,
      h('h3', { text: 'Sell' }),
      this.#openItems,
      h(
        'div',
        { class: 'offer-settings' },
        h('span', { class: 'label', text: 'Offer:' }),
        this.#discount,
        h('span', { text: '% off for' }),
        this.#minutes,
        h('span', { text: 'min,' }),
        this.#quantity,
        h('span', { text: 'units' }),
      ),
      this.#catalogue,
      addProduct,
      h('div', { class: 'inline-form' }, this.#question, this.#options, this.#pollSeconds, openPoll),
      h('div', { class: 'inline-form' }, this.#announcement, announce),
    );
  }

  #productForm(): HTMLElement {
    const sku = h('input', { type: 'text', placeholder: 'SKU', required: true, 'aria-label': 'SKU' });
    const title = h('input', { type: 'text', placeholder: 'Title', required: true, 'aria-label': 'Title' });
    const price = h('input', { type: 'number', step: '0.01', min: '0', placeholder: 'Price', required: true, 'aria-label': 'Price' });
    const currency = h('input', { type: 'text', value: 'EUR', maxLength: 3, 'aria-label': 'Currency', size: 4 });
    const imageUrl = h('input', { type: 'url', placeholder: 'https://… image', 'aria-label': 'Image URL' });
    const productUrl = h('input', { type: 'url', placeholder: 'https://… product page', 'aria-label': 'Product URL' });
    const form = h('form', { class: 'product-form' }, sku, title, price, currency, imageUrl, productUrl, h('button', { type: 'submit', text: 'Add product' }));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        await this.#api.createProduct({
          sku: sku.value.trim(),
          title: title.value.trim(),
          price: Number(price.value),
          currency: currency.value.trim().toUpperCase(),
          ...(imageUrl.value ? { imageUrl: imageUrl.value } : {}),
          ...(productUrl.value ? { productUrl: productUrl.value } : {}),
        });
        form.reset();
        currency.value = 'EUR';
        this.#products = await this.#api.listProducts();
        this.#renderCatalogue();
        this.#say('Product added.');
      } catch (error) {
        this.#say((error as Error).message, true);
      }
    });
    return h('details', {}, h('summary', { text: 'Add a product to the catalogue' }), form);
  }

  #renderCatalogue(): void {
    const pinned = this.#state?.pinnedProduct?.productId;
    const offered = this.#state?.offer?.productId;
    replaceChildren(
      this.#catalogue,
      ...this.#products.map((product) => {
        const isPinned = product.id === pinned;
        const pin = h('button', {
          type: 'button',
          class: isPinned ? '' : 'primary',
          text: isPinned ? 'Unpin' : 'Pin',
          dataset: { action: isPinned ? 'unpin' : 'pin' },
        });
        pin.addEventListener(
          'click',
          () =>
            void this.#cue(
              pin,
              isPinned ? { type: 'product.unpin', productId: product.id } : { type: 'product.pin', productId: product.id },
              isPinned ? `Unpinned ${product.title}.` : `Pinned ${product.title}.`,
            ),
        );
        const offer = h('button', { type: 'button', text: product.id === offered ? 'End offer' : 'Start offer', dataset: { action: 'offer' } });
        offer.addEventListener('click', () => {
          if (product.id === offered) return void this.#cue(offer, { type: 'offer.end', productId: product.id }, 'Offer ended.');
          const minutes = Number(this.#minutes.value);
          const deadline = new Date(Date.now() + minutes * 60_000).toISOString();
          void this.#cue(
            offer,
            {
              type: 'offer.start',
              productId: product.id,
              discountPercent: Number(this.#discount.value),
              deadline,
              ...(Number(this.#quantity.value) > 0 ? { quantity: Number(this.#quantity.value) } : {}),
            },
            `Offer started on ${product.title}.`,
          );
        });
        return h(
          'li',
          { class: isPinned ? 'pinned' : '', dataset: { productId: product.id } },
          h(
            'div',
            { class: 'product' },
            h('strong', { text: product.title }),
            h('span', {
              class: 'subtle',
              text: ` ${product.sku} · ${formatPrice(product.price, product.currency)}${product.inventory != null ? ` · ${product.inventory} in stock` : ''}`,
            }),
          ),
          h('div', { class: 'actions' }, pin, offer),
        );
      }),
      this.#products.length === 0 && h('li', { class: 'subtle', text: 'The catalogue is empty: add a product below.' }),
    );
  }

  #renderOpenItems(): void {
    const state = this.#state;
    const productTitle = (id: unknown) => this.#products.find((product) => product.id === id)?.title ?? String(id);
    const items: HTMLElement[] = [];
    if (state?.pinnedProduct) items.push(h('div', { class: 'open pinned', text: `Pinned: ${productTitle(state.pinnedProduct.productId)}` }));
    if (state?.offer) {
      items.push(
        h('div', {
          class: 'open offer',
          text: `Offer on ${productTitle(state.offer.productId)}${state.offer.secondsLeft !== null ? ` · ${formatClock(state.offer.secondsLeft)} left` : ''}`,
        }),
      );
    }
    if (state?.poll) {
      const close = h('button', { type: 'button', class: 'small', text: 'Close poll' });
      const pollId = state.poll.pollId;
      close.addEventListener('click', () => void this.#cue(close, { type: 'poll.close', pollId }, 'Poll closed.'));
      items.push(h('div', { class: 'open poll' }, `Poll: ${String(state.poll.question ?? '')} `, close));
    }
    if (items.length === 0) items.push(h('div', { class: 'subtle', text: 'Nothing pinned, no offer or poll open.' }));
    replaceChildren(this.#openItems, ...items);
  }

  #renderHistory(): void {
    const products = new Map(this.#products.map((product) => [product.id, product]));
    replaceChildren(
      this.#history,
      h('h3', { text: 'Cue history' }),
      this.#cues.length === 0
        ? h('p', { class: 'subtle', text: 'No cues yet.' })
        : h(
            'table',
            { class: 'history', 'data-testid': 'cue-history' },
            h('tr', {}, h('th', { text: '#' }), h('th', { text: 'At' }), h('th', { text: 'Cue' })),
            ...[...this.#cues]
              .reverse()
              .slice(0, 50)
              .map((cue) =>
                h(
                  'tr',
                  { dataset: { type: cue.type } },
                  h('td', { text: String(cue.seq) }),
                  h('td', { text: formatClock(cue.mediaTime), title: cue.wallClock }),
                  h('td', { text: cueSummary(cue, products) }),
                ),
              ),
          ),
    );
  }

  async #loadRecordings(): Promise<void> {
    let recordings: Recording[];
    try {
      recordings = await this.#api.listRecordings(this.#streamId);
    } catch {
      return; // A livecue without recordings: the section stays hidden.
    }
    const stream = this.#stream!;
    this.#recordings.hidden = false;
    replaceChildren(
      this.#recordings,
      h('h3', { text: 'Recordings' }),
      recordings.length === 0
        ? h('p', { class: 'subtle', text: 'No recording yet: one is made when a show ends.' })
        : h(
            'ul',
            { class: 'recordings' },
            ...recordings.map((recording) =>
              h(
                'li',
                {},
                h('span', {
                  text: `${new Date(recording.createdAt).toLocaleString()} · ${recording.status}${recording.durationSeconds !== null ? ` · ${formatClock(recording.durationSeconds)}` : ''}`,
                }),
                recording.status === 'ready' &&
                  h('a', { href: `${this.#watchUrl()}${stream.private ? '&' : '?'}replay=1`, target: '_blank', rel: 'noopener', text: ' Replay' }),
              ),
            ),
          ),
    );
  }
}

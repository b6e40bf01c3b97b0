// The clip page (/clip/<id>): the clip plays (HLS through the viewer page's player, cues from its
// DATERANGEs on the clip's own time) beside the product it sold, its buy link and the offer that ran; the
// cues inside it light up as the video reaches them. Embeddable in a shop's page.
import type { CueMessage } from '../player/cue-scheduler.ts';
import { PlaybackUrls } from '../player/playback-urls.ts';
import { byId, h, replaceChildren } from '../ui/element.ts';
import { formatClock, formatPrice } from '../ui/format.ts';
import { HlsPlayback } from '../watch/hls-playback.ts';
import { fetchClip, type PublicClip } from './clip-data.ts';

const TICK_MS = 250;

function describeCue(cue: CueMessage, clip: PublicClip): string {
  const payload = cue.payload;
  switch (cue.type) {
    case 'product.pin':
      return payload.productId === clip.product?.id ? `${clip.product?.title ?? 'Product'} pinned` : 'Product pinned';
    case 'product.unpin':
      return 'Product unpinned';
    case 'offer.start':
      return `Offer: ${offerText(cue)}`;
    case 'offer.end':
      return 'Offer ended';
    case 'poll.open':
      return `Poll: ${String(payload.question ?? '')}`;
    case 'poll.close':
      return 'Poll closed';
    case 'announcement':
      return String(payload.text ?? '');
    default:
      return cue.type;
  }
}

function offerText(offer: CueMessage): string {
  const payload = offer.payload;
  if (typeof payload.discountPercent === 'number') return `${payload.discountPercent}% off`;
  if (typeof payload.code === 'string') return `code ${payload.code}`;
  if (typeof payload.offerPrice === 'number') return `now ${payload.offerPrice}`;
  return 'special offer';
}

function renderCommerce(clip: PublicClip): void {
  byId('title').textContent = clip.title;
  const product = clip.product;
  replaceChildren(
    byId('product'),
    product
      ? h(
          'article',
          { class: 'clip-card', dataset: { productId: product.id } },
          product.imageUrl ? h('img', { src: product.imageUrl, alt: '' }) : null,
          h('strong', { text: product.title }),
          h('span', { class: 'price', text: formatPrice(product.price, product.currency) }),
          product.productUrl ? h('a', { class: 'button primary', href: product.productUrl, target: '_blank', rel: 'noopener', text: 'Buy now' }) : null,
        )
      : null,
  );
  replaceChildren(byId('offer'), clip.offer ? h('p', { class: 'clip-offer', text: offerText(clip.offer) }) : null);
  replaceChildren(
    byId('moments'),
    ...clip.cues.map((cue) =>
      h('li', { dataset: { cueId: cue.id, passed: 'false' } }, h('time', { text: `${formatClock(cue.mediaTime)} ` }), describeCue(cue, clip)),
    ),
  );
}

async function start(): Promise<void> {
  const id = decodeURIComponent(location.pathname.split('/').filter(Boolean).at(-1) ?? '');
  const token = new URLSearchParams(location.search).get('token') ?? undefined;
  const status = byId('status');
  const found = await fetchClip(id, token);
  if (found.kind !== 'ready') {
    status.textContent = found.kind === 'forbidden' ? 'This clip is private.' : 'This clip is not available.';
    return;
  }
  const { clip } = found;
  document.body.dataset.aspect = clip.aspect;
  renderCommerce(clip);
  const video = byId<HTMLVideoElement>('video');
  // Media play from this page's origin, or the CDN's when livecue runs behind one (as the viewer page does).
  const playbackId = /\/hls\/([A-Za-z0-9]+)\//.exec(new URL(clip.hlsUrl, location.href).pathname)?.[1] ?? '';
  const hlsBase = document.querySelector<HTMLMetaElement>('meta[name="livecue-hls-base"]')?.content || undefined;
  const urls = new PlaybackUrls(playbackId, token, hlsBase);
  const hlsUrl = urls.mediaUrl(clip.hlsUrl);
  if (!hlsUrl) {
    status.textContent = 'This clip is not available.';
    return;
  }
  const recording = {
    id: clip.id,
    durationSeconds: clip.durationSeconds,
    hlsUrl,
    posterUrl: urls.mediaUrl(clip.posterUrl),
    thumbnailsVttUrl: undefined,
    cues: clip.cues,
  };
  const playback = await HlsPlayback.start(
    video,
    urls,
    { replay: true, recording },
    {
      onCues: () => {},
      onEnded: () => {},
      onFatal: (message) => (status.textContent = message),
    },
  );
  const announcement = byId('announcement');
  playback.scheduler.on('cue', (cue) => {
    byId('moments').querySelector(`[data-cue-id="${cue.id}"]`)?.setAttribute('data-passed', 'true');
    if (cue.type === 'announcement') {
      announcement.textContent = String(cue.payload.text ?? '');
      announcement.hidden = false;
    }
  });
  // A loop or a seek back starts the moments over.
  video.addEventListener('seeking', () => {
    playback.scheduler.seek();
    for (const item of byId('moments').querySelectorAll('li')) item.setAttribute('data-passed', 'false');
    announcement.hidden = true;
  });
  setInterval(() => playback.scheduler.tick(), TICK_MS);
  document.body.dataset.ready = 'true';
}

void start();

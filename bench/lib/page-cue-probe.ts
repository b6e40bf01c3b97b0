// Watches the viewer page in the browser as a shopper would: each time a commerce card appears (pinned product,
// offer, poll), the capture time stamped in the frame on screen at that moment (lib/frame-clock.ts's band, read
// from a canvas). Plain JavaScript in a string, so nothing the TypeScript runner adds leaks into the page.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { COLUMNS, ROWS } from './frame-clock.ts';

/** One card as it appeared: its key (`pin:<productId>`, `offer:<offerId>`, `poll:<pollId>`), the frame's stamp, when. */
export interface CardShown {
  key: string;
  /** Capture time (ms since the epoch) stamped in the frame on screen; null when unreadable. */
  stamp: number | null;
  /** Date.now() in the page. */
  at: number;
}

/**
 * Defines window.__stampOnScreen(): the capture time stamped in the frame the page's <video> shows now, read from a
 * canvas as lib/frame-clock.ts reads it (null when there is no picture or the stamp fails its CRC).
 */
export const PAGE_STAMP_READER = `(() => {
  const COLUMNS = ${COLUMNS}, CELLS = ${COLUMNS * ROWS}, ROW_FRACTION = 1 / 12;
  const crc8 = (bytes) => {
    let crc = 0;
    for (const byte of bytes) {
      crc ^= byte;
      for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
    }
    return crc;
  };
  let canvas, context;
  window.__stampOnScreen = () => {
    const video = document.querySelector('video');
    const w = video?.videoWidth, h = video?.videoHeight;
    if (!w || !h) return null;
    const band = Math.round(${ROWS} * h * ROW_FRACTION);
    canvas ??= document.createElement('canvas');
    if (canvas.width !== w || canvas.height !== band) { canvas.width = w; canvas.height = band; context = undefined; }
    context ??= canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(video, 0, 0, w, band, 0, 0, w, band);
    const pixels = context.getImageData(0, 0, w, band).data;
    const level = (index) => {
      const column = index % COLUMNS, row = Math.floor(index / COLUMNS);
      const x0 = Math.round((column * w) / COLUMNS), x1 = Math.round(((column + 1) * w) / COLUMNS);
      const y0 = Math.round(row * h * ROW_FRACTION), y1 = Math.round((row + 1) * h * ROW_FRACTION);
      const mx = (x1 - x0) / 4, my = (y1 - y0) / 4;
      let sum = 0, count = 0;
      for (let y = Math.round(y0 + my); y < Math.round(y1 - my); y++)
        for (let x = Math.round(x0 + mx); x < Math.round(x1 - mx); x++) {
          const i = (y * w + x) * 4;
          sum += (pixels[i] + pixels[i + 1] + pixels[i + 2]) / 3;
          count++;
        }
      return count ? sum / count : 0;
    };
    const levels = Array.from({ length: CELLS }, (_, i) => level(i));
    const white = Math.min(levels[0], levels[CELLS - 1]), black = Math.max(levels[1], levels[CELLS - 2]);
    if (white - black < 60) return null;
    const threshold = (white + black) / 2;
    const bytes = [];
    for (let byte = 0; byte < 7; byte++) {
      let value = 0;
      for (let bit = 0; bit < 8; bit++) value = (value << 1) | (levels[2 + byte * 8 + bit] > threshold ? 1 : 0);
      bytes.push(value);
    }
    if (crc8(bytes.slice(0, 6)) !== bytes[6]) return null;
    return bytes.slice(0, 6).reduce((ms, byte) => ms * 256 + byte, 0);
  };
})();`;

/** Runs in the page before its own scripts (page.addInitScript); exposes window.__cardsShown and window.__stampOnScreen(). */
export const PAGE_CUE_PROBE = `${PAGE_STAMP_READER}
(() => {
  window.__cardsShown = [];
  const keys = () => {
    const found = [];
    const card = document.querySelector('[data-testid=product-card]');
    if (card?.dataset.productId) found.push('pin:' + card.dataset.productId);
    const offer = document.querySelector('[data-testid=offer]');
    if (offer?.dataset.offerId) found.push('offer:' + offer.dataset.offerId);
    const poll = document.querySelector('[data-testid=poll]');
    if (poll?.dataset.pollId) found.push('poll:' + poll.dataset.pollId);
    return found;
  };
  let showing = new Set();
  const look = () => {
    const now = new Set(keys());
    for (const key of now) if (!showing.has(key)) window.__cardsShown.push({ key, stamp: window.__stampOnScreen(), at: Date.now() });
    showing = now;
  };
  const observe = () => {
    for (const id of ['product', 'offer', 'poll']) {
      const element = document.getElementById(id);
      if (element) new MutationObserver(look).observe(element, { childList: true, subtree: true, attributes: true });
    }
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', observe, { once: true });
  else observe();
})()`;

/** The cards the page has shown so far. */
export const cardsShown = (page: Page): Promise<CardShown[]> => page.evaluate(() => (window as unknown as { __cardsShown: CardShown[] }).__cardsShown);

/** The stamp of the frame the page's video shows now (null when none or unreadable). */
export const stampOnScreen = (page: Page): Promise<number | null> =>
  page.evaluate(() => (window as unknown as { __stampOnScreen(): number | null }).__stampOnScreen());

/**
 * Matches each placed cue to the card it brought up: the first appearance of its key after the previous cue's card,
 * so a product pinned twice is matched in order.
 */
export function matchCards<C extends { key: string }>(placed: C[], shown: CardShown[]): Map<C, CardShown> {
  const matched = new Map<C, CardShown>();
  let from = 0;
  for (const cue of placed) {
    const index = shown.findIndex((card, i) => i >= from && card.key === cue.key);
    if (index < 0) continue;
    matched.set(cue, shown[index]!);
    from = index + 1;
  }
  return matched;
}

export type ViewerPath = 'webrtc' | 'hls' | 'replay';

/** Opens the viewer page in a fresh context with the probe, and waits until it plays `path` with stamped frames on screen. */
export async function openViewer(browser: Browser, url: string, path: ViewerPath, timeoutMs = 60_000): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  // Product pictures are the shop's: nothing leaves the machine.
  await context.route('https://shop.example.com/**', (route) => route.fulfill({ status: 404, body: '' }));
  await context.addInitScript(PAGE_CUE_PROBE);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[${path} page error] ${error.message}`));
  await page.goto(url);
  const deadline = Date.now() + timeoutMs;
  while ((await page.evaluate(() => (window as unknown as { livecueViewer?: { path?: string } }).livecueViewer?.path)) !== path) {
    if (Date.now() > deadline) throw new Error(`the ${path} page did not start playing`);
    await sleep(200);
  }
  while ((await stampOnScreen(page)) === null) {
    if (Date.now() > deadline) throw new Error(`the ${path} page shows no stamped frame`);
    await sleep(200);
  }
  return page;
}

/** Waits until every placed cue's card has appeared on the page (or `timeoutMs`), and returns those matched. */
export async function waitForCards<C extends { key: string }>(page: Page, placed: C[], timeoutMs: number): Promise<Map<C, CardShown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const matched = matchCards(placed, await cardsShown(page));
    if (matched.size === placed.length || Date.now() > deadline) return matched;
    await sleep(500);
  }
}

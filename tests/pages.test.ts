// The viewer page and the host console in a real browser: Debian's chromium driven by playwright-core
// against a real livecue node. The pushed video carries its frame number as a 12-bit barcode, so the
// test reads which frame is on screen and measures how late a pinned product appears against it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pagesRouter } from '../src/api/pages.ts';
import { launchChromium, requireChromiumAndPages } from './helpers/chromium.ts';
import { aacArgs, QUIET_FFMPEG, testPatternInputs, x264Args } from './helpers/encoder-args.ts';
import { sleep, startTestNode, type TestNode, waitFor, waitForText } from './helpers/harness.ts';
import { playableFirstSegment } from './helpers/media.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const OUTPUT = path.join(ROOT, 'test-output');
const SCREENSHOTS = path.join(ROOT, 'docs', 'screenshots');
const FPS = 30;
/** The barcode: 12 white-or-black squares on a black strip at the top of a 640×360 picture. */
const CODE_BITS = 12;
const codeSquare = (bit: number) => ({ x: 8 + bit * 40, y: 4, size: 32 });

let node: TestNode;
let browser: Browser;
let productImage: Buffer;
const measurements: Record<string, unknown> = {};

interface Stream {
  id: string;
  playbackId: string;
  ingest: { rtmpUrl: string; streamKey: string };
  playback: { hlsUrl: string; whepUrl: string };
}

/** testsrc2 at 640×360/30 fps with the frame number drawn as a barcode; x264 without B-frames, 1 s GOP (WebRTC passes it through). */
function pushFrameCoded(url: string, seconds: number): { process: ChildProcess; exited: Promise<number | null>; stop(): void } {
  const filters = [`testsrc2=size=640x360:rate=${FPS}`, 'drawbox=x=0:y=0:w=488:h=40:color=black:t=fill'];
  for (let bit = 0; bit < CODE_BITS; bit++) {
    const { x, y, size } = codeSquare(bit);
    filters.push(`drawbox=x=${x}:y=${y}:w=${size}:h=${size}:color=white:t=fill:enable='mod(floor(n/${2 ** bit}),2)'`);
  }
  // An average bitrate without the VBV cap, as this push has always had.
  const args = [...QUIET_FFMPEG, ...testPatternInputs({ pattern: filters.join(',') }), '-t', String(seconds), ...x264Args({}, FPS), '-b:v', '1500k'];
  args.push(...aacArgs(), '-f', 'flv', url);
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return {
    process: child,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    stop: () => child.kill('SIGKILL'),
  };
}

/** Reads the barcode from an 8-bit grey picture. */
function frameNumberOf(gray: Buffer, width: number, height: number): number {
  let frame = 0;
  for (let bit = 0; bit < CODE_BITS; bit++) {
    const { x, y, size } = codeSquare(bit);
    const px = Math.round(((x + size / 2) * width) / 640);
    const py = Math.round(((y + size / 2) * height) / 360);
    if (gray[py * width + px]! > 128) frame |= 1 << bit;
  }
  return frame;
}

/** The frame number at media time 0: the first frame of the show's first HLS segment. */
async function firstFrameOfShow(stream: Stream): Promise<number> {
  const playlistUrl = stream.playback.hlsUrl.replace('master.m3u8', '360p/index.m3u8');
  const playlist = await waitForText('360p playlist', playlistUrl, 20_000);
  expect(playlist).toContain('#EXT-X-MEDIA-SEQUENCE:0');
  const { stdout } = await run(
    'ffmpeg',
    ['-v', 'error', '-i', await playableFirstSegment(playlistUrl), '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
    {
      encoding: 'buffer',
      maxBuffer: 4 * 1024 * 1024,
    },
  );
  return frameNumberOf(stdout, 640, 360);
}

/** In the page: the frame number of the picture the video element shows now (-1 before the first frame). */
const READ_FRAME_IN_PAGE = `(() => {
  window.__frameOnScreen = () => {
    const video = document.querySelector('video');
    const w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return -1;
    const canvas = window.__frameCanvas ??= document.createElement('canvas');
    canvas.width = w; canvas.height = h;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(video, 0, 0, w, h);
    let frame = 0;
    for (let bit = 0; bit < ${CODE_BITS}; bit++) {
      const x = Math.round((8 + bit * 40 + 16) * w / 640), y = Math.round(20 * h / 360);
      const [r, g, b] = context.getImageData(x, y, 1, 1).data;
      if ((r + g + b) / 3 > 128) frame |= 1 << bit;
    }
    return frame;
  };
  // WebRTC: when each frame reached the browser (receiveTime, on the epoch clock livecue's cues use too).
  window.__framesReceived = [];
  const video = document.querySelector('video');
  const onFrame = (_now, metadata) => {
    if (metadata.receiveTime !== undefined) {
      window.__framesReceived.push({ frame: window.__frameOnScreen(), receivedAt: performance.timeOrigin + metadata.receiveTime });
      if (window.__framesReceived.length > 900) window.__framesReceived.shift();
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  // The frame on screen when each product card is put on the page (before the paint that shows it).
  window.__cardsShown = [];
  new MutationObserver(() => {
    const card = document.querySelector('[data-testid=product-card]');
    const id = card?.dataset.productId;
    if (id && window.__cardsShown.at(-1)?.productId !== id) {
      window.__cardsShown.push({ productId: id, frame: window.__frameOnScreen(), at: Date.now() });
    }
  }).observe(document.getElementById('product'), { childList: true, subtree: true });
})()`;

async function openViewer(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  page.on('console', (message) => {
    // WHEP's 404 (not live) and 403 (private, no token) are expected; anything else is worth seeing.
    if (message.type() === 'error' && !/\b40[34]\b/.test(message.text())) console.error(`[page console] ${message.text()}`);
  });
  await page.goto(url);
  await page.evaluate(READ_FRAME_IN_PAGE);
  return page;
}

async function newContext(viewport = { width: 390, height: 844 }): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  // Product pictures are the shop's (https:); the test answers for the shop, nothing leaves the machine.
  await context.route('https://shop.example.com/**', (route) => route.fulfill({ status: 200, contentType: 'image/png', body: productImage }));
  // Whatever the Content-Security-Policy blocks (a socket, a worker, a media source) is recorded for the test to see.
  await context.addInitScript(() => {
    (window as any).__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => (window as any).__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`));
    // And which WebSockets opened (the HLS path's cue socket).
    (window as any).__socketsOpened = [];
    const NativeWebSocket = window.WebSocket;
    window.WebSocket = class extends NativeWebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        this.addEventListener('open', () => (window as any).__socketsOpened.push(String(url)));
      }
    };
  });
  return context;
}

async function videoProgress(page: Page, ms: number) {
  const read = () =>
    page.evaluate(() => {
      const video = document.querySelector('video')!;
      return { time: video.currentTime, frames: video.getVideoPlaybackQuality().totalVideoFrames, width: video.videoWidth };
    });
  const before = await read();
  await sleep(ms);
  const after = await read();
  return { before, after };
}

const cspViolations = (page: Page): Promise<string[]> => page.evaluate(() => (window as any).__cspViolations);

async function screenshot(page: Page, name: string, docsName?: string): Promise<void> {
  const file = path.join(OUTPUT, name);
  await page.screenshot({ path: file, animations: 'disabled' });
  // docs/screenshots (the README's pictures) change only when asked: LIVECUE_UPDATE_SCREENSHOTS=1.
  if (docsName && process.env.LIVECUE_UPDATE_SCREENSHOTS) await copyFile(file, path.join(SCREENSHOTS, docsName));
}

async function createStream(title: string): Promise<Stream> {
  const { status, body } = await node.api('POST', '/v1/streams', { title });
  expect(status).toBe(201);
  return body as Stream;
}

async function createProduct(sku: string, title: string, price: number) {
  const { status, body } = await node.api('POST', '/v1/products', {
    sku,
    title,
    price,
    currency: 'EUR',
    imageUrl: `https://shop.example.com/${sku.toLowerCase()}.png`,
    productUrl: `https://shop.example.com/p/${sku.toLowerCase()}`,
    inventory: 120,
  });
  expect(status).toBe(201);
  return body as { id: string; title: string };
}

async function pin(stream: Stream, productId: string) {
  const placed = await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'product.pin', productId });
  expect(placed.status).toBe(201);
  return placed.body as { id: string; mediaTime: number; wallClock: string };
}

const cardsShownSoFar = (page: Page): Promise<number> => page.evaluate(() => (window as any).__cardsShown.length);

interface Lateness {
  /** Seconds between the frame on screen when the card appeared and the cue's frame on the show's timeline (HLS, replay). */
  vsTimeline: number;
  /** WebRTC: seconds between the frame on screen when the card appeared and the frame the browser received at the cue's instant. */
  vsArrival?: number;
}

/** Waits for the page to show the product (as a card change after the first `shownBefore`), then measures how late it came against the video. */
async function cardLateness(
  page: Page,
  productId: string,
  cue: { mediaTime: number; wallClock: string },
  firstFrame: number,
  shownBefore: number,
): Promise<Lateness> {
  const shown = await waitFor(
    `product card ${productId}`,
    () =>
      page.evaluate(([id, from]) => (window as any).__cardsShown.slice(from).find((entry: { productId: string }) => entry.productId === id), [
        productId,
        shownBefore,
      ] as const),
    20_000,
    50,
  );
  expect(shown.frame).toBeGreaterThanOrEqual(0);
  const lateness: Lateness = { vsTimeline: (shown.frame - firstFrame) / FPS - cue.mediaTime };
  // The browser may not have received the frame of the cue's instant yet when the card shows.
  const atCue = await waitFor(
    'a frame received at the cue instant',
    async () => {
      const received: { frame: number; receivedAt: number }[] = await page.evaluate(() => (window as any).__framesReceived);
      return received.find((entry) => entry.receivedAt >= Date.parse(cue.wallClock));
    },
    5000,
    50,
  ).catch(() => undefined);
  if (atCue) lateness.vsArrival = (shown.frame - atCue.frame) / FPS;
  return lateness;
}

beforeAll(async () => {
  requireChromiumAndPages();
  await mkdir(OUTPUT, { recursive: true });
  if (process.env.LIVECUE_UPDATE_SCREENSHOTS) await mkdir(SCREENSHOTS, { recursive: true });
  productImage = (
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'gradients=size=192x192:seed=7', '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', 'pipe:1'], {
      encoding: 'buffer',
    })
  ).stdout;
  // A short reconnect window: an ended show is over (and its recording built) a moment after its encoder leaves.
  node = await startTestNode({ RECONNECT_WINDOW_SECONDS: 1 });
  browser = await launchChromium(['--use-fake-ui-for-media-stream']);
});

afterAll(async () => {
  await browser?.close();
  await node?.stop();
  if (Object.keys(measurements).length > 0) console.log(`pages measurements: ${JSON.stringify(measurements, null, 2)}`);
});

/** A viewer socket's URL as "<url without query> as <viewer id>": the page identifies with the token livecue issued it. */
function socketViewer(url: string): string {
  const parsed = new URL(url);
  const token = parsed.searchParams.get('viewerToken') ?? '';
  const claims = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString() || '{}') as { sub?: string };
  return `${parsed.origin}${parsed.pathname} as ${claims.sub}`;
}

describe('pages', () => {
  it('serves the pages with security headers, the assets with a long cache, and 404 for impossible ids', async () => {
    const page = await fetch(`${node.baseUrl}/watch/abcdefgh1234`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("media-src 'self' blob:");
    expect(csp).toContain("img-src 'self' https:");
    const html = await page.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const script = await fetch(`${node.baseUrl}${asset}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3)/); // nothing from a CDN
    const console = await fetch(`${node.baseUrl}/console`);
    expect(console.headers.get('x-frame-options')).toBe('DENY');
    expect(console.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect((await fetch(`${node.baseUrl}/watch/..%2F..`)).status).toBe(404);
    expect((await fetch(`${node.baseUrl}/assets/nope.js`)).status).toBe(404);
  });

  it('answers 503 with a clear page when the bundle was not built', async () => {
    const app = express().use(pagesRouter({ webRoot: path.join(OUTPUT, 'no-such-build') }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/console`);
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toContain('text/html');
      expect(await response.text()).toContain('npm run build:web');
    } finally {
      server.close();
    }
  });
});

describe('viewer page', () => {
  let stream: Stream;
  let push: ReturnType<typeof pushFrameCoded>;
  let firstFrame: number;
  let shirt: { id: string; title: string };
  let bag: { id: string; title: string };
  let context: BrowserContext;
  let livePage: Page | undefined;
  /** Every product pinned during the show, in order, for the replay's markers. */
  const showPins: { cue: { id: string; mediaTime: number; wallClock: string }; product: { id: string; title: string } }[] = [];

  beforeAll(async () => {
    shirt = await createProduct('SHIRT-1', 'Linen shirt', 49.9);
    bag = await createProduct('BAG-1', 'Canvas tote bag', 29);
    stream = await createStream('Spring collection launch');
    push = pushFrameCoded(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, 120);
    await waitFor('playable', async () => (await node.api('GET', `/v1/streams/${stream.id}`)).body.session?.playable === true, 20_000);
    firstFrame = await firstFrameOfShow(stream);
    context = await newContext();
  });

  afterAll(async () => {
    push?.stop();
    await context?.close();
  });

  it('plays a live RTMP show over WebRTC and shows a pinned product in sync with the picture', async () => {
    const opened = Date.now();
    const page = await openViewer(context, `${node.baseUrl}/watch/${stream.playbackId}`);
    await page.waitForSelector('body[data-path="webrtc"]', { timeout: 15_000 });
    await page.waitForFunction(() => document.querySelector('video')!.getVideoPlaybackQuality().totalVideoFrames > 0, undefined, { timeout: 10_000 });
    measurements.webrtcFirstFrameMs = Date.now() - opened;
    expect(await page.textContent('[data-testid=path]')).toBe('WebRTC');

    const { before, after } = await videoProgress(page, 1500);
    expect(after.time - before.time).toBeGreaterThan(1);
    expect(after.frames - before.frames).toBeGreaterThan(30);
    expect(after.width).toBe(640);
    // The barcode reads as a running frame counter: the test can tell which frame is on screen.
    const a = await page.evaluate(() => (window as any).__frameOnScreen());
    await sleep(1000);
    const b = await page.evaluate(() => (window as any).__frameOnScreen());
    expect(b - a).toBeGreaterThan(20);
    expect(b - a).toBeLessThan(40);

    // End-to-end latency: the frame on screen against the instant livecue had it (cue clock), and the page's own estimate.
    const anchor = await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'announcement', text: 'Welcome to the spring launch' });
    const sample = await page.evaluate(() => ({
      frame: (window as any).__frameOnScreen(),
      at: Date.now(),
      estimate: (window as any).livecueViewer.latencySeconds(),
    }));
    const frameWallClock = Date.parse(anchor.body.wallClock) + ((sample.frame - firstFrame) / FPS - anchor.body.mediaTime) * 1000;
    measurements.webrtcLatencyMeasuredMs = Math.round(sample.at - frameWallClock);
    measurements.webrtcLatencyEstimatedMs = Math.round(sample.estimate * 1000);
    measurements.webrtcLatencyBasis = await page.evaluate(() => (window as any).livecueViewer.latencyBasis);
    await page.waitForSelector('[data-testid=latency]:not([hidden])');
    expect(await page.textContent('[data-testid=latency]')).toMatch(/latency \d+ ms/);

    const lateness: Lateness[] = [];
    for (const product of [shirt, bag, shirt]) {
      const shownBefore = await cardsShownSoFar(page);
      const cue = await pin(stream, product.id);
      showPins.push({ cue, product });
      lateness.push(await cardLateness(page, product.id, cue, firstFrame, shownBefore));
      await sleep(700);
    }
    measurements.webrtcCardLatenessVsTimelineMs = lateness.map((late) => Math.round(late.vsTimeline * 1000));
    measurements.webrtcCardLatenessVsArrivalMs = lateness.map((late) => Math.round(late.vsArrival! * 1000));
    const card = page.locator('[data-testid=product-card]');
    await expect.poll(() => card.locator('h2').textContent()).toBe('Linen shirt');
    expect(await card.locator('a.buy').getAttribute('href')).toBe('https://shop.example.com/p/shirt-1');
    expect(await card.locator('.price').textContent()).toContain('49.90');

    // An offer with a countdown and the units on offer, and a poll, reach the page.
    expect(
      (
        await node.api('POST', `/v1/streams/${stream.id}/cues`, {
          type: 'offer.start',
          productId: shirt.id,
          discountPercent: 20,
          durationSeconds: 600,
          quantity: 50,
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await node.api('POST', `/v1/streams/${stream.id}/cues`, {
          type: 'poll.open',
          question: 'Which colour next?',
          options: ['Sand', 'Navy'],
          durationSeconds: 120,
        })
      ).status,
    ).toBe(201);
    await page.waitForSelector('[data-testid=offer]');
    await page.waitForSelector('[data-testid=poll]');
    expect(await page.textContent('[data-testid=offer]')).toContain('Only 50 available');
    expect(await page.textContent('[data-testid=offer-countdown]')).toMatch(/^(10:00|9:\d\d)$/);
    expect(await card.locator('.price').textContent()).toContain('39.92');
    await page.waitForFunction(() => document.querySelector('img')?.complete);
    expect(await cspViolations(page)).toEqual([]);
    await screenshot(page, 'viewer-webrtc.png', 'viewer.png');
    livePage = page; // stays open: when the show ends, it turns into the replay by itself

    // The page shows each card with the cue's own frame: the frame's RTP timestamp, mapped by livecue's clock
    // messages, is its place on the show's timeline (a frame or two of slack for a loaded machine). Against what
    // the browser was receiving at the cue's wallClock it differs by the WebRTC delay and by the offset of the
    // timeline's anchor from the frames' arrival (bench/README.md, cue-sync.ts), which load can stretch.
    for (const late of lateness) {
      expect(Math.abs(late.vsTimeline)).toBeLessThan(0.15);
      expect(Math.abs(late.vsArrival!)).toBeLessThan(1);
    }
  });

  it('falls back to HLS when WHEP fails, and on ?mode=hls; a late joiner sees the current state at once', async () => {
    const fallbackContext = await newContext();
    // WHEP answers 503 for this browser: the page must find its way to HLS on its own.
    await fallbackContext.route('**/whep/**', (route) => route.fulfill({ status: 503, body: 'no SFU here' }));
    const page = await openViewer(fallbackContext, `${node.baseUrl}/watch/${stream.playbackId}`);
    await page.waitForSelector('body[data-path="hls"]', { timeout: 15_000 });
    expect(await page.textContent('[data-testid=path]')).toBe('HLS');
    expect(await page.textContent('#status')).toContain('WebRTC unavailable');
    // The late joiner's state: the pinned shirt, the open offer and poll, before anything new happens.
    await page.waitForSelector('[data-testid=product-card][data-product-id="' + shirt.id + '"]', { timeout: 20_000 });
    await page.waitForSelector('[data-testid=offer]');
    await page.waitForSelector('[data-testid=poll]');
    await page.waitForFunction(() => document.querySelector('video')!.getVideoPlaybackQuality().totalVideoFrames > 30, undefined, { timeout: 20_000 });
    const { before, after } = await videoProgress(page, 1500);
    expect(after.time - before.time).toBeGreaterThan(1);
    expect(after.frames).toBeGreaterThan(before.frames);
    measurements.hlsLatencyEstimatedMs = Math.round((await page.evaluate(() => (window as any).livecueViewer.latencySeconds())) * 1000);

    // A pin placed now shows when the HLS picture reaches it, seconds later, still in sync.
    const shownBefore = await cardsShownSoFar(page);
    const cue = await pin(stream, bag.id);
    showPins.push({ cue, product: bag });
    const late = await cardLateness(page, bag.id, cue, firstFrame, shownBefore);
    measurements.hlsCardLatenessVsTimelineMs = Math.round(late.vsTimeline * 1000);
    expect(Math.abs(late.vsTimeline)).toBeLessThan(0.2);
    expect(await cspViolations(page)).toEqual([]);
    const viewerId: string = await page.evaluate(() => (window as any).livecueViewer.viewerId);
    const socketUrls: string[] = await page.evaluate(() => (window as any).__socketsOpened);
    expect(socketUrls.map(socketViewer)).toContain(`ws://127.0.0.1:${node.lc.httpPort}/live/${stream.playbackId}/events as ${viewerId}`);
    await screenshot(page, 'viewer-hls-fallback.png');
    await fallbackContext.close();

    // The HLS player beats while it plays (it joins the audience of the pin showing) and reports a tap on the card.
    const pinStats = async () =>
      (await node.api('GET', `/v1/streams/${stream.id}/analytics`)).body.pins.find((entry: { cueId: string }) => entry.cueId === cue.id);
    const bagPin = await pinStats();
    // Another browser (its own viewer id: this context's pages already watch as one viewer over WebRTC).
    const hlsContext = await newContext();
    const forced = await openViewer(hlsContext, `${node.baseUrl}/watch/${stream.playbackId}?mode=hls`);
    await forced.waitForSelector('body[data-path="hls"]', { timeout: 15_000 });
    await forced.waitForFunction(() => document.querySelector('video')!.currentTime > 0.5, undefined, { timeout: 20_000 });
    expect(await forced.textContent('#status')).toBe('');
    await waitFor('the HLS beat counted', async () => (await pinStats()).views === bagPin.views + 1, 10_000);
    await forced.click(`[data-testid=product-card][data-product-id="${bag.id}"] h2`);
    await waitFor(
      'the tap counted',
      async () => {
        const after = await pinStats();
        return after.taps === bagPin.taps + 1 && after.clicks === bagPin.clicks + 1;
      },
      10_000,
    );
    expect(await cspViolations(forced)).toEqual([]);
    await hlsContext.close();
  });

  it('plays the recording of the ended show: the poster, a marker at every pin of the whole show, jumps to each product, seek previews', async () => {
    const bagCue = await pin(stream, bag.id);
    showPins.push({ cue: bagCue, product: bag });
    await sleep(2500);
    const shirtCue = await pin(stream, shirt.id);
    showPins.push({ cue: shirtCue, product: shirt });
    await sleep(2500);
    // ?replay=1 while the show is still on: there is no recording yet, and the page says it is coming.
    const early = await openViewer(context, `${node.baseUrl}/watch/${stream.playbackId}?replay=1`);
    await expect.poll(() => early.textContent('#status'), { timeout: 10_000 }).toBe('Replay is being prepared…');
    push.stop();
    const stoppedAt = Date.now();
    await waitFor('show ended', async () => (await node.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);
    const recording = await waitFor(
      'recording ready',
      async () => {
        const found = (await node.api('GET', `/v1/streams/${stream.id}/recordings`)).body.recordings[0];
        return found?.status === 'ready' ? found : undefined;
      },
      30_000,
      100,
    );
    measurements.recordingReadyAfterEncoderLeftMs = Date.now() - stoppedAt;
    const recordingPath = `/hls/${stream.playbackId}/recordings/${recording.id}`;
    const viewerState = (page: Page) =>
      page.evaluate(() => {
        const viewer = (window as any).livecueViewer;
        return { path: viewer.path, sourceUrl: viewer.sourceUrl, recordingId: viewer.recordingId, poster: document.querySelector('video')!.poster };
      });
    // The waiting page picks the recording up by itself.
    await early.waitForSelector('body[data-path="replay"]', { timeout: 15_000 });
    expect((await viewerState(early)).recordingId).toBe(recording.id);
    await early.close();
    // The WebRTC viewer from the first test saw the picture stop and went on to the recording.
    if (livePage) {
      await livePage.waitForSelector('body[data-path="replay"]', { timeout: 25_000 });
      expect((await viewerState(livePage)).recordingId).toBe(recording.id);
      expect(await livePage.textContent('#status')).toBe('The show has ended: watch the replay.');
      await livePage.close();
    }

    // No ?replay=1: the page finds out by itself that the show is over, and plays the recording.
    const page = await openViewer(context, `${node.baseUrl}/watch/${stream.playbackId}`);
    await page.waitForSelector('body[data-path="replay"]', { timeout: 15_000 });
    expect(await page.textContent('[data-testid=path]')).toBe('Replay');
    const state = await viewerState(page);
    expect(state.sourceUrl).toBe(`${recordingPath}/master.m3u8`);
    expect(state.recordingId).toBe(recording.id);
    // The poster stands in before the first picture.
    expect(new URL(state.poster).pathname).toBe(`${recordingPath}/poster.jpg`);
    const poster = await fetch(`${node.baseUrl}${new URL(state.poster).pathname}`);
    expect(poster.headers.get('content-type')).toBe('image/jpeg');
    await page.waitForFunction(() => Number.isFinite(document.querySelector('video')!.duration), undefined, { timeout: 15_000 });
    const duration = await page.evaluate(() => document.querySelector('video')!.duration);
    // Replay players beat too.
    await waitFor('replay viewers counted', async () => (await node.api('GET', `/v1/streams/${stream.id}/analytics`)).body.live.viewers.replay >= 1, 15_000);
    await page.evaluate(() => document.querySelector('video')!.pause());
    // hls.js plays the recording's VOD playlists: the whole show, far more than the live window's last 12 s.
    const playlists: string[] = await page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .map((entry) => entry.name)
        .filter((name) => name.includes('.m3u8')),
    );
    expect(playlists.some((name) => name.includes(`${recordingPath}/`) && !name.endsWith('/master.m3u8'))).toBe(true);
    expect(Math.abs(duration - recording.durationSeconds)).toBeLessThan(0.5);
    // The first pins were placed well before the live playlists' last 12 s: only the recording has them.
    expect(showPins[0]!.cue.mediaTime).toBeLessThan(duration - 12);

    // A marker at every pin of the show, at its media time (the recording's timeline is the show's).
    for (const { cue } of showPins) {
      const marker = page.locator(`.seekbar .marker[data-cue-id="${cue.id}"]`);
      await marker.waitFor({ timeout: 10_000 });
      const left = Number.parseFloat(await marker.evaluate((element) => (element as HTMLElement).style.left));
      expect(Math.abs((left / 100) * duration - cue.mediaTime)).toBeLessThan(0.05);
    }
    expect(await page.locator('.replay-products button').count()).toBe(showPins.length);

    /** Clicks the product list entry of a pin: the picture must be the pin's moment and the card its product. */
    const jumpTo = async (cue: { id: string; mediaTime: number }, product: { id: string; title: string }) => {
      const listed = page.locator(`.replay-products button[data-cue-id="${cue.id}"]`);
      await expect.poll(() => listed.textContent()).toContain(product.title);
      await listed.click();
      await page.waitForSelector(`[data-testid=product-card][data-product-id="${product.id}"]`, { timeout: 10_000 });
      const shown = await waitFor(
        'picture after the jump',
        async () => {
          const now = await page.evaluate(() => ({
            frame: (window as any).__frameOnScreen(),
            seeking: document.querySelector('video')!.seeking,
            time: document.querySelector('video')!.currentTime,
          }));
          return now.frame >= 0 && !now.seeking ? now : undefined;
        },
        10_000,
        50,
      );
      // The seek lands 50 ms after the cue; playback may have moved on a few frames since.
      const offset = (shown.frame - firstFrame) / FPS - cue.mediaTime;
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(0.6);
      // The video's clock is the show's media timeline: the picture and currentTime agree.
      expect(Math.abs(shown.time - cue.mediaTime - offset)).toBeLessThan(0.1);
      return offset;
    };
    const lateOffset = await jumpTo(bagCue, bag);
    // Back to the show's start, long out of the live playlists' window: the scheduler re-anchors.
    const fromStart = showPins[2]!;
    const earlyOffset = await jumpTo(fromStart.cue, fromStart.product);
    measurements.replayJumpOffsetMs = [Math.round(lateOffset * 1000), Math.round(earlyOffset * 1000)];
    await page.evaluate(() => document.querySelector('video')!.pause());

    // Seek previews: hovering the bar shows the thumbnail track's picture for the time under the pointer.
    const vtt = await (await fetch(`${node.baseUrl}${recordingPath}/thumbnails.vtt`)).text();
    const vttSeconds = (text: string) => text.split(':').reduce((total, part) => total * 60 + Number(part), 0);
    const track = [...vtt.matchAll(/(\S+) --> (\S+)\nthumbnails\.jpg#xywh=(\d+),(\d+),(\d+),(\d+)/g)].map((m) => ({
      start: vttSeconds(m[1]!),
      end: vttSeconds(m[2]!),
      x: Number(m[3]),
      y: Number(m[4]),
      width: Number(m[5]),
      height: Number(m[6]),
    }));
    expect(track.length).toBeGreaterThan(2);
    const sprite = await fetch(`${node.baseUrl}${recordingPath}/thumbnails.jpg`);
    expect(sprite.headers.get('content-type')).toBe('image/jpeg');
    const hover = async (fraction: number) => {
      const box = (await page.locator('[data-testid=seekbar]').boundingBox())!;
      await page.mouse.move(box.x + box.width * fraction, box.y + box.height / 2);
      const preview = page.locator('[data-testid=seek-preview]');
      await preview.waitFor({ state: 'visible', timeout: 5000 });
      const shown = await preview.evaluate((element) => {
        const picture = element.querySelector('.picture')!;
        const style = getComputedStyle(picture);
        const rect = picture.getBoundingClientRect();
        return {
          time: Number((element as HTMLElement).dataset.time),
          image: style.backgroundImage,
          position: style.backgroundPosition,
          width: rect.width,
          height: rect.height,
        };
      });
      expect(shown.image).toBe(`url("${node.baseUrl}${recordingPath}/thumbnails.jpg")`);
      expect(Math.abs(shown.time - fraction * duration)).toBeLessThan(duration / box.width + 0.05);
      const cue = track.find((entry) => entry.start <= shown.time && shown.time < entry.end)!;
      expect(shown.position).toBe(`${-cue.x}px ${-cue.y}px`);
      expect(shown).toMatchObject({ width: cue.width, height: cue.height });
      expect(cue.width * cue.height).toBeGreaterThan(0);
      return shown;
    };
    const first = await hover(0.1);
    const last = await hover(0.9);
    expect(last.position).not.toBe(first.position);
    // Hovering did not seek.
    expect(await page.evaluate(() => document.querySelector('video')!.paused)).toBe(true);
    await page.mouse.move(5, 5);
    await page.locator('[data-testid=seek-preview]').waitFor({ state: 'hidden', timeout: 5000 });
    expect(await cspViolations(page)).toEqual([]);

    // The wide layout: video, seek bar with markers and a preview, the product list beside the cards.
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await sleep(300);
    await hover(0.35);
    await screenshot(page, 'viewer-replay.png', 'viewer-replay.png');
    await page.close();
  });
});

describe('host console', () => {
  it('creates a stream, shows its key masked, pins a product that an open viewer page shows, and links private viewers with a token', async () => {
    const hat = await createProduct('HAT-1', 'Straw hat', 35);
    const context = await newContext({ width: 1360, height: 1000 });
    const consolePage = await context.newPage();
    consolePage.on('pageerror', (error) => console.error(`[console page error] ${error.message}`));
    await consolePage.goto(`${node.baseUrl}/console`);
    await consolePage.fill('input[name=token]', 'lca_wrong');
    await consolePage.click('button[type=submit]');
    await consolePage.waitForSelector('text=That token was not accepted.');
    await consolePage.fill('input[name=token]', node.lc.adminToken);
    await consolePage.click('button[type=submit]');

    await consolePage.fill('input[aria-label="New stream title"]', 'Summer hats live');
    await consolePage.click('text=Create stream');
    const keyField = consolePage.locator('[data-testid=stream-key]');
    await keyField.waitFor();
    const masked = (await keyField.textContent())!;
    expect(masked).toMatch(/^lck_•+$/);
    expect(await consolePage.textContent('body')).not.toMatch(/lck_[A-Za-z0-9]{8,}/);
    await consolePage.locator('.field', { has: keyField }).locator('text=Show').click();
    const streamKey = (await keyField.textContent())!;
    expect(streamKey).toMatch(/^lck_[A-Za-z0-9]+$/);
    await consolePage.locator('.field', { has: keyField }).locator('text=Hide').click();
    const rtmpUrl = (await consolePage.textContent('[data-testid=rtmp-url]'))!;
    expect(rtmpUrl).toBe(`rtmp://localhost:${node.lc.rtmpPort}/live`);
    const streamId = (await consolePage.locator('.stream-list li.selected').getAttribute('data-stream-id'))!;
    const { body: created } = await node.api('GET', `/v1/streams/${streamId}`);

    // Long enough to outlast the whole test on a loaded machine; stopped in finally.
    const push = pushFrameCoded(`${node.rtmpBase}/${streamKey}`, 120);
    try {
      await consolePage.waitForSelector('[data-testid=stream-status]:text("live")', { timeout: 20_000 });
      await consolePage.waitForFunction(() => (document.querySelector('[data-testid=preview]') as HTMLVideoElement).currentTime > 0.5, undefined, {
        timeout: 20_000,
      });
      expect(await consolePage.textContent('[data-testid=ingest]')).toContain('connected');

      const viewer = await openViewer(context, `${node.baseUrl}/watch/${created.playbackId}`);
      await viewer.waitForSelector('body[data-path="webrtc"]', { timeout: 15_000 });
      await consolePage.locator(`.catalogue li[data-product-id="${hat.id}"] button[data-action=pin]`).click();
      await viewer.waitForSelector(`[data-testid=product-card][data-product-id="${hat.id}"]`, { timeout: 10_000 });
      await expect.poll(() => viewer.locator('[data-testid=product-card] h2').textContent()).toBe('Straw hat');
      await consolePage.waitForSelector('[data-testid=cue-history] tr[data-type="product.pin"]');
      await consolePage.waitForSelector(`.catalogue li.pinned[data-product-id="${hat.id}"]`);
      await consolePage.waitForFunction(() => document.querySelector('.renditions') !== null, undefined, { timeout: 10_000 });
      // Live numbers: the open viewer page is counted, and the pinned hat has its row (views while pinned).
      await expect
        .poll(async () => Number(((await consolePage.textContent('[data-testid=viewers]')) ?? '0').split(' ')[0]), { timeout: 15_000 })
        .toBeGreaterThanOrEqual(1);
      const hatRow = consolePage.locator(`[data-testid=product-numbers] tr[data-product-id="${hat.id}"]`);
      await expect.poll(async () => Number(await hatRow.locator('td').nth(1).textContent()), { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
      expect(await hatRow.locator('td').first().textContent()).toBe('Straw hat');
      expect(await cspViolations(consolePage)).toEqual([]);
      await screenshot(consolePage, 'console.png', 'console.png');
      await screenshot(viewer, 'viewer-from-console.png');
      await viewer.close();

      // Made private, the stream plays only with a playback token: the console's viewer link carries one.
      expect((await node.api('PATCH', `/v1/streams/${streamId}`, { private: true })).status).toBe(200);
      const header = consolePage.locator('.detail-header a.button');
      await expect.poll(() => header.getAttribute('href'), { timeout: 10_000 }).toContain('?token=');
      const privateViewer = await openViewer(context, (await header.getAttribute('href'))!);
      await privateViewer.waitForSelector('body[data-path="webrtc"]', { timeout: 15_000 });
      await privateViewer.waitForSelector(`[data-testid=product-card][data-product-id="${hat.id}"]`, { timeout: 10_000 });
      await privateViewer.close();
      const withoutToken = await openViewer(context, `${node.baseUrl}/watch/${created.playbackId}`);
      await expect.poll(() => withoutToken.textContent('#status'), { timeout: 10_000 }).toContain('This show is private');
      expect(await withoutToken.evaluate(() => document.body.dataset.path)).toBeUndefined();
      await withoutToken.close();

      // Rotating the key (after a confirmation) shows the new key, masked, while the live encoder carries on.
      consolePage.once('dialog', (dialog) => void dialog.accept());
      await consolePage.click('text=Rotate key');
      await expect
        .poll(async () => {
          await consolePage.locator('.field', { has: keyField }).locator('text=Show').click();
          const shown = await keyField.textContent();
          await consolePage.locator('.field', { has: keyField }).locator('text=Hide').click();
          return shown;
        })
        .not.toBe(streamKey);
      expect(await keyField.textContent()).toMatch(/^lck_•+$/);
      expect((await node.api('GET', `/v1/streams/${streamId}`)).body.session.encoderConnected).toBe(true);
    } finally {
      push.stop();
      await context.close();
    }
  });
});

describe('viewer page on a draining node', () => {
  it('leaves WebRTC at once when its node drains, instead of waiting for the connection to time out', async () => {
    // Its own node: draining is one-way.
    const draining = await startTestNode({ RECONNECT_WINDOW_SECONDS: 2, DRAIN_SECONDS: 8, ICE_TIMEOUT_SECONDS: 30 });
    const context = await newContext();
    const { body: created } = await draining.api('POST', '/v1/streams', { title: 'drain' });
    const push = pushFrameCoded(`${created.ingest.rtmpUrl}/${created.ingest.streamKey}`, 40);
    try {
      await waitFor('playable', async () => (await draining.api('GET', `/v1/streams/${created.id}`)).body.session?.playable === true, 20_000);
      const page = await openViewer(context, `${draining.baseUrl}/watch/${created.playbackId}`);
      await page.waitForSelector('body[data-path="webrtc"]', { timeout: 15_000 });
      await page.waitForFunction(() => document.querySelector('video')!.getVideoPlaybackQuality().totalVideoFrames > 0, undefined, { timeout: 10_000 });

      const drained = draining.lc.drain();
      const asked = Date.now();
      // The reconnect notice on the cue channel makes the page offer again; this node refuses (503,
      // as a load balancer would send it elsewhere), so the page goes on over HLS, still playing.
      await page.waitForSelector('body[data-path="hls"]', { timeout: 10_000 });
      expect(Date.now() - asked).toBeLessThan(8000);
      const { before, after } = await videoProgress(page, 2000);
      expect(after.time - before.time).toBeGreaterThan(1);
      expect((await fetch(`${draining.baseUrl}/healthz/ready`)).status).toBe(503);
      await page.close();
      await drained;
    } finally {
      push.stop();
      await context.close();
      await draining.stop();
    }
  });
});

describe('viewer engagement', () => {
  it('lets two viewers of a live show chat, react, vote on a poll and race for the last unit of an offer', async () => {
    const scarf = await createProduct('SCARF-1', 'Silk scarf', 59);
    const show = await createStream('Scarves live');
    // Two browsers: two viewers (each keeps its own anonymous id).
    const contextA = await newContext();
    const contextB = await newContext();
    const push = pushFrameCoded(`${show.ingest.rtmpUrl}/${show.ingest.streamKey}`, 120);
    try {
      await waitFor('playable', async () => (await node.api('GET', `/v1/streams/${show.id}`)).body.session?.playable === true, 20_000);
      const watchUrl = `${node.baseUrl}/watch/${show.playbackId}`;
      // A watches over WebRTC, B over HLS: the one socket carries the conversation on either path.
      const pageA = await openViewer(contextA, watchUrl);
      const pageB = await openViewer(contextB, `${watchUrl}?mode=hls`);
      await pageA.waitForSelector('body[data-path="webrtc"]', { timeout: 15_000 });
      await pageB.waitForSelector('body[data-path="hls"]', { timeout: 20_000 });
      const viewerIdOf = (page: Page): Promise<string> => page.evaluate(() => (window as any).livecueViewer.viewerId);
      const idA = await viewerIdOf(pageA);
      const idB = await viewerIdOf(pageB);
      expect(idA).not.toBe(idB);
      const connected = (page: Page) => page.waitForSelector('[data-testid=chat-send]:not([disabled])', { timeout: 15_000 });
      await connected(pageA);
      await connected(pageB);
      for (const [page, id] of [
        [pageA, idA],
        [pageB, idB],
      ] as const) {
        const opened: string[] = await page.evaluate(() => (window as any).__socketsOpened);
        expect(opened.map(socketViewer)).toEqual([`ws://127.0.0.1:${node.lc.httpPort}/live/${show.playbackId}/events as ${id}`]);
      }

      // Chat: A's message reaches B, marked as A's own on A's page; the host deletes it from both.
      await pageA.fill('[data-testid=chat-input]', 'Is the silk one washable?');
      await pageA.click('[data-testid=chat-send]');
      const onB = pageB.locator('[data-testid=chat-message]', { hasText: 'Is the silk one washable?' });
      await onB.waitFor({ timeout: 10_000 });
      expect(await onB.locator('.who').textContent()).toBe(`Viewer ${idA.slice(-4)}`);
      const onA = pageA.locator('[data-testid=chat-message]', { hasText: 'Is the silk one washable?' });
      await onA.waitFor({ timeout: 10_000 });
      expect(await onA.locator('.who').textContent()).toBe('You');
      expect(await pageA.inputValue('[data-testid=chat-input]')).toBe('');
      const messageId = (await onB.getAttribute('data-message-id'))!;
      expect((await node.api('DELETE', `/v1/streams/${show.id}/chat/${messageId}`)).status).toBe(204);
      await onB.waitFor({ state: 'detached', timeout: 10_000 });
      await onA.waitFor({ state: 'detached', timeout: 10_000 });

      // Reactions: A's tap is in the count of that second on B's page.
      await pageA.locator('[data-testid=reaction]').first().click();
      const heartsOnB = pageB.locator('[data-testid=reaction]').first().locator('[data-testid=reaction-count]');
      await heartsOnB.waitFor({ state: 'visible', timeout: 10_000 });
      expect(await heartsOnB.textContent()).toBe('+1');

      // A poll: A votes once, and both pages show the live tally.
      const poll = await node.api('POST', `/v1/streams/${show.id}/cues`, {
        type: 'poll.open',
        question: 'Which colour next?',
        options: ['Sand', 'Navy'],
        durationSeconds: 300,
      });
      expect(poll.status).toBe(201);
      for (const page of [pageA, pageB]) await page.waitForSelector('[data-testid=poll-option]:not([disabled])', { timeout: 20_000 });
      await pageA.locator('[data-testid=poll-option]').nth(1).click();
      for (const page of [pageA, pageB]) {
        await expect.poll(() => page.locator('[data-testid=poll-count]').allTextContents(), { timeout: 10_000 }).toEqual(['0', '1']);
        expect(await page.textContent('[data-testid=poll-total]')).toBe('1 vote');
      }
      expect(await pageA.locator('[data-testid=poll-option]').nth(1).getAttribute('aria-pressed')).toBe('true');
      expect(await pageA.locator('[data-testid=poll-option][disabled]').count()).toBe(2);
      expect((await node.api('GET', `/v1/streams/${show.id}/polls/${poll.body.payload.pollId}`)).body.tally).toEqual({ 1: 1 });
      // A reloads: the socket's greeting brings the tally and A's own vote, so the page shows both and takes no second vote.
      await pageA.reload();
      await pageA.waitForSelector('body[data-path="webrtc"]', { timeout: 15_000 });
      await connected(pageA);
      await expect.poll(() => pageA.locator('[data-testid=poll-option]').nth(1).getAttribute('aria-pressed'), { timeout: 10_000 }).toBe('true');
      expect(await pageA.locator('[data-testid=poll-count]').allTextContents()).toEqual(['0', '1']);
      expect(await pageA.locator('[data-testid=poll-option][disabled]').count()).toBe(2);

      // One unit on offer: A claims it; B hears at once that it is gone.
      const offer = await node.api('POST', `/v1/streams/${show.id}/cues`, {
        type: 'offer.start',
        productId: scarf.id,
        discountPercent: 30,
        durationSeconds: 300,
        quantity: 1,
      });
      expect(offer.status).toBe(201);
      const offerId: string = offer.body.id;
      const claimButton = `[data-testid=offer][data-offer-id="${offerId}"] [data-testid=offer-claim]`;
      for (const page of [pageA, pageB]) {
        await page.waitForSelector(`${claimButton}:not([disabled])`, { timeout: 20_000 });
        expect(await page.textContent('[data-testid=offer-stock]')).toBe('Only 1 available');
      }
      await pageA.click(claimButton);
      const resultA = pageA.locator('[data-testid=offer-claim-result]');
      await expect.poll(() => resultA.getAttribute('data-outcome'), { timeout: 10_000 }).toBe('reserved');
      expect(await resultA.textContent()).toMatch(/^Reserved for you until \S.* — complete checkout in the shop$/);
      expect(await pageA.textContent(claimButton)).toBe('Claimed');
      expect(await pageA.isDisabled(claimButton)).toBe(true);
      await expect.poll(() => pageB.textContent('[data-testid=offer-stock]'), { timeout: 10_000 }).toBe('Sold out');
      expect(await pageB.isDisabled(claimButton)).toBe(true);

      // B again after a reload: the socket's greeting carries the open offers' stock, so it knows at once.
      await pageB.reload();
      await pageB.waitForSelector('body[data-path="hls"]', { timeout: 20_000 });
      await connected(pageB);
      await pageB.waitForSelector(`${claimButton}[disabled]`, { timeout: 20_000 });
      expect(await pageB.textContent('[data-testid=offer-stock]')).toBe('Sold out');
      // The API agrees: one unit, none left.
      const stored = await waitFor(
        'the offer sold out',
        async () => {
          const { body } = await node.api('GET', `/v1/offers/${offerId}`);
          return body.remaining === 0 ? body : undefined;
        },
        10_000,
      );
      expect(stored).toMatchObject({ id: offerId, productId: scarf.id, quantity: 1, remaining: 0 });

      // The server's refusal reaches only the sender: B, muted by the host, is told so.
      expect((await node.api('POST', `/v1/streams/${show.id}/mutes`, { viewerId: idB })).status).toBe(204);
      await pageB.fill('[data-testid=chat-input]', 'Sold out already?');
      await pageB.click('[data-testid=chat-send]');
      const notice = pageB.locator('[data-testid=chat-notice]');
      await notice.waitFor({ state: 'visible', timeout: 10_000 });
      expect(await notice.textContent()).toBe('you are muted in this chat');
      expect(await pageA.locator('[data-testid=chat-message]', { hasText: 'Sold out already?' }).count()).toBe(0);

      for (const page of [pageA, pageB]) expect(await cspViolations(page)).toEqual([]);
      await screenshot(pageA, 'viewer-engagement.png', 'viewer-engagement.png');
    } finally {
      push.stop();
      await contextA.close();
      await contextB.close();
    }
  });
});

describe('the viewer page behind a CDN (CDN_BASE_URL)', () => {
  it('plays HLS from the CDN, which its Content-Security-Policy allows, and nothing of /hls from its own origin', async () => {
    // The CDN: another origin (localhost, not 127.0.0.1) pulling /hls from livecue, counting what it serves.
    const pulled: string[] = [];
    let origin = '';
    const cdn = express().use('/hls', async (req, res) => {
      pulled.push(req.originalUrl);
      const upstream = await fetch(`${origin}${req.originalUrl}`);
      res.status(upstream.status);
      for (const header of ['content-type', 'cache-control', 'access-control-allow-origin']) {
        const value = upstream.headers.get(header);
        if (value) res.setHeader(header, value);
      }
      res.send(Buffer.from(await upstream.arrayBuffer()));
    });
    const cdnServer = cdn.listen(0, '127.0.0.1');
    await once(cdnServer, 'listening');
    const cdnBase = `http://localhost:${(cdnServer.address() as AddressInfo).port}`;
    const cdnNode = await startTestNode({ CDN_BASE_URL: cdnBase, RECONNECT_WINDOW_SECONDS: 1 });
    origin = cdnNode.baseUrl;
    const context = await newContext();
    const ownOriginHls: string[] = [];
    context.on('request', (request) => {
      if (request.url().startsWith(`${cdnNode.baseUrl}/hls/`)) ownOriginHls.push(request.url());
    });
    const { body: cdnStream } = await cdnNode.api('POST', '/v1/streams', { title: 'behind a CDN' });
    expect(cdnStream.playback.hlsUrl).toBe(`${cdnBase}/hls/${cdnStream.playbackId}/master.m3u8`);
    const push = pushFrameCoded(`${cdnStream.ingest.rtmpUrl.replace('localhost', '127.0.0.1')}/${cdnStream.ingest.streamKey}`, 60);
    try {
      const response = await fetch(`${cdnNode.baseUrl}/watch/${cdnStream.playbackId}`);
      const csp = response.headers.get('content-security-policy')!;
      expect(csp).toContain(`media-src 'self' blob: ${cdnBase}`);
      expect(csp).toContain(`connect-src 'self' ${cdnBase}`);
      expect(await response.text()).toContain(`<meta name="livecue-hls-base" content="${cdnBase}" />`);
      await waitFor('the show on the CDN', async () => (await fetch(`${cdnBase}/hls/${cdnStream.playbackId}/master.m3u8`)).ok || undefined, 20_000);

      const page = await openViewer(context, `${cdnNode.baseUrl}/watch/${cdnStream.playbackId}?mode=hls`);
      await page.waitForSelector('body[data-path="hls"]', { timeout: 15_000 });
      await page.waitForFunction(() => document.querySelector('video')!.currentTime > 1, undefined, { timeout: 30_000 });
      expect(pulled.some((url) => url.endsWith('/master.m3u8'))).toBe(true);
      expect(pulled.some((url) => url.endsWith('.m4s'))).toBe(true);
      expect(ownOriginHls).toEqual([]);
      expect(await cspViolations(page)).toEqual([]);
    } finally {
      push.stop();
      await context.close();
      await cdnNode.stop();
      cdnServer.close();
    }
  });
});

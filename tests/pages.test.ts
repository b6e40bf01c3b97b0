// The viewer page and the host console in a real browser: Debian's chromium driven by playwright-core
// against a real livecue node. The pushed video carries its frame number as a 12-bit barcode, so the
// test reads which frame is on screen and measures how late a pinned product appears against it.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startTestNode, waitFor, type TestNode } from './helpers/harness.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const OUTPUT = path.join(ROOT, 'test-output');
const SCREENSHOTS = path.join(ROOT, 'docs', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
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
  const args = ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', filters.join(','), '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];
  args.push('-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(FPS), '-pix_fmt', 'yuv420p', '-b:v', '1500k');
  args.push('-c:a', 'aac', '-b:a', '96k', '-f', 'flv', url);
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
  const playlist = await waitFor('360p playlist', async () => {
    const response = await fetch(playlistUrl);
    return response.ok ? response.text() : undefined;
  }, 20_000);
  expect(playlist).toContain('#EXT-X-MEDIA-SEQUENCE:0');
  const first = playlist.split('\n').find((line) => line && !line.startsWith('#'))!;
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', new URL(first, playlistUrl).href, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], {
    encoding: 'buffer',
    maxBuffer: 4 * 1024 * 1024,
  });
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
    if (message.type() === 'error') console.error(`[page console] ${message.text()}`);
  });
  await page.goto(url);
  await page.evaluate(READ_FRAME_IN_PAGE);
  return page;
}

async function newContext(viewport = { width: 390, height: 844 }): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  // Product pictures are the shop's (https:); the test answers for the shop, nothing leaves the machine.
  await context.route('https://shop.example.com/**', (route) => route.fulfill({ status: 200, contentType: 'image/png', body: productImage }));
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

async function screenshot(page: Page, name: string, docsName?: string): Promise<void> {
  const file = path.join(OUTPUT, name);
  await page.screenshot({ path: file });
  if (docsName) await copyFile(file, path.join(SCREENSHOTS, docsName));
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

/** Waits for the page to show the product, then: how late (s) it appeared against the video (the frame on screen vs the cue's frame). */
async function cardLateness(page: Page, productId: string, cue: { mediaTime: number }, firstFrame: number): Promise<number> {
  const shown = await waitFor(
    `product card ${productId}`,
    () => page.evaluate((id) => (window as any).__cardsShown.find((entry: { productId: string }) => entry.productId === id), productId),
    20_000,
    50,
  );
  expect(shown.frame).toBeGreaterThanOrEqual(0);
  return (shown.frame - firstFrame) / FPS - cue.mediaTime;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/test.sh does)`);
  // `npm test` builds the pages first; a direct vitest run builds them when they are missing.
  if (!existsSync(path.join(ROOT, 'dist/web/watch.html'))) execFileSync('npm', ['run', 'build:web'], { cwd: ROOT, stdio: 'ignore' });
  await mkdir(OUTPUT, { recursive: true });
  await mkdir(SCREENSHOTS, { recursive: true });
  productImage = (await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'gradients=size=192x192:seed=7', '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', 'pipe:1'], { encoding: 'buffer' })).stdout;
  node = await startTestNode({ RECONNECT_WINDOW_SECONDS: 3 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright-core gives each launch a fresh profile directory (--user-data-dir) and --no-sandbox.
    args: [
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await node?.stop();
  if (Object.keys(measurements).length > 0) console.log(`pages measurements: ${JSON.stringify(measurements, null, 2)}`);
});

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
});

describe('viewer page', () => {
  let stream: Stream;
  let push: ReturnType<typeof pushFrameCoded>;
  let firstFrame: number;
  let shirt: { id: string; title: string };
  let bag: { id: string; title: string };
  let context: BrowserContext;

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
    const sample = await page.evaluate(() => ({ frame: (window as any).__frameOnScreen(), at: Date.now(), estimate: (window as any).livecueViewer.latencySeconds() }));
    const frameWallClock = Date.parse(anchor.body.wallClock) + ((sample.frame - firstFrame) / FPS - anchor.body.mediaTime) * 1000;
    measurements.webrtcLatencyMeasuredMs = sample.at - frameWallClock;
    measurements.webrtcLatencyEstimatedMs = Math.round(sample.estimate * 1000);
    await page.waitForSelector('[data-testid=latency]:not([hidden])');
    expect(await page.textContent('[data-testid=latency]')).toMatch(/latency \d+ ms/);

    const lateness: number[] = [];
    for (const product of [shirt, bag, shirt]) {
      const cue = await pin(stream, product.id);
      // A repeat pin of the same product is a new cue; the observer notes each change of card.
      lateness.push(await cardLateness(page, product.id, cue, firstFrame));
      await sleep(700);
    }
    measurements.webrtcCardLatenessMs = lateness.map((s) => Math.round(s * 1000));
    for (const late of lateness) expect(Math.abs(late)).toBeLessThan(0.25);
    const card = page.locator('[data-testid=product-card]');
    await expect.poll(() => card.locator('h2').textContent()).toBe('Linen shirt');
    expect(await card.locator('a.buy').getAttribute('href')).toBe('https://shop.example.com/p/shirt-1');
    expect(await card.locator('.price').textContent()).toContain('49.90');

    // An offer with a countdown and the units on offer, and a poll, reach the page.
    expect((await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'offer.start', productId: shirt.id, discountPercent: 20, durationSeconds: 600, quantity: 50 })).status).toBe(201);
    expect((await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'poll.open', question: 'Which colour next?', options: ['Sand', 'Navy'], durationSeconds: 120 })).status).toBe(201);
    await page.waitForSelector('[data-testid=offer]');
    await page.waitForSelector('[data-testid=poll]');
    expect(await page.textContent('[data-testid=offer]')).toContain('Only 50 available');
    expect(await page.textContent('[data-testid=offer-countdown]')).toMatch(/^(10:00|9:\d\d)$/);
    expect(await card.locator('.price').textContent()).toContain('39.92');
    await page.waitForFunction(() => document.querySelector('img')?.complete);
    await screenshot(page, 'viewer-webrtc.png', 'viewer.png');
    await page.close();
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
    const cue = await pin(stream, bag.id);
    const late = await cardLateness(page, bag.id, cue, firstFrame);
    measurements.hlsCardLatenessMs = Math.round(late * 1000);
    expect(Math.abs(late)).toBeLessThan(0.25);
    await screenshot(page, 'viewer-hls-fallback.png');
    await fallbackContext.close();

    const forced = await openViewer(context, `${node.baseUrl}/watch/${stream.playbackId}?mode=hls`);
    await forced.waitForSelector('body[data-path="hls"]', { timeout: 15_000 });
    await forced.waitForFunction(() => document.querySelector('video')!.currentTime > 0.5, undefined, { timeout: 20_000 });
    expect(await forced.textContent('#status')).toBe('');
    await forced.close();
  });

  it('plays the ended show as a replay with product markers and a product list that jumps to each product', async () => {
    // The closed live playlist keeps the last segments: pin within them, let a few seconds follow, end the show.
    const cue = await pin(stream, shirt.id);
    await sleep(3000);
    push.stop();
    await waitFor('show ended', async () => (await node.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);

    const page = await openViewer(context, `${node.baseUrl}/watch/${stream.playbackId}`);
    await page.waitForSelector('body[data-path="replay"]', { timeout: 15_000 });
    expect(await page.textContent('[data-testid=path]')).toBe('Replay');
    await page.waitForFunction(() => Number.isFinite(document.querySelector('video')!.duration), undefined, { timeout: 15_000 });
    const marker = page.locator(`.seekbar .marker[data-cue-id="${cue.id}"]`);
    await marker.waitFor({ timeout: 10_000 });
    const listed = page.locator(`.replay-products button[data-cue-id="${cue.id}"]`);
    await expect.poll(() => listed.textContent()).toContain('Linen shirt');

    // Jump to the shirt: the video lands on its moment, and the card is the shirt.
    await page.evaluate(() => {
      const video = document.querySelector('video')!;
      video.pause();
      video.currentTime = 0;
    });
    await listed.click();
    await page.waitForSelector(`[data-testid=product-card][data-product-id="${shirt.id}"]`, { timeout: 10_000 });
    const frame = await waitFor('picture after the jump', async () => {
      const value = await page.evaluate(() => (window as any).__frameOnScreen());
      return value >= 0 && (await page.evaluate(() => !document.querySelector('video')!.seeking)) ? value : undefined;
    }, 10_000, 100);
    // The picture is the cue's moment (the seek lands 50 ms after it, on a frame boundary; playback may have moved on a little).
    const offset = (frame - firstFrame) / FPS - cue.mediaTime;
    measurements.replayJumpOffsetMs = Math.round(offset * 1000);
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThan(1);
    const markerLeft = await marker.evaluate((element) => (element as HTMLElement).style.left);
    expect(Number.parseFloat(markerLeft)).toBeGreaterThan(0);
    await page.evaluate(() => document.querySelector('video')!.pause());
    await screenshot(page, 'viewer-replay.png', 'viewer-replay.png');
    await page.close();
  });
});

describe('host console', () => {
  it('creates a stream, shows its key masked, and pins a product that an open viewer page shows', async () => {
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
    expect(rtmpUrl).toBe(node.rtmpBase);
    const streamId = (await consolePage.locator('.stream-list li.selected').getAttribute('data-stream-id'))!;
    const { body: created } = await node.api('GET', `/v1/streams/${streamId}`);

    const push = pushFrameCoded(`${rtmpUrl}/${streamKey}`, 40);
    try {
      await consolePage.waitForSelector('[data-testid=stream-status]:text("live")', { timeout: 20_000 });
      await consolePage.waitForFunction(() => (document.querySelector('[data-testid=preview]') as HTMLVideoElement).currentTime > 0.5, undefined, { timeout: 20_000 });
      expect(await consolePage.textContent('[data-testid=ingest]')).toContain('connected');

      const viewer = await openViewer(context, `${node.baseUrl}/watch/${created.playbackId}`);
      await viewer.waitForSelector('body[data-path="webrtc"]', { timeout: 15_000 });
      await consolePage.locator(`.catalogue li[data-product-id="${hat.id}"] button[data-action=pin]`).click();
      await viewer.waitForSelector(`[data-testid=product-card][data-product-id="${hat.id}"]`, { timeout: 10_000 });
      await expect.poll(() => viewer.locator('[data-testid=product-card] h2').textContent()).toBe('Straw hat');
      await consolePage.waitForSelector('[data-testid=cue-history] tr[data-type="product.pin"]');
      await consolePage.waitForSelector(`.catalogue li.pinned[data-product-id="${hat.id}"]`);
      await consolePage.waitForFunction(() => document.querySelector('.renditions') !== null, undefined, { timeout: 10_000 });
      await screenshot(consolePage, 'console.png', 'console.png');
      await screenshot(viewer, 'viewer-from-console.png');
      await viewer.close();
    } finally {
      push.stop();
      await context.close();
    }
  });
});

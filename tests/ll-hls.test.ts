// Low-Latency HLS end to end: an OBS-like RTMP push, livecue's LL playlists read by hls.js's parser and
// checked against the LL-HLS rules, blocking reloads, parts and segments from memory that decode, the
// rewind (DVR) playlist while live, and plain HLS from storage once the show is over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInit } from '../src/media/fmp4.ts';
import { createStream, startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { hlsJsMediaParser } from './helpers/hls-parser.ts';
import { decodeVideoFrames, playableSegment, probe, pushRtmp } from './helpers/media.ts';
import { launchChromium, requireChromiumAndPages } from './helpers/chromium.ts';

const HLS_JS = new URL('../node_modules/hls.js/dist/hls.min.js', import.meta.url).pathname;

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RECONNECT_WINDOW_SECONDS: 2 });
});

afterAll(async () => {
  await node?.stop();
});

interface LlPlaylist {
  partTarget: number;
  segments: { uri: string; duration: number; parts: { uri: string; duration: number; independent: boolean }[] }[];
  open: { uri: string; duration: number; independent: boolean }[];
  hint?: string;
  mediaSequence: number;
}

/** livecue's own reading of an LL-HLS media playlist: segments with the parts listed before each, the open parts and the hint. */
function readLl(text: string): LlPlaylist {
  const result: LlPlaylist = { partTarget: Number(/#EXT-X-PART-INF:PART-TARGET=([\d.]+)/.exec(text)?.[1]), segments: [], open: [], mediaSequence: -1 };
  result.mediaSequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1]);
  let duration = 0;
  for (const line of text.split('\n')) {
    const part = /^#EXT-X-PART:DURATION=([\d.]+),URI="([^"]+)"(,INDEPENDENT=YES)?/.exec(line);
    if (part) result.open.push({ duration: Number(part[1]), uri: part[2]!, independent: part[3] !== undefined });
    if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice(8));
    if (line && !line.startsWith('#')) {
      result.segments.push({ uri: line, duration, parts: result.open });
      result.open = [];
    }
    const hint = /^#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(line);
    if (hint) result.hint = hint[1];
  }
  return result;
}

/** The LL-HLS rules livecue keeps: parts within PART-TARGET, adding up to their segment, segments starting independent, the hint naming the next part. */
function checkLlRules(playlist: LlPlaylist): void {
  const all = [...playlist.segments.flatMap((segment) => segment.parts), ...playlist.open];
  expect(all.length).toBeGreaterThan(3);
  for (const part of all) expect(part.duration).toBeLessThanOrEqual(playlist.partTarget);
  for (const segment of playlist.segments.filter((candidate) => candidate.parts.length > 0)) {
    expect(segment.parts.reduce((sum, part) => sum + part.duration, 0)).toBeCloseTo(segment.duration, 2);
    expect(segment.parts[0]!.independent).toBe(true);
  }
  const last = all.at(-1)!.uri;
  const [, tag, msn, part] = /^(.+)-(\d+)\.(\d+)\.m4s$/.exec(last)!;
  expect([`${tag}-${msn}.${Number(part) + 1}.m4s`, `${tag}-${Number(msn) + 1}.0.m4s`]).toContain(playlist.hint);
}

describe('Low-Latency HLS', () => {
  it('serves LL-HLS from memory while live: parts, blocking reloads, hints, a DVR playlist; plain HLS after the show', async () => {
    const parse = await hlsJsMediaParser();
    const stream = await createStream(node, 'LL show');
    // OBS defaults: x264 veryfast, High profile, a keyframe every 2 s, AAC 48 kHz.
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 32, gopSeconds: 2, x264: { preset: 'veryfast', profile: 'high' } });
    const master = await waitFor(
      'master playlist',
      async () => (await fetch(stream.playback.hlsUrl)).ok && (await fetch(stream.playback.hlsUrl)).text(),
      30_000,
    );
    const base = stream.playback.hlsUrl.replace('master.m3u8', '720p/');

    // The live playlist comes from the window: LL-HLS, read by hls.js as such.
    const first = await waitFor('two whole segments', async () => {
      const text = await (await fetch(`${base}index.m3u8`)).text();
      return readLl(text).segments.length >= 2 ? text : undefined;
    });
    const details = parse(first, `${base}index.m3u8`);
    expect(details.canBlockReload).toBe(true);
    expect(details.partTarget).toBeGreaterThan(0.3);
    expect(details.partList.length).toBeGreaterThan(3);
    expect(details.preloadHint).toBeDefined();
    expect(details.renditionReports).toHaveLength(2);
    expect(details.fragments[0].initSegment.relurl).toMatch(/-init-0\.mp4$/);
    checkLlRules(readLl(first));

    // Blocking reload: ask for the hinted part; the answer lists it.
    const hinted = readLl(first).hint!;
    const [, msn, part] = /-(\d+)\.(\d+)\.m4s$/.exec(hinted)!;
    const blocking = await fetch(`${base}index.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`);
    expect(blocking.status).toBe(200);
    expect(blocking.headers.get('cache-control')).toBe('public, max-age=6');
    const after = await blocking.text();
    expect(after).toContain(`URI="${hinted}"`);
    checkLlRules(readLl(after));
    const last = readLl(after).segments.at(-1)!.uri;
    const lastMsn = Number(/-(\d+)\.m4s$/.exec(last)![1]);
    expect((await fetch(`${base}index.m3u8?_HLS_msn=${lastMsn + 3}`)).status).toBe(400);
    expect((await fetch(`${base}index.m3u8?_HLS_msn=abc`)).status).toBe(400);
    expect((await fetch(`${base}index.m3u8?_HLS_part=1`)).status).toBe(400);

    // The next hint, asked for before it exists, arrives once it does.
    const nextHint = readLl(after).hint!;
    const partResponse = await fetch(`${base}${nextHint}`);
    expect(partResponse.status).toBe(200);
    expect(partResponse.headers.get('content-type')).toBe('video/mp4');
    expect(
      Buffer.from(await partResponse.arrayBuffer())
        .subarray(4, 8)
        .toString(),
    ).toBe('moof');

    // A part and a whole segment from memory decode behind their init segment, at the rung's size.
    const init = readLl(after).segments.at(-1)!;
    const initUri = /#EXT-X-MAP:URI="([^"]+)"/.exec(after)![1]!;
    const independentPart = init.parts.find((candidate) => candidate.independent) ?? readLl(after).segments.at(-1)!.parts[0]!;
    const partFile = await playableSegment(`${base}${initUri}`, `${base}${independentPart.uri}`);
    expect((await probe(partFile)).streams.find((s) => s.codec_type === 'video')).toMatchObject({ width: 1280, height: 720 });
    expect(await decodeVideoFrames(partFile)).toBe(10);
    const segmentFile = await playableSegment(`${base}${initUri}`, `${base}${last}`);
    expect(await decodeVideoFrames(segmentFile)).toBe(60);

    // The master playlist's codec is the init segment's (avcC), with the same URLs as before LL-HLS.
    const initBytes = Buffer.from(await (await fetch(`${base}${initUri}`)).arrayBuffer());
    expect(master).toContain(`CODECS="${parseInit(initBytes).videoCodec},mp4a.40.2"`);
    expect(master).toContain('720p/index.m3u8');

    // Rewind while live: once the live window has moved on, the DVR playlist still starts at the show's first segment.
    const view = await node.api('GET', `/v1/streams/${stream.id}`);
    expect(view.body.playback.dvrHlsUrl).toBe(stream.playback.hlsUrl.replace('master.m3u8', 'dvr.m3u8'));
    // (The live window holds 12 segments: 24 s.)
    await waitFor(
      'live window past the first segment',
      async () => readLl(await (await fetch(`${base}index.m3u8`)).text()).mediaSequence > 0 || undefined,
      40_000,
    );
    // A delta update leaves out the segments older than CAN-SKIP-UNTIL (12 s).
    const delta = await (await fetch(`${base}index.m3u8?_HLS_skip=YES`)).text();
    expect(Number(/#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)/.exec(delta)?.[1])).toBeGreaterThan(0);
    expect(delta.length).toBeLessThan((await (await fetch(`${base}index.m3u8`)).text()).length);
    expect(await (await fetch(view.body.playback.dvrHlsUrl)).text()).toContain('720p/dvr.m3u8');
    const dvr = await (await fetch(`${base}dvr.m3u8`)).text();
    expect(view.body.status).toBe('live');
    expect(dvr).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    expect(dvr).toContain('#EXT-X-MEDIA-SEQUENCE:0\n');
    expect(dvr).toMatch(/#EXT-X-MAP:URI="[^"]+-init-0\.mp4"/);
    expect(dvr).not.toContain('#EXT-X-ENDLIST');
    expect(parse(dvr, `${base}dvr.m3u8`).fragments[0].sn).toBe(0);

    // After the show: storage's playlists, closed, play as plain fMP4 HLS.
    expect(await push.exited).toBe(0);
    await waitFor('stream ended', async () => (await node.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 30_000);
    const closed = await (await fetch(`${base}index.m3u8`)).text();
    expect(closed).toContain('#EXT-X-ENDLIST');
    expect(closed).not.toContain('#EXT-X-PART');
    expect(await decodeVideoFrames(`${base}index.m3u8`)).toBeGreaterThan(300);
    expect(await (await fetch(`${base}dvr.m3u8`)).text()).toContain('#EXT-X-ENDLIST');
  });

  it("serves a private show's LL-HLS only on its token path, kept out of shared caches", async () => {
    const { body: stream } = await node.api('POST', '/v1/streams', { title: 'members only', private: true });
    const { body: issued } = await node.api('POST', `/v1/streams/${stream.id}/playback-tokens`, { expiresInSeconds: 600 });
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 8, gopSeconds: 2 });
    const base = issued.playback.hlsUrl.replace('master.m3u8', '360p/');
    const text = await waitFor('LL playlist on the token path', async () => {
      const response = await fetch(`${base}index.m3u8`);
      return response.ok ? response.text() : undefined;
    });
    expect(text).toContain('#EXT-X-PART:');
    expect(issued.playback.dvrHlsUrl).toBe(issued.playback.hlsUrl.replace('master.m3u8', 'dvr.m3u8'));
    const hinted = readLl(text).hint!;
    const [, msn, part] = /-(\d+)\.(\d+)\.m4s$/.exec(hinted)!;
    const blocking = await fetch(`${base}index.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`);
    expect(blocking.headers.get('cache-control')).toBe('private, max-age=6');
    const partResponse = await fetch(`${base}${hinted}`);
    expect(partResponse.status).toBe(200);
    expect(partResponse.headers.get('cache-control')).toMatch(/^private, /);
    expect((await fetch(stream.playback.hlsUrl.replace('master.m3u8', '360p/index.m3u8'))).status).toBe(403);
    expect((await fetch(`${stream.playback.hlsUrl.replace('master.m3u8', '360p/')}${hinted}`)).status).toBe(403);
    push.stop();
  });

  it('plays in Chromium with hls.js in low-latency mode (parts and blocking reloads) and with it off (whole segments)', async () => {
    requireChromiumAndPages();
    const stream = await createStream(node, 'LL in a browser');
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 30, gopSeconds: 2, x264: { preset: 'veryfast', profile: 'high' } });
    await waitFor('master playlist', async () => (await fetch(stream.playback.hlsUrl)).ok || undefined, 30_000);
    const browser = await launchChromium();
    try {
      const play = async (lowLatencyMode: boolean) => {
        const page = await browser.newPage();
        const requested: string[] = [];
        page.on('request', (request) => requested.push(request.url()));
        await page.setContent('<video muted playsinline></video>');
        await page.addScriptTag({ path: HLS_JS });
        await page.evaluate(
          ([url, lowLatency]) => {
            const Hls = (window as unknown as { Hls: new (config: object) => { loadSource(u: string): void; attachMedia(v: HTMLVideoElement): void } }).Hls;
            const hls = new Hls({ lowLatencyMode: lowLatency });
            const video = document.querySelector('video')!;
            hls.loadSource(url);
            hls.attachMedia(video);
            void video.play().catch(() => {});
          },
          [stream.playback.hlsUrl, lowLatencyMode] as const,
        );
        await page.waitForFunction(() => document.querySelector('video')!.currentTime > 3, undefined, { timeout: 40_000 });
        await page.close();
        return requested;
      };
      const [ll, plain] = await Promise.all([play(true), play(false)]);
      // Low-latency mode loads parts, asking for each playlist update with _HLS_msn/_HLS_part.
      expect(ll.some((url) => /-\d+\.\d+\.m4s$/.test(url))).toBe(true);
      expect(ll.some((url) => url.includes('_HLS_msn='))).toBe(true);
      // Without it, hls.js plays the same URLs' whole segments.
      expect(plain.some((url) => /-\d+\.m4s$/.test(url))).toBe(true);
      expect(plain.some((url) => /-\d+\.\d+\.m4s$/.test(url))).toBe(false);
    } finally {
      await browser.close();
      push.stop();
    }
  });
  it('rewinds a live show on the viewer page: the rewind playlist with a marker at the pinned product, and back to live', async () => {
    requireChromiumAndPages();
    const stream = await createStream(node, 'rewind while live');
    const product = await node.api('POST', '/v1/products', { sku: 'RW-1', title: 'Rewind scarf', price: 29, currency: 'EUR' });
    expect(product.status).toBe(201);
    // OBS's defaults: x264 veryfast (High), 2 s keyframes, AAC 48 kHz.
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 40, gopSeconds: 2, x264: { preset: 'veryfast' } });
    const browser = await launchChromium();
    try {
      await waitFor('master playlist', async () => (await fetch(stream.playback.hlsUrl)).ok || undefined, 30_000);
      const pin = await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'product.pin', productId: product.body.id });
      expect(pin.status).toBe(201);
      // Two more segments, so the rewind playlist holds the pin's moment and some show after it.
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const page = await browser.newPage();
      await page.goto(`${node.baseUrl}/watch/${stream.playbackId}?mode=hls`);
      // The viewer's getters, read in the page (a class instance does not cross to the test as an object).
      const viewer = () =>
        page.evaluate(() => {
          const { path, sourceUrl } = (window as unknown as { livecueViewer: { path?: string; sourceUrl?: string } }).livecueViewer;
          return { path, sourceUrl };
        });
      await page.waitForFunction(() => (window as unknown as { livecueViewer: { path?: string } }).livecueViewer?.path === 'hls', undefined, {
        timeout: 30_000,
      });
      expect((await viewer()).sourceUrl).toMatch(/\/master\.m3u8$/);

      await page.click('[data-testid=rewind]');
      await page.waitForFunction(
        () => (window as unknown as { livecueViewer: { sourceUrl?: string } }).livecueViewer?.sourceUrl?.endsWith('/dvr.m3u8'),
        undefined,
        {
          timeout: 15_000,
        },
      );
      expect(await page.textContent('[data-testid=path]')).toBe('Rewind');
      // The seek bar of the whole show so far, with the pinned product's marker, while the show's chat stays open.
      await page.waitForSelector('[data-testid=seekbar] .marker', { timeout: 20_000 });
      expect(await page.isVisible('[data-testid=back-to-live]')).toBe(true);
      expect(await page.isHidden('#engagement')).toBe(false);
      await page.waitForFunction(() => document.querySelector('video')!.currentTime > 0.5, undefined, { timeout: 20_000 });
      await page.click('[data-testid=seekbar] .marker');
      await page.waitForSelector('#product :text("Rewind scarf")', { timeout: 10_000 });

      await page.click('[data-testid=back-to-live]');
      await page.waitForFunction(
        () => (window as unknown as { livecueViewer: { sourceUrl?: string } }).livecueViewer?.sourceUrl?.endsWith('/master.m3u8'),
        undefined,
        {
          timeout: 15_000,
        },
      );
      expect((await viewer()).path).toBe('hls');
      expect(await page.isHidden('#replay')).toBe(true);
      expect(await page.isVisible('[data-testid=rewind]')).toBe(true);
    } finally {
      await browser.close();
      push.stop();
    }
  });
});

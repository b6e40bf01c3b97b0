// Shoppable clips: a recorded show (OBS-like x264 High, 2 s GOP, AAC 48 kHz) with pins becomes clips cut from
// its stored segments: a pin's span with its product and its cues on the clip's own time, a 9:16 portrait cut,
// an instant clip while live, signed clip.ready webhooks, clear 400s and 404s.
import { launchChromium, requireChromiumAndPages } from './helpers/chromium.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipView, publicClip } from '../src/contract/clips.ts';
import { verifyWebhookSignature } from '../src/workers/webhooks.ts';
import { clipReady, startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { decodeVideo, probe, pushRtmp } from './helpers/media.ts';
import { WebhookReceiver } from './helpers/webhook-receiver.ts';

let node: TestNode;
let receiver: WebhookReceiver;
let hookSecret = '';

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  node = await startTestNode({ RECONNECT_WINDOW_SECONDS: 1, CLIP_MAX_SECONDS: 60, RECORDING_MP4: false, LADDER: '720,360' });
});

afterAll(async () => {
  await node?.stop();
  receiver?.close();
});

/** START-DATE of a DATERANGE minus the playlist's first PROGRAM-DATE-TIME: where the cue sits in the clip. */
function dateRangeOffset(playlist: string, cueId: string): { seconds: number; mediaTime: number } {
  const first = Date.parse(/#EXT-X-PROGRAM-DATE-TIME:(\S+)/.exec(playlist)![1]!);
  const line = playlist.split('\n').find((l) => l.startsWith('#EXT-X-DATERANGE') && l.includes(`ID="${cueId}"`));
  if (!line) throw new Error(`no DATERANGE for ${cueId}`);
  return { seconds: (Date.parse(/START-DATE="([^"]+)"/.exec(line)![1]!) - first) / 1000, mediaTime: Number(/X-LIVECUE-MEDIA-TIME="([^"]+)"/.exec(line)![1]) };
}

describe('shoppable clips', () => {
  let stream: { id: string; playbackId: string; ingest: { rtmpUrl: string; streamKey: string } };
  let product: { id: string };
  let pin: { id: string; mediaTime: number };
  let unpin: { id: string; mediaTime: number };
  let announce: { id: string; mediaTime: number };
  let recording: { id: string; durationSeconds: number };
  let pinClipId = '';

  it('cuts an instant clip of the last seconds while the show is live, then the show becomes a recording', async () => {
    const hook = await node.api('POST', '/v1/webhooks', { url: receiver.url, events: ['clip.ready', 'clip.failed'] });
    expect(hook.status).toBe(201);
    hookSecret = hook.body.secret;
    stream = (await node.api('POST', '/v1/streams', { title: 'Clip show' })).body;
    product = (
      await node.api('POST', '/v1/products', { sku: 'CLIP-1', title: 'Silk scarf', price: 39, currency: 'EUR', productUrl: 'https://shop.example/scarf' })
    ).body;
    // As OBS sends: x264 veryfast High (B-frames), 2 s GOP, AAC 48 kHz. It runs until the instant clip is
    // ready (at most 120 s), then stops as OBS's "Stop Streaming" does: however long the cut takes on a busy
    // machine, the clip is made while the show is live.
    const encoder = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, {
      seconds: 120,
      gopSeconds: 2,
      x264: { preset: 'veryfast', profile: 'high', tune: null, bitrate: '2500k' },
      audio: { sampleRate: 48000, channels: 2 },
    });
    const session = await waitFor('live', () => node.lc.registry.get(stream.id), 30_000);
    await waitFor('3 s of media', () => session.timeline.duration >= 3.3, 60_000);
    pin = (await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'product.pin', productId: product.id })).body;
    await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'offer.start', productId: product.id, discountPercent: 20 });
    await waitFor('3 s after the pin', () => session.timeline.duration >= pin.mediaTime + 3, 60_000);
    announce = (await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'announcement', text: 'Only today' })).body;
    await waitFor('9.5 s after the pin', () => session.timeline.duration >= pin.mediaTime + 9.5, 60_000);
    unpin = (await node.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'product.unpin', productId: product.id })).body;

    await waitFor('16 s of media', () => session.timeline.duration >= 16, 60_000);
    const instant = await node.api('POST', `/v1/streams/${stream.id}/clips`, { lastSeconds: 6 });
    expect(instant.status).toBe(202);
    expect(instant.body).toEqual({ id: expect.stringMatching(/^clp_/), status: 'queued' });
    const instantClip = await clipReady(node, instant.body.id);
    expect(instantClip.recordingId).toBeNull();
    expect(session.connected).toBe(true); // Ready while the show is still live.
    expect(Math.abs(instantClip.durationSeconds - 6)).toBeLessThan(1);
    const instantMp4 = await probe(instantClip.playback.mp4Url);
    expect(Math.abs(instantMp4.duration - 6)).toBeLessThan(1);

    encoder.process.kill('SIGINT');
    await encoder.exited;
    recording = await waitFor(
      'recording ready',
      async () => {
        const found = (await node.api('GET', `/v1/streams/${stream.id}/recordings`)).body.recordings[0];
        return found?.status === 'ready' ? found : undefined;
      },
      90_000,
    );
  }, 300_000);

  it("cuts a pin's span with its product, decodable, with the cues inside on the clip's time, announced by a signed clip.ready", async () => {
    const created = await node.api('POST', `/v1/recordings/${recording.id}/clips`, { cueId: pin.id });
    expect(created.status).toBe(202);
    const clip = await clipReady(node, created.body.id);
    pinClipId = clip.id;
    const span = unpin.mediaTime - pin.mediaTime;
    expect(clip).toMatchObject({ recordingId: recording.id, streamId: stream.id, productId: product.id, cueId: pin.id, aspect: 'source' });
    expect(clipView.strict().safeParse(clip).error?.issues ?? []).toEqual([]);
    expect(Math.abs(clip.durationSeconds - span)).toBeLessThan(1);
    const mp4 = await probe(clip.playback.mp4Url);
    expect(Math.abs(mp4.duration - span)).toBeLessThan(1);
    expect(mp4.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    const decoded = await decodeVideo(clip.playback.mp4Url);
    expect(decoded.width).toBe(1280);
    expect(Math.abs(decoded.frames - span * 30)).toBeLessThan(30);
    expect((await probe(clip.playback.posterUrl)).streams[0]).toMatchObject({ codec_name: 'mjpeg', width: 1280, height: 720 });

    const playlist = await (await fetch(clip.playback.hlsUrl)).text();
    expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(Math.abs((await decodeVideo(clip.playback.hlsUrl)).frames - span * 30)).toBeLessThan(30);
    // The cues inside sit where they were in the show, moved onto the clip's own time.
    for (const cue of [pin, announce]) {
      const at = dateRangeOffset(playlist, cue.id);
      expect(Math.abs(at.seconds - (cue.mediaTime - pin.mediaTime))).toBeLessThan(0.01);
      expect(Math.abs(at.mediaTime - (cue.mediaTime - pin.mediaTime))).toBeLessThan(0.01);
    }
    expect(playlist).not.toContain(unpin.id);
    const cueTrack = await (await fetch(clip.playback.cuesUrl)).json();
    expect(cueTrack.cues.map((c: { id: string }) => c.id)).toContain(announce.id);

    const listed = (await node.api('GET', `/v1/recordings/${recording.id}/clips`)).body.clips;
    expect(listed.map((c: { id: string }) => c.id)).toContain(clip.id);

    const hook = await waitFor('clip.ready delivered', () =>
      receiver.deliveries.find((d) => d.headers['livecue-event'] === 'clip.ready' && JSON.parse(d.body).data.id === clip.id),
    );
    expect(verifyWebhookSignature(hookSecret, String(hook.headers['livecue-signature']), hook.body)).toBe(true);
    expect(JSON.parse(hook.body).data).toMatchObject({ id: clip.id, status: 'ready', productId: product.id });

    // The public clip: playable URLs, the product card, the offer that ran, the cues; nothing of the admin's.
    const open = await fetch(`${node.baseUrl}/live/clips/${clip.id}`);
    expect(open.status).toBe(200);
    const shown = await open.json();
    expect(shown).toMatchObject({
      id: clip.id,
      title: 'Clip show',
      product: { id: product.id, productUrl: 'https://shop.example/scarf' },
      offer: { type: 'offer.start' },
    });
    expect(publicClip.strict().safeParse(shown).error?.issues ?? []).toEqual([]);
    expect(JSON.stringify(shown)).not.toMatch(/sessionId|recordingId|failureReason|lca_/);
  });

  it('cuts a 9:16 portrait clip', async () => {
    const created = await node.api('POST', `/v1/recordings/${recording.id}/clips`, { start: 5, end: 11, aspect: '9:16', cropX: 0.25 });
    expect(created.status).toBe(202);
    const clip = await clipReady(node, created.body.id);
    const video = await decodeVideo(clip.playback.mp4Url);
    expect(video.width).toBeLessThan(video.height);
    expect(Math.abs(clip.durationSeconds - 6)).toBeLessThan(1);
  });

  it('plays on /clip/<id> in Chromium with the product card, its buy link and the offer, embeddable', async () => {
    const answer = await fetch(`${node.baseUrl}/clip/${pinClipId}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-frame-options')).toBeNull();
    expect(answer.headers.get('content-security-policy')).toContain('frame-ancestors *');
    expect((await fetch(`${node.baseUrl}/clip/not-a-clip`)).status).toBe(404);
    requireChromiumAndPages();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('console', (message) => logs.push(`${message.type()}: ${message.text()}`));
      page.on('pageerror', (error) => logs.push(`pageerror: ${error.message}`));
      await page.goto(`${node.baseUrl}/clip/${pinClipId}`);
      await page
        .waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 1.5, undefined, { timeout: 30_000 })
        .catch(async (error: Error) => {
          const seen = await page.evaluate(() => ({
            status: document.querySelector('#status')?.textContent,
            ready: document.body.dataset.ready,
            src: document.querySelector('video')?.currentSrc,
            error: document.querySelector('video')?.error?.message,
          }));
          throw new Error(`${error.message}; page: ${JSON.stringify(seen)}; console: ${logs.join(' | ')}`);
        });
      const card = page.getByTestId('product');
      expect(await card.textContent()).toContain('Silk scarf');
      expect(await card.getByRole('link', { name: 'Buy now' }).getAttribute('href')).toBe('https://shop.example/scarf');
      expect(await page.getByTestId('offer').textContent()).toContain('20% off');
      // The cues inside light up as the video reaches them: the pin at the clip's start.
      await page.waitForSelector(`li[data-cue-id="${pin.id}"][data-passed="true"]`, { timeout: 10_000 });
      const size = await page.evaluate(() => {
        const video = document.querySelector('video')!;
        return { width: video.videoWidth, height: video.videoHeight };
      });
      expect(size).toEqual({ width: 1280, height: 720 });
    } finally {
      await browser.close();
    }
  });

  it('refuses bad input with clear 400s and unknown things with 404s', async () => {
    const post = (body: unknown, id = recording.id) => node.api('POST', `/v1/recordings/${id}/clips`, body);
    const refusals: [unknown, RegExp][] = [
      [{ start: 8, end: 4 }, /end must come after start/],
      [{ start: 5, end: recording.durationSeconds + 10 }, /beyond the show/],
      [{ cueId: 'cue_0000000000000000' }, /not a cue of this recording/],
      [{ cueId: announce.id }, /not a product\.pin/],
      [{ start: 1, end: 3, aspect: '4:5' }, /aspect/],
      [{ start: 1, end: 3, cropX: 2 }, /cropX/],
      [{ start: 1 }, /end/],
    ];
    for (const [body, message] of refusals) {
      const answer = await post(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(answer.body), JSON.stringify(body)).toMatch(message);
    }
    expect((await post({ start: 1, end: 3 }, 'rec_0000000000000000')).status).toBe(404);
    expect((await node.api('GET', '/v1/clips/clp_0000000000000000')).status).toBe(404);
    expect((await node.api('GET', '/v1/clips/nope')).status).toBe(404);
    expect((await node.api('POST', `/v1/streams/${stream.id}/clips`, { lastSeconds: 10 })).status).toBe(409);
    expect((await node.api('POST', `/v1/streams/${stream.id}/clips`, { lastSeconds: -1 })).status).toBe(400);
  });

  it('deletes a clip, and a deleted recording takes its clips and refuses new ones', async () => {
    const { clips } = (await node.api('GET', `/v1/recordings/${recording.id}/clips`)).body;
    const [first, ...rest] = clips as { id: string; playback: { mp4Url: string } }[];
    expect((await node.api('DELETE', `/v1/clips/${first!.id}`)).status).toBe(204);
    expect((await node.api('GET', `/v1/clips/${first!.id}`)).status).toBe(404);
    expect((await fetch(first!.playback.mp4Url)).status).toBe(404);

    expect((await node.api('DELETE', `/v1/recordings/${recording.id}`)).status).toBe(204);
    expect((await node.api('POST', `/v1/recordings/${recording.id}/clips`, { start: 1, end: 3 })).status).toBe(404);
    for (const clip of rest) {
      expect((await node.api('GET', `/v1/clips/${clip.id}`)).status).toBe(404);
      expect((await fetch(clip.playback.mp4Url)).status).toBe(404);
    }
  });
});

describe('AUTO_CLIPS', () => {
  it('turns every product pin of a show into a clip when its recording is built', async () => {
    const auto = await startTestNode({ RECONNECT_WINDOW_SECONDS: 1, AUTO_CLIPS: true, RECORDING_MP4: false, LADDER: '360' });
    try {
      const stream = (await auto.api('POST', '/v1/streams', { title: 'Auto clips' })).body;
      const product = (await auto.api('POST', '/v1/products', { sku: 'AUTO-1', title: 'Mug', price: 12, currency: 'EUR' })).body;
      const encoder = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 12, size: '640x360', gopSeconds: 2 });
      const session = await waitFor('live', () => auto.lc.registry.get(stream.id), 30_000);
      await waitFor('2 s of media', () => session.timeline.duration >= 2.5, 60_000);
      const first = (await auto.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'product.pin', productId: product.id })).body;
      await waitFor('4 s after the pin', () => session.timeline.duration >= first.mediaTime + 4, 60_000);
      const second = (await auto.api('POST', `/v1/streams/${stream.id}/cues`, { type: 'product.pin', productId: product.id })).body;
      expect(await encoder.exited).toBe(0);
      const recording = await waitFor(
        'recording ready',
        async () => {
          const found = (await auto.api('GET', `/v1/streams/${stream.id}/recordings`)).body.recordings[0];
          return found?.status === 'ready' ? found : undefined;
        },
        90_000,
      );
      const clips = await waitFor(
        'both pins clipped',
        async () => {
          const listed = (await auto.api('GET', `/v1/recordings/${recording.id}/clips`)).body.clips as {
            cueId: string;
            status: string;
            durationSeconds: number;
          }[];
          return listed.length === 2 && listed.every((clip) => clip.status === 'ready') ? listed : undefined;
        },
        90_000,
      );
      const byCue = new Map(clips.map((clip) => [clip.cueId, clip]));
      expect(Math.abs(byCue.get(first.id)!.durationSeconds - (second.mediaTime - first.mediaTime))).toBeLessThan(1);
      expect(Math.abs(byCue.get(second.id)!.durationSeconds - (recording.durationSeconds - second.mediaTime))).toBeLessThan(1);
    } finally {
      await auto.stop();
    }
  }, 300_000);
});

// Every encoder's stream reaches every viewer (issue #13): x264 sources in each profile, at 30 and 60
// fps, landscape and portrait, pushed over RTMP, and a WHIP publisher declaring High, each played by a
// WHEP viewer offering what Debian's Chromium offers (no High) that decodes what it receives; and
// Chromium itself playing a High show on the viewer page.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sdpTransform from 'sdp-transform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStream, startTestNode, type TestNode, waitFor, waitForText } from './helpers/harness.ts';
import { launchChromium, requireChromiumAndPages } from './helpers/chromium.ts';
import type { X264Settings } from './helpers/encoder-args.ts';
import { decodeVideo, playableFirstSegment, pushRtmp } from './helpers/media.ts';
import { CHROMIUM_H264, postSdp, WeriftH264Publisher, WeriftViewer } from './helpers/webrtc.ts';

let node: TestNode;
let scratch: string;

beforeAll(async () => {
  // One small HLS rung: these shows are about the WebRTC path, and six of them run at once on 2 cores.
  node = await startTestNode({ LADDER: '144', RECONNECT_WINDOW_SECONDS: 1 });
  scratch = await mkdtemp(path.join(tmpdir(), 'livecue-h264-'));
});

afterAll(async () => {
  await node?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** The fmtp the answer gives its one video payload type. */
function answeredVideo(answer: string): { payloadType: number; fmtp: string } {
  const video = sdpTransform.parse(answer).media.find((media) => media.type === 'video')!;
  const payloadType = Number(String(video.payloads).split(' ')[0]);
  return { payloadType, fmtp: String(video.fmtp.find((entry) => entry.payload === payloadType)?.config ?? '') };
}

/** At most `limit` shows at once: each costs an x264 encoder and a decoder on 2 shared cores (the pushes run until a case has its frames). */
function limiter(limit: number): <T>(work: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await work();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}
const slot = limiter(3);

interface SourceCase {
  name: string;
  x264: X264Settings;
  size: string;
  rate: number;
  /** What FFmpeg calls the profile of the stream the viewer receives. */
  received: string;
  /** The profile-level-id the producer declares: its profile byte, and its level byte when the encoder was given one. */
  declared: string;
  declaredLevel?: string;
  passthrough: boolean;
  /** The payload type profile (Chromium's offer) the viewer is answered with. */
  answeredProfile: string;
  /** AAC as the encoder sends it (default 48 kHz mono). */
  audio?: { sampleRate: number; channels: number };
}

const CASES: SourceCase[] = [
  // The README's quick-start push and OBS's default: High, no B-frames.
  {
    name: 'x264 veryfast zerolatency (High), 1280x720, 30 fps',
    x264: { preset: 'veryfast' },
    size: '1280x720',
    rate: 30,
    received: 'High',
    declared: '64',
    passthrough: true,
    answeredProfile: 'f4001f',
    audio: { sampleRate: 44100, channels: 2 },
  },
  {
    name: 'x264 ultrafast (Constrained Baseline), 1280x720, 30 fps',
    x264: { preset: 'ultrafast' },
    size: '1280x720',
    rate: 30,
    received: 'Constrained Baseline',
    declared: '42',
    passthrough: true,
    answeredProfile: '42e01f',
  },
  {
    name: 'x264 veryfast -profile:v baseline -level 3.0, portrait 720x1280, 30 fps',
    x264: { preset: 'veryfast', profile: 'baseline', level: '3.0' },
    size: '720x1280',
    rate: 30,
    received: 'Constrained Baseline',
    declared: '42',
    declaredLevel: '1e',
    passthrough: true,
    answeredProfile: '42e01f',
    audio: { sampleRate: 44100, channels: 1 },
  },
  {
    name: 'x264 veryfast -profile:v main, 1280x720, 60 fps',
    x264: { preset: 'veryfast', profile: 'main' },
    size: '1280x720',
    rate: 60,
    received: 'Main',
    declared: '4d',
    passthrough: true,
    answeredProfile: '4d001f',
    audio: { sampleRate: 48000, channels: 2 },
  },
  {
    name: 'x264 veryfast -profile:v high -level 5.1, portrait 720x1280, 60 fps',
    x264: { preset: 'veryfast', profile: 'high', level: '5.1' },
    size: '720x1280',
    rate: 60,
    received: 'High',
    declared: '64',
    declaredLevel: '33',
    passthrough: true,
    answeredProfile: 'f4001f',
  },
  // x264's defaults (B-frames): WebRTC cannot reorder, so the bridge encodes once (constrained baseline).
  {
    name: 'x264 veryfast with B-frames (High, no tune), 1280x720, 30 fps',
    x264: { preset: 'veryfast', tune: null },
    size: '1280x720',
    rate: 30,
    received: 'Constrained Baseline',
    declared: '42',
    passthrough: false,
    answeredProfile: '42e01f',
  },
];

describe('RTMP sources in every profile reach a WHEP viewer that offers what Chromium offers', () => {
  it.concurrent.each(CASES)(
    '$name',
    async (source) => {
      await slot(async () => {
        const stream = await createStream(node, source.name);
        const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, {
          seconds: 30,
          size: source.size,
          rate: source.rate,
          audio: source.audio ?? true,
          x264: { bitrate: '1500k', ...source.x264 },
        });
        const viewer = new WeriftViewer(CHROMIUM_H264);
        try {
          const session = await waitFor('live session', () => node.lc.registry.get(stream.id), 10_000);
          const producer = await waitFor('sfu video producer', () => session.room.producer('video'), 10_000);
          const declared = String(producer.rtpParameters.codecs[0]!.parameters!['profile-level-id']);
          expect(declared.slice(0, 2)).toBe(source.declared);
          if (source.declaredLevel) expect(declared.slice(4)).toBe(source.declaredLevel);
          const bridge = await waitFor(
            'the bridge',
            () => (session.rtmpBridge!.passthrough === undefined ? undefined : { passthrough: session.rtmpBridge!.passthrough }),
            5000,
          );
          expect(bridge.passthrough).toBe(source.passthrough);

          const offer = await viewer.offer();
          expect(offer).not.toMatch(/profile-level-id=64/);
          const result = await postSdp(stream.playback.whepUrl, offer);
          expect(result.status).toBe(201);
          const answered = answeredVideo(result.answer);
          expect(answered.fmtp).toContain(`profile-level-id=${source.answeredProfile}`);
          expect(answered.fmtp).toContain('packetization-mode=1');
          await viewer.accept(result.answer);
          // About five seconds of pictures, from a keyframe on (a busy machine loses some packets on loopback; more than
          // two seconds of them must decode).
          await waitFor('five seconds of video', () => viewer.video.keyframes > 0 && viewer.videoFrames >= source.rate * 5, 40_000);
          const file = path.join(scratch, `${stream.id}.h264`);
          await viewer.video.save(file);
          const decoded = await decodeVideo(file);
          const [width, height] = source.size.split('x').map(Number);
          expect({ width: decoded.width, height: decoded.height, profile: decoded.profile }).toEqual({ width, height, profile: source.received });
          expect(decoded.frames).toBeGreaterThan(source.rate * 2);
          // AAC at 44.1 or 48 kHz, mono or stereo, arrives as Opus.
          expect(viewer.audioPackets).toBeGreaterThan(50);
        } finally {
          await viewer.close();
          push.stop();
        }
      });
    },
    240_000,
  );

  it('a video-only source gives valid HLS and an answer werift accepts (its audio section inactive)', async () => {
    const stream = await createStream(node, 'video only');
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 30, size: '640x360', audio: false, x264: { preset: 'veryfast' } });
    const viewer = new WeriftViewer(CHROMIUM_H264);
    try {
      const session = await waitFor('live session', () => node.lc.registry.get(stream.id), 10_000);
      await waitFor('sfu video producer', () => session.room.producer('video'), 10_000);
      const result = await postSdp(stream.playback.whepUrl, await viewer.offer());
      expect(result.status).toBe(201);
      const audio = sdpTransform.parse(result.answer).media.find((media) => media.type === 'audio')!;
      expect(audio.direction).toBe('inactive');
      await viewer.accept(result.answer);
      await waitFor('two seconds of video', () => viewer.video.keyframes > 0 && viewer.videoFrames >= 60, 40_000);
      const file = path.join(scratch, 'video-only.h264');
      await viewer.video.save(file);
      expect(await decodeVideo(file)).toMatchObject({ width: 640, height: 360, profile: 'High' });
      expect(viewer.audioPackets).toBe(0);

      const master = await waitForText('master playlist', stream.playback.hlsUrl, 30_000);
      expect(master).toMatch(/CODECS="avc1\.[0-9A-Fa-f]{6}"/);
      expect(master).not.toContain('mp4a');
      const playlistUrl = stream.playback.hlsUrl.replace('master.m3u8', '144p/index.m3u8');
      const decoded = await decodeVideo(await playableFirstSegment(playlistUrl));
      expect({ width: decoded.width, height: decoded.height }).toEqual({ width: 256, height: 144 });
      expect(decoded.frames).toBeGreaterThan(30);
    } finally {
      await viewer.close();
      push.stop();
    }
  });

  it('answers 406 with the reason to a viewer whose offer has no H.264 for an H.264 show', async () => {
    const stream = await createStream(node, 'vp8-only viewer');
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 6, size: '640x360', x264: { preset: 'veryfast' } });
    const viewer = new WeriftViewer([{ mimeType: 'video/VP8' }]);
    try {
      const session = await waitFor('live session', () => node.lc.registry.get(stream.id), 10_000);
      await waitFor('sfu video producer', () => session.room.producer('video'), 10_000);
      const refused = await fetch(stream.playback.whepUrl, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: await viewer.offer() });
      expect(refused.status).toBe(406);
      expect((await refused.json()).detail).toMatch(/^this show's video is H\.264 High \(profile-level-id 64[0-9a-f]{4}\); the offer has no H\.264/);
      expect(session.room.viewerCount).toBe(0);
    } finally {
      await viewer.close();
      push.stop();
    }
  });
});

describe('WHIP publishers in any H.264 profile', () => {
  it('takes a publisher declaring High (640c1f): a WHEP viewer decodes it as sent, and the ingest bitrate is measured', async () => {
    const stream = await createStream(node, 'whip high');
    const publisher = new WeriftH264Publisher('640c1f', { size: '640x360', rate: 30 });
    const viewer = new WeriftViewer(CHROMIUM_H264);
    try {
      const published = await postSdp(stream.ingest.whipUrl, await publisher.offer(), { authorization: `Bearer ${stream.ingest.streamKey}` });
      expect(published.status).toBe(201);
      expect(answeredVideo(published.answer).fmtp).toContain('profile-level-id=640c1f');
      await publisher.accept(published.answer);
      const session = await waitFor('live session', () => node.lc.registry.get(stream.id), 10_000);
      expect(session.protocol).toBe('whip');
      const producer = await waitFor('sfu video producer', () => session.room.producer('video'), 10_000);
      expect(producer.rtpParameters.codecs[0]!.parameters!['profile-level-id']).toBe('640c1f');

      const result = await postSdp(stream.playback.whepUrl, await viewer.offer());
      expect(result.status).toBe(201);
      // Chromium offers no Constrained High: High 4:4:4 Predictive is the profile whose decoders take it.
      expect(answeredVideo(result.answer).fmtp).toContain('profile-level-id=f4001f');
      await viewer.accept(result.answer);
      await waitFor('three seconds of video', () => viewer.video.keyframes > 0 && viewer.videoFrames >= 90, 20_000);
      const file = path.join(scratch, 'whip-high.h264');
      await viewer.video.save(file);
      const decoded = await decodeVideo(file);
      expect({ width: decoded.width, height: decoded.height, profile: decoded.profile }).toEqual({ width: 640, height: 360, profile: 'High' });
      expect(decoded.frames).toBeGreaterThan(40);

      // The publisher sends about 800 kb/s: the gauge reads the transport's real bytes.
      const bitrate = await waitFor(
        'ingest bitrate',
        async () => {
          const metrics = await (await fetch(`${node.baseUrl}/metrics`)).text();
          const line = metrics.split('\n').find((entry) => entry.startsWith('livecue_ingest_bitrate_bits_per_second') && entry.includes(stream.id));
          const value = Number(line?.split(' ').at(-1));
          return value > 0 ? value : undefined;
        },
        10_000,
      );
      expect(bitrate).toBeGreaterThan(200_000);
      expect(bitrate).toBeLessThan(5_000_000);

      // The same show reaches HLS through the SFU -> FFmpeg bridge.
      await waitFor('master playlist', async () => (await fetch(stream.playback.hlsUrl)).ok || undefined, 30_000);
      const playlistUrl = stream.playback.hlsUrl.replace('master.m3u8', '144p/index.m3u8');
      await waitFor(
        'a segment',
        async () => {
          const playlist = await (await fetch(playlistUrl)).text();
          return playlist.split('\n').find((line) => line && !line.startsWith('#'));
        },
        20_000,
      );
      const rung = await decodeVideo(await playableFirstSegment(playlistUrl));
      expect({ width: rung.width, height: rung.height }).toEqual({ width: 256, height: 144 });
      expect(rung.frames).toBeGreaterThan(20);
    } finally {
      await viewer.close();
      await publisher.close();
    }
  });
});

describe('Chromium', () => {
  it('plays a High-profile RTMP show over WebRTC on the viewer page, at its size', async () => {
    requireChromiumAndPages();
    const stream = await createStream(node, 'chromium high');
    // The README's quick-start push: x264 veryfast, zerolatency (High, no B-frames).
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, {
      seconds: 25,
      size: '1280x720',
      rate: 30,
      x264: { preset: 'veryfast', bitrate: '2000k' },
    });
    const browser = await launchChromium();
    try {
      const session = await waitFor('live session', () => node.lc.registry.get(stream.id), 10_000);
      const producer = await waitFor('sfu video producer', () => session.room.producer('video'), 10_000);
      expect(String(producer.rtpParameters.codecs[0]!.parameters!['profile-level-id'])).toMatch(/^6400/);
      expect(await waitFor('the bridge', () => session.rtmpBridge!.passthrough, 5000)).toBe(true);

      const page = await browser.newPage();
      const exchanges: { offer: string; answer: string }[] = [];
      page.on('response', async (response) => {
        if (response.request().method() === 'POST' && response.url().includes('/whep/') && response.status() === 201) {
          exchanges.push({ offer: response.request().postData() ?? '', answer: await response.text() });
        }
      });
      await page.goto(`${node.baseUrl}/watch/${stream.playbackId}`);
      await page.waitForSelector('body[data-path="webrtc"]', { timeout: 20_000 });
      await page.waitForFunction(
        () => {
          const video = document.querySelector('video')!;
          return video.videoWidth > 0 && video.getVideoPlaybackQuality().totalVideoFrames > 60;
        },
        undefined,
        { timeout: 15_000 },
      );
      const shown = await page.evaluate(() => {
        const video = document.querySelector('video')!;
        return { width: video.videoWidth, height: video.videoHeight, frames: video.getVideoPlaybackQuality().totalVideoFrames };
      });
      expect(shown.width).toBe(1280);
      expect(shown.height).toBe(720);
      expect(await page.getAttribute('body', 'data-path')).toBe('webrtc');

      // Chromium offered no High profile; it was answered with one of its own H.264 payload types.
      const exchange = exchanges.at(-1)!;
      expect(exchange.offer).toMatch(/H264\/90000/);
      expect(exchange.offer).not.toMatch(/profile-level-id=64/);
      const answered = answeredVideo(exchange.answer);
      expect(exchange.offer).toContain(`a=rtpmap:${answered.payloadType} H264/90000`);
      expect(exchange.offer).toContain(`a=fmtp:${answered.payloadType} ${answered.fmtp}`);
    } finally {
      await browser.close();
      push.stop();
    }
  });
});

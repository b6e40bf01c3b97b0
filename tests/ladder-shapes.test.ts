// The HLS ladder keeps a source's shape and frame rate policy: a portrait 60 fps source gives portrait
// renditions sized by their short side (never landscape, never upscaled), 60 fps on the 720 rung and
// 30 fps below, each decoded from the stored segments by FFmpeg.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode, waitFor, waitForText } from './helpers/harness.ts';
import { decodeVideo, pushRtmp } from './helpers/media.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RECONNECT_WINDOW_SECONDS: 1 });
});

afterAll(async () => {
  await node?.stop();
});

describe('HLS ladder shapes', () => {
  it('encodes a portrait 720x1280 60 fps source as 720x1280@60, 480x854@30 and 360x640@30', async () => {
    const { body: stream } = await node.api('POST', '/v1/streams', { title: 'portrait' });
    // A phone held upright: 720x1280, 60 fps; the encoder says its frame rate in the FLV metadata.
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 8, size: '720x1280', rate: 60, gopSeconds: 2 });
    try {
      const master = await waitForText('master playlist', stream.playback.hlsUrl, 40_000);
      expect(master).toContain('RESOLUTION=720x1280');
      expect(master).toContain('RESOLUTION=480x854');
      expect(master).toContain('RESOLUTION=360x640');
      expect(master).not.toMatch(/RESOLUTION=(1280x720|854x480|640x360)/);
      expect(master).toMatch(/RESOLUTION=720x1280,.*FRAME-RATE=60\.000/);
      expect(master).toMatch(/RESOLUTION=480x854,.*FRAME-RATE=30\.000/);
      expect(await push.exited).toBe(0);
      await waitFor('stream ended', async () => (await node.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 30_000);

      const decoded = await Promise.all(
        ['720p', '480p', '360p'].map((name) => decodeVideo(stream.playback.hlsUrl.replace('master.m3u8', `${name}/index.m3u8`))),
      );
      expect(decoded.map(({ width, height, frameRate }) => ({ width, height, frameRate }))).toEqual([
        { width: 720, height: 1280, frameRate: 60 },
        { width: 480, height: 854, frameRate: 30 },
        { width: 360, height: 640, frameRate: 30 },
      ]);
      // Several seconds of pictures in each rendition, at its own rate.
      expect(decoded[0]!.frames).toBeGreaterThan(4 * 60);
      expect(decoded[1]!.frames).toBeGreaterThan(4 * 30);
      expect(decoded[1]!.frames).toBeLessThan(decoded[0]!.frames);
    } finally {
      push.stop();
    }
  });
});

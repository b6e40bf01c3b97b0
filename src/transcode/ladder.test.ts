import { describe, expect, it } from 'vitest';
import { parseLadderHeights, renditionLadder } from './ladder.ts';

const heights = parseLadderHeights('1080,720,480,360');

describe('renditionLadder', () => {
  it('never upscales: 720p gives 720/480/360, 1080p gives four rungs', () => {
    const from720 = renditionLadder({ width: 1280, height: 720, frameRate: 30, videoCodec: 'h264' }, { heights, passthrough: false });
    expect(from720.map((r) => `${r.width}x${r.height}`)).toEqual(['1280x720', '854x480', '640x360']);
    const from1080 = renditionLadder({ width: 1920, height: 1080, frameRate: 30, videoCodec: 'h264' }, { heights, passthrough: false });
    expect(from1080.map((r) => r.name)).toEqual(['1080p', '720p', '480p', '360p']);
    expect(from1080.every((r, i, all) => i === 0 || r.videoBitrate < all[i - 1]!.videoBitrate)).toBe(true);
  });

  it('keeps an in-between or tiny source at its own height', () => {
    expect(renditionLadder({ width: 1600, height: 900, frameRate: 30, videoCodec: 'h264' }, { heights, passthrough: false }).map((r) => r.name)).toEqual([
      '900p',
      '720p',
      '480p',
      '360p',
    ]);
    expect(renditionLadder({ width: 320, height: 240, frameRate: 30, videoCodec: 'h264' }, { heights, passthrough: false }).map((r) => r.name)).toEqual([
      '240p',
    ]);
  });

  it('caps a 4K source at the top rung, keeping its aspect ratio', () => {
    const ladder = renditionLadder({ width: 3840, height: 2160, frameRate: 60, videoCodec: 'h264' }, { heights, passthrough: false });
    expect(ladder[0]).toMatchObject({ width: 1920, height: 1080, frameRate: 60 });
    // Higher frame rate, more bits than the same size at 30 fps.
    expect(ladder[0]!.videoBitrate).toBeGreaterThan(5_000_000);
  });

  it('passes an H.264 source through as the top rung only when asked and when it fits', () => {
    const source = { width: 1280, height: 720, frameRate: 30, videoCodec: 'h264' as const };
    expect(renditionLadder(source, { heights, passthrough: true })[0]!.passthrough).toBe(true);
    expect(renditionLadder(source, { heights, passthrough: false })[0]!.passthrough).toBe(false);
    expect(renditionLadder({ ...source, videoCodec: 'other' }, { heights, passthrough: true })[0]!.passthrough).toBe(false);
    expect(renditionLadder({ ...source, width: 3840, height: 2160 }, { heights, passthrough: true })[0]!.passthrough).toBe(false);
  });

  it('keeps a portrait source portrait: rungs by the short side, never landscape, never upscaled', () => {
    const from1080x1920 = renditionLadder({ width: 1080, height: 1920, frameRate: 30, videoCodec: 'h264' }, { heights, passthrough: false });
    expect(from1080x1920.map((r) => `${r.name} ${r.width}x${r.height}`)).toEqual(['1080p 1080x1920', '720p 720x1280', '480p 480x854', '360p 360x640']);
    const from720x1280 = renditionLadder({ width: 720, height: 1280, frameRate: 30, videoCodec: 'h264' }, { heights, passthrough: true });
    expect(from720x1280.map((r) => `${r.width}x${r.height}`)).toEqual(['720x1280', '480x854', '360x640']);
    expect(from720x1280[0]!.passthrough).toBe(true);
    // The same bits as the landscape rung of the same pixel count.
    expect(from1080x1920[1]!.videoBitrate).toBe(
      renditionLadder({ width: 1280, height: 720, frameRate: 30, videoCodec: 'h264' }, { heights, passthrough: false })[0]!.videoBitrate,
    );
  });

  it('keeps 60 fps on rungs of 720 and up, halves it below', () => {
    const ladder = renditionLadder({ width: 1920, height: 1080, frameRate: 60, videoCodec: 'h264' }, { heights, passthrough: false });
    expect(ladder.map((r) => `${r.name}@${r.frameRate}`)).toEqual(['1080p@60', '720p@60', '480p@30', '360p@30']);
    expect(renditionLadder({ width: 1280, height: 720, frameRate: 50, videoCodec: 'h264' }, { heights, passthrough: false }).map((r) => r.frameRate)).toEqual([
      50, 25, 25,
    ]);
    expect(renditionLadder({ width: 1280, height: 720, frameRate: 30, videoCodec: 'h264' }, { heights, passthrough: false }).map((r) => r.frameRate)).toEqual([
      30, 30, 30,
    ]);
  });

  it('parses the LADDER option into unique heights, top first', () => {
    expect(parseLadderHeights('360,720,720,1080')).toEqual([1080, 720, 360]);
  });
});

// Reads, in a real browser, how old the picture on screen is: a sampler installed in the page draws the playing
// <video> into a canvas on requestVideoFrameCallback (a few times a second), keeps the stamp band of the frame
// with the time it is shown, and the bench decodes the stamps (lib/frame-clock.ts) in Node.
import type { Page } from 'playwright-core';
import { bandHeight, readStamp } from './frame-clock.ts';

/** Frames are scaled to this size in the page before the band is read, whatever the rendition. */
const READ_WIDTH = 480;
const READ_HEIGHT = 270;

export interface ShownFrame {
  /** Wall-clock ms at which the browser expected to show the frame (rVFC expectedDisplayTime). */
  shownAt: number;
  /** The frame's capture time (its stamp), when it could be read. */
  stamp?: number;
}

interface RawSample {
  shownAt: number;
  band: string;
}

/** Starts sampling the page's first <video> every `everyMs` (once per presented frame at most). */
/**
 * The sampler, as page source: the bench runs under tsx, whose transform adds helpers (esbuild's __name) to
 * functions that the page does not have, so the code goes to the page as text.
 */
const SAMPLER = `(({ width, height, band, everyMs }) => {
  window.__frameSamples = [];
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  let last = 0;
  const attach = () => {
    const video = document.querySelector('video');
    if (!video) return void setTimeout(attach, 100);
    const onFrame = (now, metadata) => {
      if (now - last >= everyMs) {
        last = now;
        context.drawImage(video, 0, 0, width, height);
        const rgba = context.getImageData(0, 0, width, band).data;
        let binary = '';
        // The green channel stands in for luma: the stamp's cells are black or white.
        for (let i = 0; i < width * band; i++) binary += String.fromCharCode(rgba[i * 4 + 1]);
        window.__frameSamples.push({ shownAt: performance.timeOrigin + metadata.expectedDisplayTime, band: btoa(binary) });
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };
  attach();
})`;

/** Starts sampling the page's first <video> every `everyMs` (once per presented frame at most). */
export async function startFrameSampling(page: Page, everyMs = 200): Promise<void> {
  const options = { width: READ_WIDTH, height: READ_HEIGHT, band: bandHeight(READ_HEIGHT), everyMs };
  await page.evaluate(`${SAMPLER}(${JSON.stringify(options)})`);
}

/** The frames sampled since the last call, their stamps decoded. */
export async function takeShownFrames(page: Page): Promise<ShownFrame[]> {
  const raw = await page.evaluate<RawSample[]>('(() => { const samples = window.__frameSamples ?? []; window.__frameSamples = []; return samples; })()');
  const band = bandHeight(READ_HEIGHT);
  return raw.map(({ shownAt, band: encoded }) => {
    const gray = Buffer.alloc(READ_WIDTH * READ_HEIGHT);
    Buffer.from(encoded, 'base64').copy(gray, 0, 0, READ_WIDTH * band);
    return { shownAt, stamp: readStamp(gray, READ_WIDTH, READ_HEIGHT) };
  });
}

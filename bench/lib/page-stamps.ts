// Reads, in a real browser, how old the picture on screen is: a sampler installed in the page reads the stamp of the
// playing <video>'s frame on requestVideoFrameCallback (a few times a second) with the time the frame is shown.
import type { Page } from 'playwright-core';
import { PAGE_STAMP_READER } from './page-cue-probe.ts';

export interface ShownFrame {
  /** Wall-clock ms at which the browser expected to show the frame (rVFC expectedDisplayTime). */
  shownAt: number;
  /** The frame's capture time (its stamp), when it could be read. */
  stamp?: number;
}

/**
 * The sampler, as page source (the bench runs under tsx, whose transform adds helpers that the page does not have):
 * the stamp of each sampled frame is read in the page by lib/page-cue-probe.ts's reader.
 */
const SAMPLER = `(({ everyMs }) => {
  window.__frameSamples = [];
  let last = 0;
  const attach = () => {
    const video = document.querySelector('video');
    if (!video) return void setTimeout(attach, 100);
    const onFrame = (now, metadata) => {
      if (now - last >= everyMs) {
        last = now;
        window.__frameSamples.push({ shownAt: performance.timeOrigin + metadata.expectedDisplayTime, stamp: window.__stampOnScreen() });
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };
  attach();
})`;

/** Starts sampling the page's first <video> every `everyMs` (once per presented frame at most). */
export async function startFrameSampling(page: Page, everyMs = 200): Promise<void> {
  await page.evaluate(`${PAGE_STAMP_READER}; ${SAMPLER}(${JSON.stringify({ everyMs })})`);
}

/** The frames sampled since the last call. */
export async function takeShownFrames(page: Page): Promise<ShownFrame[]> {
  const raw = await page.evaluate<{ shownAt: number; stamp: number | null }[]>(
    '(() => { const samples = window.__frameSamples ?? []; window.__frameSamples = []; return samples; })()',
  );
  return raw.map(({ shownAt, stamp }) => ({ shownAt, stamp: stamp ?? undefined }));
}

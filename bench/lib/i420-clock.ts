// The frame clock (lib/frame-clock.ts) on I420 frames: the stamp band is written into and read from the luma plane.
import { bandHeight, readStamp, stampBand } from './frame-clock.ts';

/** Writes `ms` as the stamp band over the top of the Y plane of an I420 frame (in place). */
export function stampI420(frame: Uint8Array | Uint8ClampedArray, width: number, height: number, ms: number): void {
  const band = stampBand(ms, width, height);
  frame.set(band.subarray(0, width * bandHeight(height)), 0);
}

/** The time stamped in a decoded I420 frame (its Y plane is a gray image), or undefined. */
export function readI420Stamp(frame: Uint8Array | Uint8ClampedArray, width: number, height: number): number | undefined {
  const luma = Buffer.from(frame.buffer, frame.byteOffset, width * height);
  return readStamp(luma, width, height);
}

// A libwebrtc WHEP viewer (VP8 only: this build of wrtc offers no H.264) that reads the capture time stamped by
// the publisher (lib/i420-clock.ts) from every decoded frame.
import { WrtcViewer, type DecodedFrame } from '../../tests/helpers/wrtc-peers.ts';
import { readI420Stamp } from './i420-clock.ts';

export interface StampedFrame {
  /** Date.now() when the decoded frame reached the sink. */
  at: number;
  /** The capture time read from the frame, undefined when unreadable. */
  stamp?: number;
}

export class StampViewer extends WrtcViewer {
  readonly frames: StampedFrame[] = [];

  /** `keep` false: only the first frame's time is wanted (joins), so no stamp is read. */
  constructor(private readonly keep = true) {
    super();
  }

  protected override frameDecoded(frame: DecodedFrame, at: number): void {
    if (this.keep) this.frames.push({ at, stamp: readI420Stamp(frame.data, frame.width, frame.height) });
  }
}

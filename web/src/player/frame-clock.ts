// Where the frame the video element presents sits on the show's timeline, taken for each frame from
// requestVideoFrameCallback: a cue fires in the callback of the frame that reaches its time, so it shows
// with that frame on every path, whatever the page's timers do.

/** Returns the frame's place on the timeline (ms since the epoch, or seconds of media time), NaN while unknown. */
export type PlaceFrame = (metadata: VideoFrameCallbackMetadata) => number;

type FrameListener = (position: number) => void;

export class VideoFrameClock {
  readonly #video: HTMLVideoElement;
  readonly #place: PlaceFrame;
  readonly #listeners = new Set<FrameListener>();
  #position = Number.NaN;
  #callback: number | undefined;
  #closed = false;

  constructor(video: HTMLVideoElement, place: PlaceFrame) {
    this.#video = video;
    this.#place = place;
    this.#callback = video.requestVideoFrameCallback(this.#onFrame);
  }

  /** Whether this browser reports presented frames (every current engine does; old ones fall back to timers). */
  static supported(video: HTMLVideoElement): boolean {
    return 'requestVideoFrameCallback' in video;
  }

  /** The place of the frame presented last; NaN before the first one or when it cannot be placed. */
  get position(): number {
    return this.#position;
  }

  /** Called with each presented frame's place, before it is composited; returns a function that removes the listener. */
  onFrame(listener: FrameListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    if (this.#callback !== undefined) this.#video.cancelVideoFrameCallback(this.#callback);
  }

  readonly #onFrame = (_now: number, metadata: VideoFrameCallbackMetadata): void => {
    if (this.#closed) return;
    this.#callback = this.#video.requestVideoFrameCallback(this.#onFrame);
    this.#position = this.#place(metadata);
    for (const listener of [...this.#listeners]) {
      try {
        listener(this.#position);
      } catch (error) {
        console.error('frame listener threw', error);
      }
    }
  };
}

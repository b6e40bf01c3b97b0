// The segments a transcoder run finishes: FFmpeg lists each one in its rendition's media playlist
// once it is whole, so polling those playlists tells which are new, and a last poll after FFmpeg
// exits catches the final segment of every rendition.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FfmpegProcess } from '../ffmpeg/ffmpeg-process.ts';
import type { Logger } from '../log.ts';
import { TypedEmitter } from '../contract/typed-emitter.ts';
import { parseMediaPlaylist } from './playlist.ts';

export interface FinishedSegment {
  rendition: string;
  file: string;
  duration: number;
}

export type SegmentWatcherEvents = {
  segment: [FinishedSegment];
  /** FFmpeg is gone and every segment it wrote has been reported. */
  done: [];
};

const POLL_MS = 150;

export class SegmentWatcher extends TypedEmitter<SegmentWatcherEvents> {
  readonly #reported = new Map<string, number>();
  readonly #poller: NodeJS.Timeout;

  /** Makes each rendition's folder under `outDir` (FFmpeg does not) before FFmpeg starts. */
  static prepare(outDir: string, renditions: string[]): void {
    for (const name of renditions) mkdirSync(path.join(outDir, name), { recursive: true });
  }

  constructor(
    private readonly outDir: string,
    private readonly renditions: string[],
    process: FfmpegProcess,
    logger: Logger,
  ) {
    super((error, event) => logger.error({ err: error, event }, 'segment listener threw'));
    this.#poller = setInterval(() => this.#poll(), POLL_MS);
    void process.exited.then(() => {
      clearInterval(this.#poller);
      this.#poll();
      this.emit('done');
    });
  }

  /** Reports segments that FFmpeg has finished and listed since the last poll. */
  #poll(): void {
    for (const rendition of this.renditions) {
      let text: string;
      try {
        text = readFileSync(path.join(this.outDir, rendition, 'index.m3u8'), 'utf8');
      } catch {
        continue;
      }
      const { segments } = parseMediaPlaylist(text);
      const reported = this.#reported.get(rendition) ?? 0;
      // FFmpeg numbers segments seg_000000, seg_000001, ... so the index tells what is new.
      for (const segment of segments) {
        const index = Number.parseInt(/(\d+)\.ts$/.exec(segment.uri)?.[1] ?? '-1', 10);
        if (index < reported) continue;
        this.#reported.set(rendition, index + 1);
        this.emit('segment', { rendition, file: path.join(this.outDir, rendition, segment.uri), duration: segment.duration });
      }
    }
  }
}

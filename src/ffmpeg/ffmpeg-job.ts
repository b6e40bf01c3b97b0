// A one-shot FFmpeg (a poster, a thumbnail, a replay's MP4 remux): run to completion in a process
// group of its own, and killed with that whole group when it outlasts its time, so a hung FFmpeg
// fails its job (which the queue retries) instead of holding a worker forever.
import { OwnedProcessTimeout, execFileOwned } from '../owned-process.ts';

/** The least any FFmpeg job gets: start-up and one frame, on a busy machine. */
export const FFMPEG_JOB_MIN_TIMEOUT_MS = 60_000;
/** Per second of media the job reads: stream copies and single frames run far faster than real time. */
export const FFMPEG_JOB_MS_PER_MEDIA_SECOND = 250;

/** The time an FFmpeg job reading `mediaSeconds` of media gets before it is killed. */
export function ffmpegJobTimeoutMs(mediaSeconds: number): number {
  return Math.max(FFMPEG_JOB_MIN_TIMEOUT_MS, Math.ceil(mediaSeconds * FFMPEG_JOB_MS_PER_MEDIA_SECOND));
}

export async function runFfmpegJob(options: {
  ffmpegPath: string;
  /** What the job makes, for the error ("poster", "mp4"). */
  what: string;
  args: string[];
  timeoutMs: number;
  maxBuffer?: number;
}): Promise<void> {
  try {
    await execFileOwned(options.ffmpegPath, options.args, { timeout: options.timeoutMs, ...(options.maxBuffer ? { maxBuffer: options.maxBuffer } : {}) });
  } catch (error) {
    if (error instanceof OwnedProcessTimeout) {
      throw new Error(`ffmpeg (${options.what}) did not finish within ${options.timeoutMs / 1000} s; it was killed with its process group`, { cause: error });
    }
    throw error;
  }
}

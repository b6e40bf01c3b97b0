import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FFMPEG_JOB_MIN_TIMEOUT_MS, ffmpegJobTimeoutMs, runFfmpegJob } from './ffmpeg-job.ts';
import { processAlive } from '../owned-process.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'livecue-ffmpeg-job-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('an FFmpeg job', () => {
  it('gets time in proportion to its media, never less than the floor', () => {
    expect(ffmpegJobTimeoutMs(0)).toBe(FFMPEG_JOB_MIN_TIMEOUT_MS);
    expect(ffmpegJobTimeoutMs(2)).toBe(FFMPEG_JOB_MIN_TIMEOUT_MS);
    expect(ffmpegJobTimeoutMs(3 * 3600)).toBeGreaterThan(ffmpegJobTimeoutMs(3600));
    expect(ffmpegJobTimeoutMs(3600)).toBeGreaterThan(FFMPEG_JOB_MIN_TIMEOUT_MS);
  });

  it('that hangs fails with a clear error, its whole process group killed', async () => {
    // A stand-in FFmpeg that hangs, with a child of its own (as a filter or protocol helper could be).
    const hung = path.join(dir, 'hung-ffmpeg');
    const pidFile = path.join(dir, 'grandchild.pid');
    await writeFile(hung, `#!/bin/sh\nsleep 60 &\necho $! > ${pidFile}\nwait\n`, { mode: 0o755 });
    const startedAt = Date.now();
    await expect(runFfmpegJob({ ffmpegPath: hung, what: 'poster', args: [], timeoutMs: 500 })).rejects.toThrow(
      'ffmpeg (poster) did not finish within 0.5 s; it was killed with its process group',
    );
    expect(Date.now() - startedAt).toBeLessThan(5000);
    const grandchild = Number(await readFile(pidFile, 'utf8'));
    expect(grandchild).toBeGreaterThan(0);
    await expect.poll(() => processAlive(grandchild), { timeout: 2000 }).toBe(false);
  });

  it('that finishes in time succeeds, and one that fails says so', async () => {
    await runFfmpegJob({ ffmpegPath: '/bin/true', what: 'poster', args: [], timeoutMs: 5000 });
    await expect(runFfmpegJob({ ffmpegPath: '/bin/false', what: 'poster', args: [], timeoutMs: 5000 })).rejects.toThrow(/Command failed/);
  });
});

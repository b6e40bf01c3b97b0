// The supervised FFmpeg's own lifecycle, with real child processes (small node scripts stand in for FFmpeg):
// readiness, stderr logged line by line, died vs closed, SIGTERM then SIGKILL, restarts with backoff.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../log.ts';
import { FfmpegProcess, type FfmpegExit } from './ffmpeg-process.ts';
import { FfmpegSupervisor } from './ffmpeg-supervisor.ts';
import { processAlive } from '../owned-process.ts';

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('debug', new Writable({ write: (chunk, _e, done) => (lines.push(JSON.parse(chunk.toString())), done()) }));
  return { logger, lines };
}

/** A stand-in FFmpeg running `script` under node; 'pipe:0' says it reads stdin, as FFmpeg fed FLV does. */
const fakeFfmpeg = (script: string, options: { logger?: Logger; ready?: (child: FfmpegProcess) => Promise<void>; stopTimeoutMs?: number } = {}) =>
  FfmpegProcess.start({
    ffmpegPath: process.execPath,
    args: ['-e', script, 'pipe:0'],
    logger: options.logger ?? capturedLogger().logger,
    ready: options.ready,
    stopTimeoutMs: options.stopTimeoutMs ?? 100,
  });

describe('FfmpegProcess', () => {
  it('logs stderr line by line with its pid, and reports a death with the stderr tail', async () => {
    const { logger, lines } = capturedLogger();
    const child = await fakeFfmpeg(
      "process.stderr.write('first li'); setTimeout(() => { process.stderr.write('ne\\nsecond line\\n'); process.exit(3); }, 50);",
      { logger: logger.child({ stream: 'abc' }) },
    );
    const died = new Promise<FfmpegExit>((resolve) => child.once('died', resolve));
    const exit = await died;
    expect(exit.code).toBe(3);
    expect(exit.stderr).toContain('first line\nsecond line');
    const said = lines.filter((line) => String(line.msg).startsWith('ffmpeg: '));
    expect(said.map((line) => line.msg)).toEqual(['ffmpeg: first line', 'ffmpeg: second line']);
    expect(said.every((line) => line.pid === child.pid && line.stream === 'abc')).toBe(true);
  });

  it('close() ends the input and lets a reader finish: no SIGTERM, no `died`', async () => {
    const child = await fakeFfmpeg("process.stdin.resume(); process.stdin.on('end', () => process.exit(0));", { stopTimeoutMs: 5000 });
    let died = false;
    child.on('died', () => (died = true));
    const startedAt = Date.now();
    await child.close();
    expect(await child.exited).toMatchObject({ code: 0, signal: null });
    expect(Date.now() - startedAt).toBeLessThan(2000);
    expect(died).toBe(false);
  });

  it('close() of a child that ignores SIGTERM ends in SIGKILL; every caller awaits the one close', async () => {
    // Ready once it says so on its progress output, i.e. once its SIGTERM handler is in place.
    const script = "process.on('SIGTERM', () => console.error('ignoring SIGTERM')); console.log('speed=1x\\nprogress=continue'); setInterval(() => {}, 1000);";
    const ready = (started: FfmpegProcess) => new Promise<void>((resolve) => started.once('progress', () => resolve()));
    const child = await fakeFfmpeg(script, { ready });
    let died = false;
    child.on('died', () => (died = true));
    const first = child.close();
    expect(child.close()).toBe(first);
    await first;
    const exit = await child.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(exit.stderr).toContain('ignoring SIGTERM');
    expect(processAlive(child.pid)).toBe(false);
    expect(died).toBe(false);
  });

  it('start() resolves on the readiness signal the caller defines, and closes a child that never gets ready', async () => {
    const ready = (child: FfmpegProcess) =>
      new Promise<void>((resolve, reject) => {
        child.on('progress', () => resolve());
        child.on('exited', () => reject(new Error('exited before it was ready')));
      });
    const script = "setTimeout(() => console.log('out_time_us=1000000\\nspeed=1.5x\\nprogress=continue'), 100); setInterval(() => {}, 1000);";
    const child = await fakeFfmpeg(script, { ready });
    expect(child.running).toBe(true);
    await child.close();
    await expect(
      FfmpegProcess.start({ ffmpegPath: process.execPath, args: ['-e', 'process.exit(1)', 'pipe:0'], logger: capturedLogger().logger, ready }),
    ).rejects.toThrow('exited before it was ready');
  });

  it('names a missing binary', async () => {
    await expect(FfmpegProcess.start({ ffmpegPath: '/nonexistent/ffmpeg', args: [], logger: capturedLogger().logger })).rejects.toThrow(
      'ffmpeg not found at "/nonexistent/ffmpeg"',
    );
  });
});

describe('FfmpegSupervisor', () => {
  it('restarts a child that dies only after the backoff, and gives up after too many failures', async () => {
    const { logger } = capturedLogger();
    const supervisor = new FfmpegSupervisor({ backoffMs: (failures) => 200 * failures, maxFailures: 2 }, logger);
    const deaths: { code: number | null; failures: number; retryInMs: number }[] = [];
    supervisor.on('died', ({ code, failures, retryInMs }) => deaths.push({ code, failures, retryInMs }));
    let gaveUp = 0;
    supervisor.on('gaveUp', ({ failures }) => (gaveUp = failures));
    const crashing = () => fakeFfmpeg('setTimeout(() => process.exit(7), 50);', { logger });

    const first = await supervisor.start(crashing);
    expect(supervisor.current).toBe(first);
    await first!.exited;
    await waitUntil(() => deaths.length === 1);
    expect(deaths[0]).toMatchObject({ code: 7, failures: 1 });
    expect(deaths[0]!.retryInMs).toBeGreaterThan(100);
    expect(supervisor.current).toBeUndefined();
    // Within the backoff no start happens; after it, one does.
    expect(supervisor.canStart).toBe(false);
    expect(await supervisor.start(crashing)).toBeUndefined();
    await waitUntil(() => supervisor.canStart);
    const second = await supervisor.start(crashing);
    expect(second!.pid).not.toBe(first!.pid);
    await waitUntil(() => deaths.length === 2);
    expect(deaths[1]!.retryInMs).toBeGreaterThan(300);

    await waitUntil(() => supervisor.canStart);
    await supervisor.start(crashing);
    await waitUntil(() => gaveUp > 0);
    expect(gaveUp).toBe(3);
    expect(supervisor.closed).toBe(true);
    expect(supervisor.canStart).toBe(false);
  });

  it('retries a pulled source by itself once the backoff is over', async () => {
    const { logger } = capturedLogger();
    const supervisor = new FfmpegSupervisor({ backoffMs: () => 150 }, logger);
    const pids: number[] = [];
    const launch = async () => {
      const child = await fakeFfmpeg(pids.length === 0 ? 'process.exit(1)' : 'setInterval(() => {}, 1000);', { logger });
      pids.push(child.pid);
      return child;
    };
    const diedAt: number[] = [];
    supervisor.on('died', () => {
      diedAt.push(Date.now());
      supervisor.retryAfterBackoff(() => void supervisor.start(launch));
    });
    await supervisor.start(launch);
    await waitUntil(() => pids.length === 2 && supervisor.current !== undefined);
    expect(supervisor.current!.pid).toBe(pids[1]);
    expect(supervisor.current!.startedAt - diedAt[0]!).toBeGreaterThanOrEqual(140);
    await supervisor.close();
    expect(processAlive(pids[1]!)).toBe(false);
  });

  it('keeps what is written while FFmpeg starts and writes it after the first input; a stop abandons the start', async () => {
    const { logger } = capturedLogger();
    const supervisor = new FfmpegSupervisor({ backoffMs: () => 1000, writesKeptWhileStarting: 2 }, logger);
    const echo = "let got = ''; process.stdin.on('data', (d) => (got += d)); process.stdin.on('end', () => { console.error('got ' + got); process.exit(0); });";
    const slowLaunch = async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return fakeFfmpeg(echo, { logger, stopTimeoutMs: 2000 });
    };
    const starting = supervisor.start(slowLaunch, [Buffer.from('head,')]);
    expect(supervisor.starting).toBe(true);
    for (const part of ['a,', 'b,', 'c,']) supervisor.write(Buffer.from(part));
    const child = await starting;
    supervisor.write(Buffer.from('d'));
    await supervisor.stop();
    expect((await child!.exited).stderr).toContain('got head,a,b,d');

    // The input ends while FFmpeg starts: what started is closed at once, and no failure is counted.
    const abandoned = supervisor.start(slowLaunch);
    const stopped = supervisor.stop();
    expect(await abandoned).toBeUndefined();
    await stopped;
    await supervisor.close();
    expect(supervisor.failures).toBe(0);
  });

  it('starts the failure count over after a run that stayed healthy long enough', async () => {
    const { logger } = capturedLogger();
    const supervisor = new FfmpegSupervisor({ backoffMs: () => 10, stableAfterMs: 150 }, logger);
    const crashing = () => fakeFfmpeg('setTimeout(() => process.exit(1), 300);', { logger });
    await supervisor.start(crashing);
    await waitUntil(() => supervisor.failures === 1, 5000);
    await waitUntil(() => supervisor.canStart);
    await supervisor.start(crashing);
    supervisor.healthy();
    await waitUntil(() => supervisor.current === undefined && supervisor.retryInMs === 0 && supervisor.canStart, 5000);
    expect(supervisor.failures).toBe(1);
    await supervisor.close();
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// Ctrl-C during a live show, as an operator does with ./scripts/start.sh: SIGINT goes to the whole
// foreground process group. livecue alone takes it (its redis-server, FFmpeg and mediasoup workers
// run in their own groups), ends the show, queues its recording while Redis is still there, stops
// its children after what uses them, and exits 0 with no error line and no replacement worker. The
// replay is ready after the next start.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newAdminToken } from '../src/streams/stream-keys.ts';
import { processAlive, waitFor } from './helpers/harness.ts';
import { startLivecueProcess, type LivecueProcess } from './helpers/livecue-process.ts';
import { pushRtmp, type Encoder } from './helpers/media.ts';
import { buildServer } from './helpers/server-build.ts';

/** The processes whose parent is `pid`, from /proc. */
function childrenOf(pid: number): { pid: number; command: string }[] {
  const children: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may hold spaces and parentheses, so parse from the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push({ pid: Number(entry), command: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      // Gone meanwhile.
    }
  }
  return children;
}

const level = (line: string) => Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
const messageIndex = (lines: string[], text: string) => lines.findIndex((line) => line.includes(`"msg":"${text}"`));

let dataDir: string | undefined;
const nodes: LivecueProcess[] = [];
const encoders: Encoder[] = [];

afterAll(async () => {
  for (const encoder of encoders) encoder.stop();
  await Promise.all(nodes.map((node) => node.stop()));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('a clean stop', () => {
  it('on SIGINT to the whole process group during a live show: children stopped in order, recording queued, exit 0; the replay is ready after the next start', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'livecue-stop-'));
    const adminToken = newAdminToken();
    // The embedded defaults of ./scripts/start.sh (PGlite, a redis-server child, media on disk).
    const env = { LIVECUE_ADMIN_TOKEN: adminToken, LOG_LEVEL: 'info', NODE_ID: 'stop-test', SFU_WORKERS: 1, LADDER: '360' };
    // What ./scripts/start.sh execs: the compiled server, one Node process.
    await buildServer();
    const command = ['node', 'dist/main.js'];
    const first = await startLivecueProcess(env, { dataDir, processGroup: true, command });
    nodes.push(first);
    const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const stream = await fetch(`${first.baseUrl}/v1/streams`, { method: 'POST', headers, body: JSON.stringify({ title: 'stopped by Ctrl-C' }) }).then((r) =>
      r.json(),
    );
    const rtmpUrl = `${stream.ingest.rtmpUrl.replace('localhost', '127.0.0.1')}/${stream.ingest.streamKey}`;
    // The encoder keeps pushing through the stop.
    const encoder = pushRtmp(rtmpUrl, { seconds: 120, size: '640x360', x264: { preset: 'veryfast' } });
    encoders.push(encoder);
    const hlsUrl = `${first.baseUrl}/hls/${stream.playbackId}/360p/index.m3u8`;
    await waitFor(
      'two segments of the live show',
      async () => ((await fetch(hlsUrl).then((r) => (r.ok ? r.text() : ''))).match(/^[^#].*\.m4s$/gm)?.length ?? 0) >= 2,
      30_000,
    );

    const children = childrenOf(first.pid);
    const commands = children.map((child) => child.command);
    expect(commands).toContain('redis-server');
    expect(commands.some((command) => command.startsWith('mediasoup-work'))).toBe(true);
    expect(commands.filter((command) => command === 'ffmpeg').length).toBeGreaterThanOrEqual(1);
    // What a terminal does on Ctrl-C: SIGINT to every process of the foreground group.
    process.kill(-first.pid, 'SIGINT');
    expect(await first.exited).toBe(0);
    expect(encoder.process.exitCode === null || encoder.process.exitCode !== 0).toBe(true);

    const lines = first.logLines;
    const stopAt = messageIndex(lines, 'shutting down');
    expect(stopAt).toBeGreaterThan(-1);
    expect(lines.slice(stopAt).filter((line) => level(line) >= 50)).toEqual([]);
    expect(lines.slice(stopAt).filter((line) => line.includes('mediasoup worker started') || line.includes('mediasoup worker died'))).toEqual([]);
    // The show ended and its recording was queued before the embedded Redis was stopped.
    const queuedAt = messageIndex(lines, 'recording queued');
    expect(queuedAt).toBeGreaterThan(stopAt);
    expect(messageIndex(lines, 'embedded redis-server stopped')).toBeGreaterThan(queuedAt);
    // No child outlives livecue.
    await waitFor('children gone', () => children.every((child) => !processAlive(child.pid)), 10_000);

    const second = await startLivecueProcess(env, { dataDir, command });
    nodes.push(second);
    const recording = await waitFor(
      'replay ready',
      async () => {
        const { recordings } = await fetch(`${second.baseUrl}/v1/streams/${stream.id}/recordings`, { headers }).then((r) => r.json());
        return recordings?.[0]?.status === 'ready' ? recordings[0] : undefined;
      },
      60_000,
    );
    expect(recording.durationSeconds).toBeGreaterThan(2);
    const stopped = await fetch(`${second.baseUrl}/v1/streams/${stream.id}`, { headers }).then((r) => r.json());
    expect(stopped.status).toBe('ended');
    await second.stop();
    expect(await second.exited).toBe(0);
    expect(second.logLines.filter((line) => level(line) >= 50)).toEqual([]);
  });
});

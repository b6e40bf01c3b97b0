// Restreaming: a live show copied (no re-encode) to other platforms. The platforms are real RTMP
// servers started here: a second livecue node (its own stream key; its HLS must decode) and FFmpeg
// listeners (which keep what they received, to compare packet by packet with what the encoder sent).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveSessions, restreamTargets, segments } from '../src/db/schema.ts';
import { randomBase62 } from '../src/streams/stream-keys.ts';
import { aacArgs, QUIET_FFMPEG, testPatternInputs, x264Args } from './helpers/encoder-args.ts';
import { freePort, processAlive, startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { decodeVideoFrames, probe, pushRtmp } from './helpers/media.ts';
import { postSdp } from './helpers/webrtc.ts';
import { WrtcPublisher } from './helpers/wrtc-peers.ts';

const run = promisify(execFile);

let sender: TestNode;
let platform: TestNode;
let scratch: string;
/** Every API answer the tests saw: no stream key may be in any of them. */
const answers: string[] = [];

beforeAll(async () => {
  [sender, platform] = await Promise.all([
    startTestNode({ RECONNECT_WINDOW_SECONDS: 2, SFU_WORKERS: 1 }),
    startTestNode({ RECONNECT_WINDOW_SECONDS: 5, SFU_WORKERS: 1, RTMPS_PORT: 0 }),
  ]);
  scratch = await mkdtemp(path.join(tmpdir(), 'livecue-restream-'));
});

afterAll(async () => {
  await Promise.all([sender?.stop(), platform?.stop()]);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

interface StreamBody {
  id: string;
  playbackId: string;
  ingest: { rtmpUrl: string; streamKey: string; whipUrl: string };
  playback: { hlsUrl: string };
}

async function createStream(node: TestNode, title = 'show'): Promise<StreamBody> {
  const { status, body } = await node.api('POST', '/v1/streams', { title });
  expect(status).toBe(201);
  return body as StreamBody;
}

async function api(method: string, urlPath: string, body?: unknown) {
  const response = await sender.api(method, urlPath, body);
  answers.push(typeof response.body === 'string' ? response.body : JSON.stringify(response.body ?? ''));
  return response;
}

const restreamsOf = async (streamId: string) => (await api('GET', `/v1/streams/${streamId}/restreams`)).body.restreams as RestreamView[];
const restream = async (streamId: string, id: string) => (await api('GET', `/v1/streams/${streamId}/restreams/${id}`)).body as RestreamView;

interface RestreamView {
  id: string;
  name: string;
  url: string;
  enabled: boolean;
  status: string;
  lastError: string | null;
  since: string;
}

async function metric(node: TestNode, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${node.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** A one-shot RTMP server (FFmpeg -listen 1) that keeps what it receives in an FLV file. */
function rtmpListener(port: number, app: string, key: string, file: string) {
  const child = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'warning', '-listen', '1', '-f', 'flv', '-i', `rtmp://127.0.0.1:${port}/${app}/${key}`, '-c', 'copy', '-f', 'flv', file],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, stderr: () => stderr, exited: new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))) };
}

/** Like pushRtmp, and keeps a copy of exactly what was sent (the same packets) in an FLV file. */
function pushRtmpKeepingCopy(url: string, file: string, seconds: number): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(
    'ffmpeg',
    [
      ...QUIET_FFMPEG,
      ...testPatternInputs({ size: '1280x720', rate: 30 }),
      '-t',
      String(seconds),
      '-map',
      '0:v',
      '-map',
      '1:a',
      ...x264Args({}, 30),
      ...aacArgs(),
      '-flags',
      '+global_header',
      '-f',
      'tee',
      `[f=flv]${url}|[f=flv]${file}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return { child, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

/** MD5 of every video packet, in order (FFmpeg's framemd5 of a stream copy). */
async function videoPacketHashes(file: string): Promise<string[]> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v:0', '-c', 'copy', '-f', 'framemd5', '-'], { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(',').at(-1)!.trim());
}

const awkwardKey = () => `live_${randomBase62(12)}-Q2x9?auth=${randomBase62(16)}&x=1`;

describe('restream targets API', () => {
  it('creates, lists, changes and deletes targets; the key goes in sealed and never comes back out', async () => {
    const stream = await createStream(sender);
    const key = awkwardKey();
    const created = await api('POST', `/v1/streams/${stream.id}/restreams`, { url: 'rtmp://a.rtmp.youtube.com/live2', streamKey: key, name: 'YouTube' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'YouTube', url: 'rtmp://a.rtmp.youtube.com/live2', enabled: true, status: 'idle', lastError: null });
    expect(created.body.id).toMatch(/^rst_[A-Za-z0-9]{16}$/);
    expect(created.headers.get('location')).toBe(`/v1/streams/${stream.id}/restreams/${created.body.id}`);
    expect(Object.keys(created.body)).not.toContain('streamKey');

    // Sealed in the database: neither the key nor a piece of it is stored.
    const [row] = await sender.lc.database.db.select().from(restreamTargets).where(eq(restreamTargets.id, created.body.id));
    expect(row!.sealedKey).toMatch(/^v1\./);
    expect(row!.sealedKey).not.toContain(key.slice(5, 17));
    // Without LIVECUE_SECRET_KEY the node made one and keeps it next to its other secrets.
    expect(existsSync(path.join(sender.dataDir, 'secret-key'))).toBe(true);

    const named = await api('POST', `/v1/streams/${stream.id}/restreams`, { url: 'rtmps://live-api-s.facebook.com:443/rtmp/', streamKey: 'FB-1234-0-Ab' });
    expect(named.status).toBe(201);
    expect(named.body.name).toBe('live-api-s.facebook.com');
    expect((await restreamsOf(stream.id)).map((target) => target.id)).toEqual([created.body.id, named.body.id]);

    const disabled = await api('PATCH', `/v1/streams/${stream.id}/restreams/${created.body.id}`, { enabled: false });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ enabled: false, status: 'idle', name: 'YouTube' });
    const rekeyed = await api('PATCH', `/v1/streams/${stream.id}/restreams/${created.body.id}`, { streamKey: awkwardKey(), name: 'YouTube main' });
    expect(rekeyed.body).toMatchObject({ enabled: false, name: 'YouTube main' });
    const [after] = await sender.lc.database.db.select().from(restreamTargets).where(eq(restreamTargets.id, created.body.id));
    expect(after!.sealedKey).not.toBe(row!.sealedKey);

    expect((await api('DELETE', `/v1/streams/${stream.id}/restreams/${named.body.id}`)).status).toBe(204);
    expect((await api('GET', `/v1/streams/${stream.id}/restreams/${named.body.id}`)).status).toBe(404);
    expect((await api('DELETE', `/v1/streams/${stream.id}/restreams/${named.body.id}`)).status).toBe(404);
    expect(await restreamsOf(stream.id)).toHaveLength(1);

    // Deleting the stream deletes its targets.
    expect((await api('DELETE', `/v1/streams/${stream.id}`)).status).toBe(204);
    expect(await sender.lc.database.db.select().from(restreamTargets).where(eq(restreamTargets.streamId, stream.id))).toHaveLength(0);
    expect(answers.join('\n')).not.toContain(key);
  });

  it('refuses bad bodies with problem+json that never repeats the key', async () => {
    const stream = await createStream(sender);
    const base = `/v1/streams/${stream.id}/restreams`;
    const secret = `sk_${randomBase62(24)}`;
    const cases: [unknown, RegExp][] = [
      [{ url: 'http://example.com/live', streamKey: secret }, /url: must start with rtmp:\/\/ or rtmps:\/\//],
      [{ url: 'not-a-url', streamKey: secret }, /url: must be an rtmp/],
      [{ url: 'rtmp://example.com/my live', streamKey: secret }, /url: must not contain spaces/],
      [{ url: 'rtmp://example.com', streamKey: secret }, /url: must name the RTMP application/],
      [{ url: 'rtmp://user:pw@example.com/live', streamKey: secret }, /credentials/],
      [{ url: `rtmp://example.com/live?key=${secret}`, streamKey: secret }, /query/],
      [{ url: 'rtmp://example.com/live' }, /streamKey/],
      [{ url: 'rtmp://example.com/live', streamKey: `${secret} with spaces` }, /streamKey: must be printable ASCII/],
      [{ url: 'rtmp://example.com/live', streamKey: secret, colour: 'red' }, /unknown field\(s\) colour/],
      [{ url: 'rtmp://example.com/live', streamKey: secret, name: '' }, /name: must not be empty/],
    ];
    for (const [body, detail] of cases) {
      const response = await api('POST', base, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(response.body.detail).toMatch(detail);
      expect(JSON.stringify(response.body)).not.toContain(secret);
    }
    expect((await api('POST', base, 'url=rtmp://x/live')).status).toBe(415);
    expect((await api('POST', '/v1/streams/str_0000000000000000/restreams', { url: 'rtmp://example.com/live', streamKey: secret })).status).toBe(404);
    expect((await api('GET', `${base}/rst_nope`)).status).toBe(404);
    expect((await api('PATCH', `${base}/rst_0000000000000000`, { enabled: false })).status).toBe(404);
    const created = await api('POST', base, { url: 'rtmp://example.com/live', streamKey: secret });
    expect((await api('PATCH', `${base}/${created.body.id}`, {})).body.detail).toMatch(/at least one of/);
    expect((await api('PATCH', `${base}/${created.body.id}`, { enabled: 'no' })).status).toBe(400);
    for (let i = 1; i < 10; i++) expect((await api('POST', base, { url: 'rtmp://example.com/live', streamKey: `${secret}${i}` })).status).toBe(201);
    const eleventh = await api('POST', base, { url: 'rtmp://example.com/live', streamKey: secret });
    expect(eleventh.status).toBe(409);
    expect(answers.join('\n')).not.toContain(secret);
    expect(sender.logLines.join('')).not.toContain(secret);
  });
});

describe('restreaming a live show', () => {
  it('sends the show to a target added before it and one added during it, as a copy of the encoder packets', async () => {
    const stream = await createStream(sender);
    const onPlatform = await createStream(platform, 'restreamed show');
    const before = await api('POST', `/v1/streams/${stream.id}/restreams`, {
      url: `rtmp://127.0.0.1:${platform.lc.rtmpPort}/live`,
      streamKey: onPlatform.ingest.streamKey,
      name: 'second livecue',
    });
    expect(before.status).toBe(201);

    const listenerPort = await freePort();
    const listenerKey = awkwardKey();
    const received = path.join(scratch, 'received.flv');
    const listener = rtmpListener(listenerPort, 'app2', listenerKey, received);
    const sent = path.join(scratch, 'sent.flv');
    const push = pushRtmpKeepingCopy(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, sent, 18);
    const bytesBefore = await metric(sender, 'livecue_restream_bytes_total');

    await waitFor('live session', () => sender.lc.registry.get(stream.id), 10_000);
    await waitFor('first target live', async () => (await restream(stream.id, before.body.id)).status === 'live', 15_000);
    expect(await metric(sender, 'livecue_restream_targets', '{state="live"}')).toBeGreaterThanOrEqual(1);

    // The receiving platform has the show live and its HLS decodes; the source is what the encoder made.
    const received720 = onPlatform.playback.hlsUrl.replace('master.m3u8', '720p/index.m3u8');
    const platformSession = await waitFor('show on the platform', () => platform.lc.registry.get(onPlatform.id), 10_000);
    await waitFor(
      'platform segments',
      async () => (await platform.lc.database.db.select().from(segments).where(eq(segments.sessionId, platformSession.id))).length >= 3,
      20_000,
    );
    const [platformRow] = await platform.lc.database.db.select().from(liveSessions).where(eq(liveSessions.id, platformSession.id));
    expect(platformRow).toMatchObject({ sourceWidth: 1280, sourceHeight: 720, sourceVideoCodec: 'h264' });

    // A target added during the show starts at once (at the next keyframe).
    const during = await api('POST', `/v1/streams/${stream.id}/restreams`, { url: `rtmp://127.0.0.1:${listenerPort}/app2`, streamKey: listenerKey });
    expect(during.status).toBe(201);
    expect(during.body.status).toBe('connecting');
    await waitFor('second target live', async () => (await restream(stream.id, during.body.id)).status === 'live', 10_000);
    expect(sender.lc.restreams.of(stream.id)!.target(during.body.id)!.pid).toBeGreaterThan(0);

    expect(await push.exited).toBe(0);
    await waitFor('show ended', async () => (await api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);
    // The show ended: each FFmpeg ended its publish, so the listener closed its file.
    expect(await Promise.race([listener.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 10_000))])).toBe(0);
    expect((await restreamsOf(stream.id)).map((target) => target.status)).toEqual(['idle', 'idle']);
    expect(await metric(sender, 'livecue_restream_targets', '{state="live"}')).toBe(0);
    // The platform's show ended with ours, and its HLS decodes end to end.
    await waitFor('platform show ended', async () => (await platform.api('GET', `/v1/streams/${onPlatform.id}`)).body.status === 'ended', 20_000);
    expect(await decodeVideoFrames(received720)).toBeGreaterThan(150);
    expect(await metric(sender, 'livecue_restream_bytes_total')).toBeGreaterThan(bytesBefore + 500_000);

    // The key reached the platform whole (FFmpeg's listener warns about any other publish name).
    expect(listener.stderr()).not.toContain('Unexpected stream');
    // No re-encode: the platform got the encoder's own packets, in order, same codec and size.
    const [sentHashes, receivedHashes] = await Promise.all([videoPacketHashes(sent), videoPacketHashes(received)]);
    expect(receivedHashes.length).toBeGreaterThan(150);
    const start = sentHashes.indexOf(receivedHashes[0]!);
    expect(start).toBeGreaterThan(0);
    expect(receivedHashes).toEqual(sentHashes.slice(start, start + receivedHashes.length));
    const probed = await probe(received);
    expect(probed.streams.find((s) => s.codec_type === 'video')).toMatchObject({ codec_name: 'h264', width: 1280, height: 720 });
    expect(probed.streams.find((s) => s.codec_type === 'audio')).toMatchObject({ codec_name: 'aac' });

    const logs = sender.logLines.join('');
    expect(logs).not.toContain(listenerKey.slice(0, 17));
    expect(logs).not.toContain(listenerKey.slice(-20));
    expect(logs).not.toContain(`rtmp://127.0.0.1:${listenerPort}/app2`);
    expect(logs).toContain(`rtmp://127.0.0.1:${listenerPort}/…`);
    expect(answers.join('\n')).not.toContain(listenerKey);
    expect(answers.join('\n')).not.toContain(onPlatform.ingest.streamKey);
  });

  it('retries a target that refuses the show or cannot be reached, with backoff, and the show goes on untouched', async () => {
    const stream = await createStream(sender);
    const refusedKey = `wrong-${randomBase62(20)}`;
    const unreachableKey = awkwardKey();
    const closedPort = await freePort();
    const refusing = await api('POST', `/v1/streams/${stream.id}/restreams`, { url: `rtmp://127.0.0.1:${platform.lc.rtmpPort}/live`, streamKey: refusedKey });
    const unreachable = await api('POST', `/v1/streams/${stream.id}/restreams`, { url: `rtmp://127.0.0.1:${closedPort}/live`, streamKey: unreachableKey });
    const restartsBefore = await metric(sender, 'livecue_restream_restarts_total');

    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 14 });
    const session = await waitFor('live session', () => sender.lc.registry.get(stream.id), 10_000);
    for (const target of [refusing.body, unreachable.body]) {
      const view = await waitFor(
        `${target.id} retrying`,
        async () => {
          const current = await restream(stream.id, target.id);
          return current.status === 'retrying' ? current : undefined;
        },
        15_000,
      );
      expect(view.lastError).toBeTruthy();
    }
    expect(await metric(sender, 'livecue_restream_targets', '{state="retrying"}')).toBe(2);
    // 0.5 s, 1 s, 2 s, 4 s…: each target fails a few times within the show, not once per keyframe.
    await waitFor('restarts', async () => (await metric(sender, 'livecue_restream_restarts_total')) >= restartsBefore + 6, 12_000);
    expect((await restream(stream.id, unreachable.body.id)).lastError).toMatch(/cannot reach the target server/);
    expect(await push.exited).toBe(0);
    const restarts = (await metric(sender, 'livecue_restream_restarts_total')) - restartsBefore;
    expect(restarts).toBeLessThan(16);
    await waitFor('show ended', async () => (await api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);

    // The show itself: one transcoder run, no discontinuity, all 14 s, decodable.
    const rows = await sender.lc.database.db.select().from(segments).where(eq(segments.sessionId, session.id));
    const top = rows.filter((row) => row.rendition === '720p');
    expect(top.every((row) => row.run === 0 && row.discontinuity === 0)).toBe(true);
    expect(top.reduce((sum, row) => sum + row.durationMs, 0)).toBeGreaterThan(13_000);
    expect(await decodeVideoFrames(stream.playback.hlsUrl.replace('master.m3u8', '720p/index.m3u8'))).toBeGreaterThan(100);

    const after = await restreamsOf(stream.id);
    expect(after.map((target) => target.status)).toEqual(['idle', 'idle']);
    // The last error stays readable after the show, scrubbed of key and URL.
    expect(after[1]!.lastError).toMatch(/cannot reach the target server/);
    expect(after[1]!.lastError).not.toContain(`:${closedPort}/live`);
    expect(await metric(sender, 'livecue_restream_targets', '{state="retrying"}')).toBe(0);
    const logs = sender.logLines.join('');
    for (const secret of [refusedKey, unreachableKey.slice(0, 17), unreachableKey.slice(-20)]) expect(logs).not.toContain(secret);
    expect(logs).not.toContain(`rtmp://127.0.0.1:${closedPort}/live`);
    expect(answers.join('\n')).not.toContain(refusedKey);
    expect(answers.join('\n')).not.toContain(unreachableKey);
  });

  it('stops a target FFmpeg when the target is disabled or deleted, and starts it again when enabled', async () => {
    const stream = await createStream(sender);
    const onPlatform = await createStream(platform, 'toggled show');
    const target = await api('POST', `/v1/streams/${stream.id}/restreams`, {
      url: `rtmp://127.0.0.1:${platform.lc.rtmpPort}/live`,
      streamKey: onPlatform.ingest.streamKey,
    });
    const base = `/v1/streams/${stream.id}/restreams/${target.body.id}`;
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 30 });
    try {
      const session = await waitFor('live session', () => sender.lc.registry.get(stream.id), 10_000);
      await waitFor('target live', async () => (await restream(stream.id, target.body.id)).status === 'live', 15_000);
      const killedPid = sender.lc.restreams.of(stream.id)!.target(target.body.id)!.pid!;
      const restartsBefore = await metric(sender, 'livecue_restream_restarts_total');
      // An FFmpeg that dies is started again (after 0.5 s, at a keyframe).
      process.kill(killedPid, 'SIGKILL');
      await waitFor('target retrying', async () => (await restream(stream.id, target.body.id)).status === 'retrying', 5000, 50);
      expect((await restream(stream.id, target.body.id)).lastError).toMatch(/SIGKILL/);
      await waitFor('target live again', async () => (await restream(stream.id, target.body.id)).status === 'live', 10_000);
      expect(await metric(sender, 'livecue_restream_restarts_total')).toBe(restartsBefore + 1);
      const firstPid = sender.lc.restreams.of(stream.id)!.target(target.body.id)!.pid!;
      expect(firstPid).not.toBe(killedPid);
      expect(processAlive(firstPid)).toBe(true);

      const disabled = await api('PATCH', base, { enabled: false });
      expect(disabled.body).toMatchObject({ enabled: false, status: 'idle' });
      expect(processAlive(firstPid)).toBe(false);
      expect(sender.lc.restreams.of(stream.id)!.target(target.body.id)).toBeUndefined();

      const enabled = await api('PATCH', base, { enabled: true });
      expect(enabled.body).toMatchObject({ enabled: true, status: 'connecting' });
      await waitFor('target live again', async () => (await restream(stream.id, target.body.id)).status === 'live', 15_000);
      const secondPid = sender.lc.restreams.of(stream.id)!.target(target.body.id)!.pid!;
      expect(secondPid).not.toBe(firstPid);

      expect((await api('DELETE', base)).status).toBe(204);
      expect(processAlive(secondPid)).toBe(false);
      expect((await api('GET', base)).status).toBe(404);
      expect(await restreamsOf(stream.id)).toEqual([]);
      expect(await metric(sender, 'livecue_restream_targets', '{state="live"}')).toBe(0);
      // The show itself was not touched.
      expect(sender.lc.registry.get(stream.id)).toBe(session);
      expect(session.connected).toBe(true);
    } finally {
      push.stop();
    }
    await waitFor('show ended', async () => (await api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);
  });

  it('follows the encoder: stops when it drops, starts again when it comes back within the window', async () => {
    const stream = await createStream(sender);
    const onPlatform = await createStream(platform, 'reconnecting show');
    const target = await api('POST', `/v1/streams/${stream.id}/restreams`, {
      url: `rtmp://127.0.0.1:${platform.lc.rtmpPort}/live`,
      streamKey: onPlatform.ingest.streamKey,
    });
    const url = `${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`;
    // Each push runs until the test has seen what it waits for, then the encoder drops (killed, as a crashed
    // encoder or a lost network does): on a busy machine a fixed-length push could end before the target is up.
    const first = pushRtmp(url, { seconds: 60 });
    const session = await waitFor('live session', () => sender.lc.registry.get(stream.id), 10_000);
    await waitFor('target live', async () => (await restream(stream.id, target.body.id)).status === 'live', 30_000);
    const platformSession = await waitFor('show on the platform', () => platform.lc.registry.get(onPlatform.id), 10_000);
    const firstPid = sender.lc.restreams.of(stream.id)!.target(target.body.id)!.pid!;
    first.stop();
    await first.exited;
    await waitFor('encoder gone', () => !session.connected, 5000, 50);
    expect(sender.lc.restreams.of(stream.id)!.target(target.body.id)!.pid).toBeUndefined();
    await waitFor('restream ffmpeg ended', () => !processAlive(firstPid), 5000, 50);
    expect((await restream(stream.id, target.body.id)).status).toBe('connecting');

    const second = pushRtmp(url, { seconds: 60 });
    // Under a full run the platform may refuse the comeback until it has let the first publish go: each refusal
    // doubles the target's backoff (0.5 s up to 30 s), so this wait allows for a few of them.
    let lastSeen: RestreamView | undefined;
    const liveAgain = async () => {
      lastSeen = await restream(stream.id, target.body.id);
      return lastSeen.status === 'live';
    };
    await waitFor('target live again', liveAgain, 60_000).catch((error: Error) => {
      throw new Error(`${error.message}; the target last said ${JSON.stringify(lastSeen)}`);
    });
    expect(sender.lc.registry.get(stream.id)).toBe(session);
    expect(session.reconnects).toBe(1);
    // The platform saw its encoder (us) come back within its own window: the same show goes on there.
    expect(platform.lc.registry.get(onPlatform.id)).toBe(platformSession);
    await waitFor('platform resumed', () => platformSession.reconnects === 1 && platformSession.connected, 10_000);
    second.stop();
    await second.exited;
    await waitFor('show ended', async () => (await api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);
  }, 180_000);

  it('refuses an RTMPS target whose certificate the system does not trust, and says so', async () => {
    // The platform's RTMPS listener presents a self-signed certificate: FFmpeg on its own would send the show anyway.
    const source = await createStream(sender, 'to an untrusted rtmps target');
    const target = await createStream(platform, 'self-signed');
    const created = await api('POST', `/v1/streams/${source.id}/restreams`, {
      url: `rtmps://localhost:${platform.lc.rtmpsPort}/live`,
      streamKey: target.ingest.streamKey,
      name: 'untrusted',
    });
    expect(created.status).toBe(201);
    const push = pushRtmp(`${source.ingest.rtmpUrl}/${source.ingest.streamKey}`, { seconds: 20, size: '320x180' });
    try {
      const failed = await waitFor(
        'the certificate refused',
        async () => {
          const view = await restream(source.id, created.body.id);
          return view.lastError && /certificate/.test(view.lastError) ? view : undefined;
        },
        20_000,
      );
      expect(failed.status).not.toBe('live');
      expect(platform.lc.registry.get(target.id)).toBeUndefined();
    } finally {
      push.stop();
    }
  });

  it('says unsupported for the targets of a WHIP show', async () => {
    const stream = await createStream(sender, 'whip show');
    const target = await api('POST', `/v1/streams/${stream.id}/restreams`, { url: 'rtmp://127.0.0.1:9/live', streamKey: awkwardKey() });
    const connectingBefore = await metric(sender, 'livecue_restream_targets', '{state="connecting"}');
    const publisher = new WrtcPublisher(320, 240);
    try {
      const published = await postSdp(stream.ingest.whipUrl, await publisher.offer(), { authorization: `Bearer ${stream.ingest.streamKey}` });
      expect(published.status).toBe(201);
      await publisher.accept(published.answer);
      await waitFor('live session', () => sender.lc.registry.get(stream.id), 10_000);
      await waitFor('unsupported', async () => (await restream(stream.id, target.body.id)).status === 'unsupported', 10_000);
      expect(await metric(sender, 'livecue_restream_targets', '{state="unsupported"}')).toBe(1);
      expect(await metric(sender, 'livecue_restream_targets', '{state="connecting"}')).toBe(connectingBefore);
      await sender.lc.registry.end(stream.id, 'test_done');
    } finally {
      publisher.close();
    }
    expect((await restream(stream.id, target.body.id)).status).toBe('idle');
  });
});

// The README's first command runs livecue on its embedded defaults: PGlite in the data dir, its own
// redis-server child, media on the filesystem, a generated admin token kept across restarts.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLivecue, type Livecue } from '../src/app.ts';
import { parseConfig } from '../src/config/load.ts';
import { createLogger } from '../src/log.ts';
import { waitFor, waitForText } from './helpers/harness.ts';
import { decodeVideoFrames, pushRtmp } from './helpers/media.ts';

let dataDir: string;
let lc: Livecue | undefined;

afterAll(async () => {
  await lc?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('embedded defaults', () => {
  it('starts with no DATABASE_URL, REDIS_URL, bucket or token, takes a publish, and keeps its state across a restart', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'livecue-embedded-'));
    const config = parseConfig({ PORT: 0, RTMP_PORT: 0, HOST: '127.0.0.1', RTMP_HOST: '127.0.0.1', LIVECUE_DATA_DIR: dataDir, RECONNECT_WINDOW_SECONDS: 1 });
    const logger = createLogger(process.env.LIVECUE_TEST_LOGS ? 'debug' : 'silent');
    lc = await startLivecue(config, { logger });
    expect(lc.database.kind).toBe('pglite');
    expect(lc.store.kind).toBe('fs');
    const tokenFile = path.join(dataDir, 'admin-token');
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(lc.adminToken);

    const headers = { authorization: `Bearer ${lc.adminToken}`, 'content-type': 'application/json' };
    const base = `http://127.0.0.1:${lc.httpPort}`;
    const stream = await fetch(`${base}/v1/streams`, { method: 'POST', headers, body: JSON.stringify({ title: 'embedded' }) }).then((r) => r.json());
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 5, size: '640x360' });
    const master = await waitForText('master', stream.playback.hlsUrl, 20_000);
    expect(master).toContain('RESOLUTION=640x360');
    expect(await push.exited).toBe(0);
    await waitFor('ended', async () => (await fetch(`${base}/v1/streams/${stream.id}`, { headers }).then((r) => r.json())).status === 'ended', 20_000);
    expect(existsSync(path.join(dataDir, 'media', 'hls', stream.playbackId, 'master.m3u8'))).toBe(true);
    expect(await decodeVideoFrames(stream.playback.hlsUrl.replace('master.m3u8', '360p/index.m3u8'))).toBeGreaterThan(100);
    const health = await fetch(`${base}/healthz`).then((r) => r.json());
    expect(health.redis).toBe('ok');

    const token = lc.adminToken;
    await lc.close();
    lc = await startLivecue(config, { logger });
    expect(lc.adminToken).toBe(token);
    const again = await fetch(`http://127.0.0.1:${lc.httpPort}/v1/streams/${stream.id}`, { headers }).then((r) => r.json());
    expect(again).toMatchObject({ id: stream.id, status: 'ended', title: 'embedded' });
  });
});

// Who may publish, and what survives: bad keys, rotated keys, second encoders, reconnects,
// FFmpeg crashes and garbage on the RTMP port.
import { connect } from 'node:net';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveSessions, segments } from '../src/db/schema.ts';
import { createStream, sleep, startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { decodeVideoFrames, pushRtmp } from './helpers/media.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RECONNECT_WINDOW_SECONDS: 4 });
});

afterAll(async () => {
  await node?.stop();
});

const metric = async (name: string, labels = ''): Promise<number> => {
  const text = await (await fetch(`${node.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels}`) && (labels || /[\s{]/.test(l[name.length]!)));
  return line ? Number(line.split(' ').pop()) : 0;
};

async function sessionsOf(streamId: string) {
  return node.lc.database.db.select().from(liveSessions).where(eq(liveSessions.streamId, streamId));
}

async function segmentsOf(sessionId: string, rendition = '720p') {
  const rows = await node.lc.database.db.select().from(segments).where(eq(segments.sessionId, sessionId)).orderBy(asc(segments.sequence));
  return rows.filter((row) => row.rendition === rendition);
}

const objectsUnder = (prefix: string) => node.lc.store.list(prefix);

describe('publish rules', () => {
  it('refuses an unknown key before any media moves: no transcoder, no object, no session row', async () => {
    const stream = await createStream(node);
    const before = await metric('livecue_rejected_publishes_total', '{protocol="rtmp",reason="unknown_key"}');
    const wrongKey = `lck_${'x'.repeat(32)}`;
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${wrongKey}`, { seconds: 4 });
    const code = await push.exited;
    expect(code).not.toBe(0);
    expect(await metric('livecue_rejected_publishes_total', '{protocol="rtmp",reason="unknown_key"}')).toBe(before + 1);
    expect(node.lc.registry.size).toBe(0);
    expect(await sessionsOf(stream.id)).toHaveLength(0);
    expect(await objectsUnder('hls/')).toEqual([]);
    expect((await node.api('GET', `/v1/streams/${stream.id}`)).body.status).toBe('idle');
    // A publish to another application is refused the same way.
    const otherApp = pushRtmp(`${stream.ingest.rtmpUrl.replace('/live', '/other')}/${stream.ingest.streamKey}`, { seconds: 2 });
    expect(await otherApp.exited).not.toBe(0);
    expect(await sessionsOf(stream.id)).toHaveLength(0);
    // The key never reaches a log line, even on refusal.
    expect(node.logLines.join('')).not.toContain(wrongKey.slice(4));
  });

  it('refuses a rotated key at once and accepts the new one', async () => {
    const stream = await createStream(node);
    const rotated = await node.api('POST', `/v1/streams/${stream.id}/rotate-key`);
    expect(rotated.status).toBe(200);
    const newKey = rotated.body.streamKey as string;
    expect(newKey).toMatch(/^lck_[A-Za-z0-9]{32}$/);
    expect(newKey).not.toBe(stream.ingest.streamKey);

    const old = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 3 });
    expect(await old.exited).not.toBe(0);
    expect(await sessionsOf(stream.id)).toHaveLength(0);
    expect(await objectsUnder(`hls/${stream.playbackId}/`)).toEqual([]);

    const fresh = pushRtmp(`${stream.ingest.rtmpUrl}/${newKey}`, { seconds: 4 });
    await waitFor('master playlist', async () => (await fetch(stream.playback.hlsUrl)).ok || undefined, 20_000);
    expect(await fresh.exited).toBe(0);
    await waitFor('ended', async () => (await node.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);
    expect(node.logLines.join('')).not.toContain(newKey.slice(4));
  });

  it('refuses a second encoder while the first is live, and the first carries on', async () => {
    const stream = await createStream(node);
    const first = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 9 });
    const session = await waitFor('live session', () => node.lc.registry.get(stream.id), 10_000);
    await waitFor('first segment', async () => (await segmentsOf(session.id)).length > 0, 15_000);
    const second = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 3 });
    expect(await second.exited).not.toBe(0);
    expect(await metric('livecue_rejected_publishes_total', '{protocol="rtmp",reason="already_live"}')).toBeGreaterThanOrEqual(1);
    expect(await first.exited).toBe(0);
    await waitFor('ended', async () => (await node.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);
    const rows = await segmentsOf(session.id);
    // The first encoder's show is whole: one run, no discontinuity, ~9 s of media.
    expect(rows.every((row) => row.run === 0 && row.discontinuity === 0)).toBe(true);
    const total = rows.reduce((sum, row) => sum + row.durationMs, 0) / 1000;
    expect(total).toBeGreaterThan(8);
    expect(await sessionsOf(stream.id)).toHaveLength(1);
  });

  it('continues the same session when the encoder reconnects within the window, with a discontinuity', async () => {
    const stream = await createStream(node);
    const url = `${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`;
    expect(await pushRtmp(url, { seconds: 5 }).exited).toBe(0);
    const session = node.lc.registry.get(stream.id)!;
    expect(session).toBeDefined();
    await sleep(1000);
    expect((await node.api('GET', `/v1/streams/${stream.id}`)).body.status).toBe('live');
    expect(await pushRtmp(url, { seconds: 5 }).exited).toBe(0);
    await waitFor('ended', async () => (await node.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);

    const sessions = await sessionsOf(stream.id);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ id: session.id, reconnects: 1, endReason: 'encoder_left' });
    const rows = await segmentsOf(session.id);
    const names = rows.map((row) => row.objectKey);
    expect(new Set(names).size).toBe(names.length);
    const firstOfSecondRun = rows.find((row) => row.run === 1)!;
    expect(firstOfSecondRun.discontinuity).toBe(1);
    expect(rows.filter((row) => row.discontinuity === 1)).toHaveLength(1);
    // Media time runs on across the gap; wall-clock time jumps.
    const previous = rows[rows.indexOf(firstOfSecondRun) - 1]!;
    expect(firstOfSecondRun.mediaStartMs).toBe(previous.mediaStartMs + previous.durationMs);
    expect(firstOfSecondRun.programDateTime.getTime()).toBeGreaterThan(previous.programDateTime.getTime() + previous.durationMs + 500);

    const playlist = await (await fetch(stream.playback.hlsUrl.replace('master.m3u8', '720p/index.m3u8'))).text();
    expect(playlist).toContain('#EXT-X-DISCONTINUITY\n');
    expect(playlist).toContain('#EXT-X-ENDLIST');
    // A player gets through the discontinuity: the window decodes end to end.
    expect(await decodeVideoFrames(stream.playback.hlsUrl.replace('master.m3u8', '720p/index.m3u8'))).toBeGreaterThan(150);
  });

  it('restarts FFmpeg that dies mid-stream and the show goes on after a discontinuity', async () => {
    const stream = await createStream(node);
    const restartsBefore = await metric('livecue_transcoder_restarts_total');
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 12 });
    const session = await waitFor('live session', () => node.lc.registry.get(stream.id), 10_000);
    await waitFor('two segments', async () => (await segmentsOf(session.id)).length >= 2, 15_000);
    const pid = session.transcoder.pid!;
    process.kill(pid, 'SIGKILL');
    await waitFor('a new ffmpeg', () => (session.transcoder.pid && session.transcoder.pid !== pid ? true : undefined), 10_000);
    expect(await push.exited).toBe(0);
    await waitFor('ended', async () => (await node.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);
    expect(await metric('livecue_transcoder_restarts_total')).toBe(restartsBefore + 1);
    const rows = await segmentsOf(session.id);
    const afterRestart = rows.filter((row) => row.run === 1);
    expect(afterRestart.length).toBeGreaterThanOrEqual(2);
    expect(afterRestart[0]!.discontinuity).toBe(1);
    const [row] = await sessionsOf(stream.id);
    expect(row!.endReason).toBe('encoder_left');
  });

  it('shrugs off garbage and half-open connections on the RTMP port while a show is live', async () => {
    const stream = await createStream(node);
    const push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 8 });
    const session = await waitFor('live session', () => node.lc.registry.get(stream.id), 10_000);
    const sockets = [];
    for (let i = 0; i < 5; i++) {
      const socket = connect(node.lc.rtmpPort, '127.0.0.1');
      socket.on('error', () => {});
      // A valid-looking C0 then random bytes; then one that sends nothing at all (half-open).
      socket.write(Buffer.concat([Buffer.from([3]), Buffer.from(Array.from({ length: 4000 }, () => Math.floor(Math.random() * 256)))]));
      sockets.push(socket);
    }
    const silent = connect(node.lc.rtmpPort, '127.0.0.1');
    silent.on('error', () => {});
    const http = connect(node.lc.rtmpPort, '127.0.0.1');
    http.on('error', () => {});
    http.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await push.exited).toBe(0);
    await waitFor('ended', async () => (await node.api('GET', `/v1/streams/${stream.id}`)).body.status === 'ended', 20_000);
    const rows = await segmentsOf(session.id);
    expect(rows.every((row) => row.run === 0)).toBe(true);
    expect(rows.reduce((sum, row) => sum + row.durationMs, 0)).toBeGreaterThan(7000);
    for (const socket of [...sockets, silent, http]) socket.destroy();
    // The server still takes new publishes.
    const again = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 3 });
    await waitFor('live again', () => node.lc.registry.get(stream.id), 10_000);
    expect(await again.exited).toBe(0);
  });
});

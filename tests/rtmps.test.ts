// RTMPS ingest: with RTMPS_PORT set, encoders push RTMP over TLS (a self-signed certificate made once
// in the data dir when no files are given); the show reaches WebRTC viewers like any RTMP show, and
// stream keys are checked the same way.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { decodeVideo, pushRtmp } from './helpers/media.ts';
import { postSdp, WeriftViewer } from './helpers/webrtc.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RTMPS_PORT: 0, RECONNECT_WINDOW_SECONDS: 1 });
});

afterAll(async () => {
  await node?.stop();
});

describe('RTMPS ingest', () => {
  it('presents the self-signed certificate kept in the data dir', async () => {
    const cert = await readFile(path.join(node.dataDir, 'rtmps', 'self-signed-cert.pem'));
    const socket = connect({ host: '127.0.0.1', port: node.lc.rtmpsPort!, servername: 'localhost', ca: cert });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    expect(socket.authorized).toBe(true);
    expect(socket.getPeerCertificate().subject.CN).toBe('localhost');
    socket.destroy();
  });

  it('takes a push over TLS: a WHEP viewer decodes it; a bad key is refused', async () => {
    const { body: stream } = await node.api('POST', '/v1/streams', { title: 'rtmps' });
    expect(stream.ingest.rtmpsUrl).toBe(`rtmps://localhost:${node.lc.rtmpsPort}/live`);
    const url = stream.ingest.rtmpsUrl.replace('localhost', '127.0.0.1');

    const refused = pushRtmp(`${url}/lck_${'x'.repeat(32)}`, { seconds: 5, size: '640x360' });
    expect(await refused.exited).not.toBe(0);
    expect(node.lc.registry.size).toBe(0);

    const push = pushRtmp(`${url}/${stream.ingest.streamKey}`, { seconds: 20, size: '640x360', x264: { preset: 'veryfast' } });
    const viewer = new WeriftViewer();
    try {
      const session = await waitFor('live session', () => node.lc.registry.get(stream.id), 10_000);
      expect(session.protocol).toBe('rtmp');
      await waitFor('sfu video producer', () => session.room.producer('video'), 10_000);
      const result = await postSdp(stream.playback.whepUrl, await viewer.offer());
      expect(result.status).toBe(201);
      await viewer.accept(result.answer);
      await waitFor('two seconds of video', () => viewer.video.keyframes > 0 && viewer.videoFrames >= 60, 30_000);
      const file = path.join(node.dataDir, 'rtmps.h264');
      await viewer.video.save(file);
      expect(await decodeVideo(file)).toMatchObject({ width: 640, height: 360, profile: 'High' });
    } finally {
      await viewer.close();
      push.stop();
    }
  });
});

// A WHEP viewer that connects and then vanishes (its process killed: no DTLS close, no DELETE) is let go by
// the node once ICE has stayed disconnected (mediasoup's 30 s consent timeout, then ICE_TIMEOUT_SECONDS), so
// its transport and consumers do not stay for the rest of the show.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestNode, waitFor, type TestNode } from '../helpers/harness.ts';
import { pushRtmp, type Encoder } from '../helpers/media.ts';

let node: TestNode;
let push: Encoder;

beforeAll(async () => {
  node = await startTestNode({ SFU_WORKERS: 1, ICE_TIMEOUT_SECONDS: 3 });
});

afterAll(async () => {
  push?.stop();
  await node?.stop();
});

const whepViewers = async (streamId: string) =>
  Number(new RegExp(`^livecue_whep_viewers\\{stream_id="${streamId}"\\} (\\d+)`, 'm').exec(await (await fetch(`${node.baseUrl}/metrics`)).text())?.[1] ?? 0);

it('lets go of a viewer whose peer vanished without a word', async () => {
  const stream = (await node.api('POST', '/v1/streams', { title: 'vanishing viewer' })).body;
  push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, { seconds: 120, size: '320x180' });
  const session = await waitFor('live', () => node.lc.registry.get(stream.id), 15_000);
  await waitFor('producer', () => session.room.producer('video'), 15_000);
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./vanishing-viewer.ts', import.meta.url).pathname, stream.playback.whepUrl], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let said = '';
  child.stdout.on('data', (chunk: Buffer) => (said += chunk.toString()));
  try {
    await waitFor('the viewer connected', () => /connected|refused|no video/.test(said) || undefined, 30_000);
    expect(said).toMatch(/^connected/);
    expect(await whepViewers(stream.id)).toBe(1);
    child.kill('SIGKILL');
    await waitFor('the node let the viewer go', async () => (await whepViewers(stream.id)) === 0 || undefined, 60_000, 1000);
  } finally {
    child.kill('SIGKILL');
  }
}, 120_000);

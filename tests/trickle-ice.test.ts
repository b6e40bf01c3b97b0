// Trickle ICE and ICE restarts on WHIP/WHEP session resources (RFC 9725 4.3): PATCH with an SDP
// fragment under If-Match. A libwebrtc viewer restarts ICE through PATCH and keeps decoding.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { postSdp } from './helpers/webrtc.ts';
import { WrtcPublisher, WrtcViewer } from './helpers/wrtc-peers.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RECONNECT_WINDOW_SECONDS: 1 });
});

afterAll(async () => {
  await node?.stop();
});

const FRAGMENT = 'application/trickle-ice-sdpfrag';

/** The trickle fragment of an SDP: its ICE credentials, and per m-section its mid and candidates. */
function fragmentOf(sdp: string): string {
  const lines = sdp.split('\r\n');
  const ufrag = lines.find((line) => line.startsWith('a=ice-ufrag:'))!;
  const pwd = lines.find((line) => line.startsWith('a=ice-pwd:'))!;
  const out = [ufrag, pwd];
  let inSection = false;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      inSection = true;
      out.push(line);
    } else if (inSection && (line.startsWith('a=mid:') || line.startsWith('a=candidate:'))) {
      out.push(line);
    }
  }
  return `${out.join('\r\n')}\r\n`;
}

describe('trickle ICE (PATCH)', () => {
  it('acknowledges candidates, guards with If-Match, and restarts ICE for a viewer that keeps decoding', async () => {
    const { body: stream } = await node.api('POST', '/v1/streams', { title: 'trickle' });
    const publisher = new WrtcPublisher(320, 180);
    const viewer = new WrtcViewer();
    try {
      const publisherOffer = await publisher.offer();
      const published = await postSdp(stream.ingest.whipUrl, publisherOffer, { authorization: `Bearer ${stream.ingest.streamKey}` });
      expect(published.status).toBe(201);
      await publisher.accept(published.answer);
      await waitFor('publisher connected', () => publisher.connectionState === 'connected', 10_000);

      const offer = await viewer.offer();
      const response = await fetch(stream.playback.whepUrl, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: offer });
      expect(response.status).toBe(201);
      expect(response.headers.get('accept-patch')).toBe(FRAGMENT);
      const etag = response.headers.get('etag')!;
      const session = `${node.baseUrl}${response.headers.get('location')}`;
      const answer = await response.text();
      await viewer.accept(answer);
      await waitFor('decoded frames', () => viewer.framesDecoded > 10, 15_000);

      const patch = (body: string, headers: Record<string, string>) =>
        fetch(session, { method: 'PATCH', headers: { 'content-type': FRAGMENT, ...headers }, body });
      const trickle = fragmentOf(offer);
      expect((await patch(trickle, {})).status).toBe(428);
      expect((await patch(trickle, { 'if-match': '"stale"' })).status).toBe(412);
      expect((await fetch(session, { method: 'PATCH', headers: { 'content-type': 'application/sdp', 'if-match': etag }, body: trickle })).status).toBe(415);
      expect((await patch('hello', { 'if-match': etag })).status).toBe(400);
      const acknowledged = await patch(trickle, { 'if-match': etag });
      expect(acknowledged.status).toBe(204);

      // The WHIP session takes trickled candidates the same way.
      const whipSession = `${node.baseUrl}${published.location}`;
      const whipTrickle = await fetch(whipSession, {
        method: 'PATCH',
        headers: { 'content-type': FRAGMENT, 'if-match': '*' },
        body: fragmentOf(publisherOffer),
      });
      expect(whipTrickle.status).toBe(204);

      // ICE restart: the viewer's new credentials in, ours out, a new ETag; the viewer carries on.
      viewer.pc.restartIce();
      await viewer.pc.setLocalDescription(await viewer.pc.createOffer());
      await waitFor('gathered', () => viewer.pc.iceGatheringState === 'complete', 5000);
      const restartOffer: string = viewer.pc.localDescription.sdp;
      const restarted = await patch(fragmentOf(restartOffer), { 'if-match': etag });
      expect(restarted.status).toBe(200);
      expect(restarted.headers.get('content-type')).toContain(FRAGMENT);
      const newEtag = restarted.headers.get('etag')!;
      expect(newEtag).not.toBe(etag);
      const ours = await restarted.text();
      const ufrag = /a=ice-ufrag:(\S+)/.exec(ours)![1]!;
      const pwd = /a=ice-pwd:(\S+)/.exec(ours)![1]!;
      expect(answer).not.toContain(`a=ice-ufrag:${ufrag}`);
      expect(ours).toMatch(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host/);
      // The old ETag is stale now.
      expect((await patch(trickle, { 'if-match': etag })).status).toBe(412);
      await viewer.pc.setRemoteDescription({
        type: 'answer',
        sdp: answer.replace(/a=ice-ufrag:\S+/g, `a=ice-ufrag:${ufrag}`).replace(/a=ice-pwd:\S+/g, `a=ice-pwd:${pwd}`),
      });
      const before = viewer.framesDecoded;
      await waitFor('frames after the restart', () => viewer.framesDecoded > before + 30, 15_000);
      expect(viewer.pc.iceConnectionState).toMatch(/connected|completed/);
    } finally {
      viewer.close();
      publisher.close();
    }
  });
});

// A WHEP viewer in a process of its own, for a test that kills it: a peer that vanishes says nothing (no DTLS
// close, no DELETE). Prints "connected" once video arrives, then waits to be killed.
import { postSdp, WeriftViewer } from '../helpers/webrtc.ts';

const viewer = new WeriftViewer();
const answer = await postSdp(process.argv[2]!, await viewer.offer());
if (answer.status !== 201) {
  process.stdout.write(`refused ${answer.status}\n`);
  process.exit(1);
}
await viewer.accept(answer.answer);
const started = Date.now();
while (viewer.videoPackets === 0 && Date.now() - started < 15_000) await new Promise((resolve) => setTimeout(resolve, 100));
process.stdout.write(viewer.videoPackets > 0 ? 'connected\n' : 'no video\n');
setInterval(() => {}, 1000);

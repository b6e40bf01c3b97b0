// Child process of the capacity run: hosts counting WHEP viewers and answers the parent over IPC (add, counts, close).
import dgram from 'node:dgram';
import { deleteSession, postSdp } from './livecue-api.ts';
import { CountingViewer, installCountingSrtp, type ViewerCounts } from './counting-viewer.ts';
import { answerRequests } from './ipc-child.ts';

export type SwarmRequest =
  | { id: number; type: 'add'; count: number; whepUrl: string; baseUrl: string; concurrency: number; timeoutMs: number }
  | { id: number; type: 'counts' }
  | { id: number; type: 'close' };

export type SwarmReply =
  | { id: number; type: 'added'; receiving: number; failed: number; errors: string[]; setupMs: number[] }
  | { id: number; type: 'counts'; viewers: ViewerCounts[] }
  | { id: number; type: 'closed' };

/**
 * Receive buffer of every viewer socket. Hundreds of viewers share one event loop on a machine that also runs
 * the SFU, so a viewer process that is descheduled for a moment would otherwise drop datagrams at the default
 * ~200 KB (a real viewer has a machine of its own); the kernel caps it at net.core.rmem_max.
 */
const RECEIVE_BUFFER_BYTES = Number(process.env.BENCH_VIEWER_RCVBUF ?? 2 * 1024 * 1024);

function enlargeUdpReceiveBuffers(bytes: number): void {
  const create = dgram.createSocket;
  // werift calls dgram.createSocket through the module object, so replacing it here reaches its ICE sockets.
  dgram.createSocket = ((...args: Parameters<typeof dgram.createSocket>) => {
    const socket = create(...args);
    socket.once('listening', () => {
      try {
        socket.setRecvBufferSize(bytes);
      } catch {
        // Not fatal: the default buffer is used.
      }
    });
    return socket;
  }) as typeof dgram.createSocket;
}

if (RECEIVE_BUFFER_BYTES > 0) enlargeUdpReceiveBuffers(RECEIVE_BUFFER_BYTES);
installCountingSrtp();
const viewers: CountingViewer[] = [];
let baseUrl = '';

async function addOne(whepUrl: string, timeoutMs: number): Promise<number> {
  const viewer = new CountingViewer();
  const started = Date.now();
  try {
    const { location, answer } = await postSdp(whepUrl, await viewer.offer());
    viewer.location = location;
    await viewer.accept(answer);
    while (!viewer.receiving) {
      if (Date.now() - started > timeoutMs) throw new Error(`no media after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    viewers.push(viewer);
    return Date.now() - started;
  } catch (error) {
    await deleteSession(baseUrl, viewer.location);
    await viewer.close().catch(() => {});
    throw error;
  }
}

async function add(request: Extract<SwarmRequest, { type: 'add' }>): Promise<SwarmReply> {
  baseUrl = request.baseUrl;
  const setupMs: number[] = [];
  const errors: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < request.count) {
      next++;
      try {
        setupMs.push(await addOne(request.whepUrl, request.timeoutMs));
      } catch (error) {
        if (errors.length < 5) errors.push((error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(request.concurrency, request.count) }, worker));
  return { id: request.id, type: 'added', receiving: setupMs.length, failed: request.count - setupMs.length, errors, setupMs };
}

async function close(id: number): Promise<SwarmReply> {
  await Promise.all(
    viewers.map(async (viewer) => {
      await deleteSession(baseUrl, viewer.location);
      await viewer.close().catch(() => {});
    }),
  );
  return { id, type: 'closed' };
}

answerRequests((request: SwarmRequest): Promise<SwarmReply> =>
  request.type === 'add'
    ? add(request)
    : request.type === 'counts'
      ? Promise.resolve({ id: request.id, type: 'counts', viewers: viewers.map((v) => v.counts()) })
      : close(request.id),
);

// Sends the same messages to every WebSocket of a show at the least cost per socket: each message is
// framed once (one buffer shared by all sockets), and the messages that arrive while the previous
// ones go out leave together, in one write per socket. With thousands of viewers the cost is one
// write (a syscall) per socket per batch, so a backlog drains in bigger batches instead of growing;
// the writes are sliced over turns of the event loop so a broadcast never holds up a claim for long.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** An unmasked, unfragmented text frame (RFC 6455 5.2): what a server sends for one message. */
export function textFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81; // FIN + text
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, headerLength);
  return frame;
}

interface Batch {
  texts: string[];
  frames: Buffer[];
  /** Messages a socket must not miss (cues): a socket too far behind is closed rather than skipped. */
  mustDeliver: boolean;
}

/** Sockets written per turn of the event loop: between slices, claims and other requests get their turn. */
const SOCKETS_PER_SLICE = 500;

interface Delivery {
  batch: Batch;
  bytes: Buffer;
  /** The audience when the delivery started; a socket that joins later gets the show's state on connect. */
  sockets: WebSocket[];
}

export class SocketFanout {
  #batches = new Map<string, Batch>();
  #scheduled = false;
  /** A delivery in progress, sliced over turns; later batches wait for it, so no message overtakes another. */
  #delivering = false;

  constructor(
    private readonly audience: (key: string) => Iterable<WebSocket> | undefined,
    /** A socket holding more unsent bytes than this cannot keep up: it is skipped, or closed for a must-deliver message. */
    private readonly maxBufferedBytes: number,
    private readonly socketsPerSlice = SOCKETS_PER_SLICE,
  ) {}

  /** Queues one message (JSON text) for everyone in `key`'s audience; it leaves at the end of this turn. */
  send(key: string, text: string, options: { mustDeliver?: boolean } = {}): void {
    let batch = this.#batches.get(key);
    if (!batch) this.#batches.set(key, (batch = { texts: [], frames: [], mustDeliver: false }));
    batch.texts.push(text);
    batch.frames.push(textFrame(Buffer.from(text)));
    batch.mustDeliver ||= options.mustDeliver === true;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#delivering) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#deliver();
    });
  }

  #deliver(): void {
    const deliveries: Delivery[] = [];
    for (const [key, batch] of this.#batches) {
      deliveries.push({ batch, bytes: batch.frames.length === 1 ? batch.frames[0]! : Buffer.concat(batch.frames), sockets: [...(this.audience(key) ?? [])] });
    }
    this.#batches = new Map();
    this.#delivering = true;
    let current = 0;
    let next = 0;
    const slice = () => {
      let budget = this.socketsPerSlice;
      while (current < deliveries.length && budget > 0) {
        const { batch, bytes, sockets } = deliveries[current]!;
        const end = Math.min(sockets.length, next + budget);
        budget -= end - next;
        for (; next < end; next++) this.#write(sockets[next]!, batch, bytes);
        if (next >= sockets.length) {
          current++;
          next = 0;
        }
      }
      if (current < deliveries.length) {
        setImmediate(slice);
        return;
      }
      this.#delivering = false;
      if (this.#batches.size > 0) this.#schedule();
    };
    slice();
  }

  #write(socket: WebSocket, batch: Batch, bytes: Buffer): void {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > this.maxBufferedBytes) {
      if (batch.mustDeliver) socket.terminate();
      return;
    }
    // ws keeps its TCP socket as _socket. Without an extension (no compression) a frame written there is exactly
    // what ws.send would write, in the same order as ws's own writes; otherwise ws frames each message.
    const raw = (socket as unknown as { _socket?: Socket })._socket;
    if (raw && !raw.destroyed && socket.extensions === '') raw.write(bytes);
    else for (const text of batch.texts) socket.send(text);
  }
}

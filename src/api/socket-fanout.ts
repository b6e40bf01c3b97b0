// Sends the same messages to every WebSocket of a show at the least cost per socket: each message is
// framed once (one buffer shared by all sockets), and the messages that arrive in the same turn of
// the event loop go to each socket in one write. With thousands of viewers the cost is one write
// (a syscall) per socket per batch, so a backlog drains in bigger batches instead of growing.
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

export class SocketFanout {
  #batches = new Map<string, Batch>();
  #flushScheduled = false;

  constructor(
    private readonly audience: (key: string) => Iterable<WebSocket> | undefined,
    /** A socket holding more unsent bytes than this cannot keep up: it is skipped, or closed for a must-deliver message. */
    private readonly maxBufferedBytes: number,
  ) {}

  /** Queues one message (JSON text) for everyone in `key`'s audience; it leaves at the end of this turn. */
  send(key: string, text: string, options: { mustDeliver?: boolean } = {}): void {
    let batch = this.#batches.get(key);
    if (!batch) this.#batches.set(key, (batch = { texts: [], frames: [], mustDeliver: false }));
    batch.texts.push(text);
    batch.frames.push(textFrame(Buffer.from(text)));
    batch.mustDeliver ||= options.mustDeliver === true;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batches = this.#batches;
    this.#batches = new Map();
    for (const [key, batch] of batches) {
      const bytes = batch.frames.length === 1 ? batch.frames[0]! : Buffer.concat(batch.frames);
      for (const socket of this.audience(key) ?? []) {
        if (socket.readyState !== socket.OPEN) continue;
        if (socket.bufferedAmount > this.maxBufferedBytes) {
          if (batch.mustDeliver) socket.terminate();
          continue;
        }
        // ws keeps its TCP socket as _socket. Without an extension (no compression) a frame written there is exactly
        // what ws.send would write, in the same order as ws's own writes; otherwise ws frames each message.
        const raw = (socket as unknown as { _socket?: Socket })._socket;
        if (raw && !raw.destroyed && socket.extensions === '') raw.write(bytes);
        else for (const text of batch.texts) socket.send(text);
      }
    }
  }
}

// Sends the same messages to every WebSocket of a show at the least cost per socket: each message is
// framed once (one buffer shared by all sockets) and queued on each socket's outbox; a pass writes
// the sockets with something to send, one write per socket for all it has, sliced over turns of the
// event loop so a broadcast never holds up a claim for long. A message that arrives mid-pass does not
// wait for the pass to end: the sockets not yet written take it in the same write as the earlier one,
// the others at the end of the pass. With thousands of viewers a backlog drains in bigger writes
// instead of growing.
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

/** What one socket has still to get, in order. */
interface Outbox {
  frames: Buffer[];
  /** The same messages as text, for a socket whose frames ws must build itself (compression negotiated). */
  texts: string[];
  /** One of them must not be missed (a cue): a socket too far behind is closed rather than skipped. */
  mustDeliver: boolean;
  /** A new socket waiting for its first message (see hold): what comes meanwhile waits in the outbox. */
  held: boolean;
}

/** Sockets written per turn of the event loop: between slices, claims and other requests get their turn. */
const SOCKETS_PER_SLICE = 500;
/** Written entries of the line kept before it is compacted. */
const COMPACT_AFTER = 10_000;

export class SocketFanout {
  readonly #outboxes = new WeakMap<WebSocket, Outbox>();
  /** Sockets with something to send, in the order they are written; a socket is in it at most once. */
  #due: WebSocket[] = [];
  #next = 0;
  #flushing = false;

  constructor(
    private readonly audience: (key: string) => Iterable<WebSocket> | undefined,
    /** A socket holding more unsent bytes than this cannot keep up: it is skipped, or closed for a must-deliver message. */
    private readonly maxBufferedBytes: number,
    private readonly socketsPerSlice = SOCKETS_PER_SLICE,
  ) {}

  /**
   * Queues one message (JSON text) for everyone in `key`'s audience now. Writing starts at the end of this turn and
   * goes on in slices; a socket not yet written when the next message comes gets both in one write, and one already
   * written gets the next message in the same pass, after the others. No socket's messages are reordered.
   */
  send(key: string, text: string, options: { mustDeliver?: boolean } = {}): void {
    const audience = this.audience(key);
    if (!audience) return;
    const frame = textFrame(Buffer.from(text));
    const mustDeliver = options.mustDeliver === true;
    for (const socket of audience) {
      const outbox = this.#outbox(socket);
      if (outbox.frames.length === 0 && !outbox.held) this.#due.push(socket);
      outbox.frames.push(frame);
      outbox.texts.push(text);
      outbox.mustDeliver ||= mustDeliver;
    }
    this.#schedule();
  }

  /**
   * A socket joining the audience before its first message is ready (a viewer's state, read from the database): what
   * is sent to it meanwhile waits, and goes out after `greet`'s message, so the first message is the first it gets.
   */
  hold(socket: WebSocket): void {
    this.#outbox(socket).held = true;
  }

  /** The held socket's first message: written first, then whatever waited for it. */
  greet(socket: WebSocket, text: string): void {
    const outbox = this.#outbox(socket);
    outbox.frames.unshift(textFrame(Buffer.from(text)));
    outbox.texts.unshift(text);
    outbox.mustDeliver = true;
    if (outbox.held) {
      outbox.held = false;
      this.#due.push(socket);
    } else if (outbox.frames.length === 1) {
      this.#due.push(socket);
    }
    this.#schedule();
  }

  #outbox(socket: WebSocket): Outbox {
    let outbox = this.#outboxes.get(socket);
    if (!outbox) this.#outboxes.set(socket, (outbox = { frames: [], texts: [], mustDeliver: false, held: false }));
    return outbox;
  }

  #schedule(): void {
    if (this.#flushing || this.#due.length <= this.#next) return;
    this.#flushing = true;
    setImmediate(this.#flush);
  }

  readonly #flush = (): void => {
    const end = Math.min(this.#due.length, this.#next + this.socketsPerSlice);
    // Sockets that got the same messages share one buffer: framed and joined once, not per socket.
    let lastFrames: Buffer[] | undefined;
    let lastBytes: Buffer | undefined;
    for (; this.#next < end; this.#next++) {
      const socket = this.#due[this.#next]!;
      const outbox = this.#outboxes.get(socket)!;
      // Held: its messages wait for its first (greet puts it back in line). Listed twice: written already.
      if (outbox.held || outbox.frames.length === 0) continue;
      const { frames, texts, mustDeliver } = outbox;
      outbox.frames = [];
      outbox.texts = [];
      outbox.mustDeliver = false;
      if (!lastFrames || !sameFrames(frames, lastFrames)) {
        lastFrames = frames;
        lastBytes = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
      }
      this.#write(socket, lastBytes!, texts, mustDeliver);
    }
    if (this.#next < this.#due.length) {
      // A pass that never quite ends (messages keep coming) drops the part of the line it has written.
      if (this.#next >= COMPACT_AFTER && this.#next * 2 >= this.#due.length) {
        this.#due = this.#due.slice(this.#next);
        this.#next = 0;
      }
      setImmediate(this.#flush);
      return;
    }
    this.#due = [];
    this.#next = 0;
    this.#flushing = false;
  };

  #write(socket: WebSocket, bytes: Buffer, texts: string[], mustDeliver: boolean): void {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > this.maxBufferedBytes) {
      if (mustDeliver) socket.terminate();
      return;
    }
    // ws keeps its TCP socket as _socket. Without an extension (no compression) a frame written there is exactly
    // what ws.send would write, in the same order as ws's own writes; otherwise ws frames each message.
    const raw = (socket as unknown as { _socket?: Socket })._socket;
    if (raw && !raw.destroyed && socket.extensions === '') raw.write(bytes);
    else for (const text of texts) socket.send(text);
  }
}

function sameFrames(a: Buffer[], b: Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

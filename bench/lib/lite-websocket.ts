// A minimal RFC 6455 client for the benches' crowds: the opening handshake (checked), masked text frames
// out, unmasked frames in (text, ping answered with pong, close), payloads handed over as Buffers so a
// viewer can look for what it measures without decoding every message. Thousands of these share a
// process, and the machine's cores with livecue: `ws` cost the viewer processes about twice the CPU.
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const TEXT = 0x1;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

export interface LiteHandlers {
  /** A complete text message's payload (a view into the socket's buffer: copy what is kept). */
  onText(payload: Buffer): void;
  onClose(code: number): void;
}

export class LiteWebSocket {
  static readonly OPEN = 1;
  readyState = 0;
  readonly #socket: Socket;
  #buffer: Buffer | undefined;
  #handshaken = false;
  /** Text frames split over continuation frames, joined before they are handed over. */
  #fragments: Buffer[] | undefined;

  constructor(
    url: string,
    private readonly handlers: LiteHandlers,
    onOpen: () => void,
    onError: (error: Error) => void,
  ) {
    const { hostname, port, pathname, search } = new URL(url);
    const key = randomBytes(16).toString('base64');
    const accept = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
    this.#socket = connect(Number(port || 80), hostname, () => {
      this.#socket.write(
        `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    this.#socket.setNoDelay(true);
    this.#socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer ? Buffer.concat([this.#buffer, chunk]) : chunk;
      if (!this.#handshaken) {
        const end = this.#buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = this.#buffer.subarray(0, end).toString('latin1');
        if (!/^HTTP\/1\.1 101 /.test(head) || !head.includes(`\r\nSec-WebSocket-Accept: ${accept}`)) {
          onError(new Error(`no WebSocket upgrade: ${head.split('\r\n')[0]}`));
          this.#socket.destroy();
          return;
        }
        this.#handshaken = true;
        this.readyState = LiteWebSocket.OPEN;
        this.#buffer = end + 4 < this.#buffer.length ? this.#buffer.subarray(end + 4) : undefined;
        onOpen();
      }
      this.#frames();
    });
    this.#socket.on('error', (error) => (this.#handshaken ? this.#closed(1006) : onError(error)));
    this.#socket.on('close', () => this.#closed(1006));
  }

  /** Sends one text message, masked as a client must. */
  send(text: string): void {
    if (this.readyState !== LiteWebSocket.OPEN) return;
    this.#socket.write(frame(TEXT, Buffer.from(text)));
  }

  terminate(): void {
    this.#socket.destroy();
  }

  #frames(): void {
    const buffer = this.#buffer;
    let offset = 0;
    while (buffer && buffer.length - offset >= 2) {
      const first = buffer[offset]!;
      let length = buffer[offset + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        if (buffer.length - offset < 4) break;
        length = buffer.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (buffer.length - offset < 10) break;
        length = Number(buffer.readBigUInt64BE(offset + 2));
        header = 10;
      }
      if (buffer.length - offset < header + length) break;
      const payload = buffer.subarray(offset + header, offset + header + length);
      offset += header + length;
      this.#frame(first & 0x80 ? true : false, first & 0x0f, payload);
      if (this.readyState !== LiteWebSocket.OPEN) return;
    }
    this.#buffer = buffer && offset < buffer.length ? buffer.subarray(offset) : undefined;
  }

  #frame(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode === PING) return void this.#socket.write(frame(PONG, payload));
    if (opcode === CLOSE) {
      this.#closed(payload.length >= 2 ? payload.readUInt16BE(0) : 1005);
      this.#socket.end(frame(CLOSE, payload.subarray(0, 2)));
      return;
    }
    if (opcode === TEXT && fin) return this.handlers.onText(payload);
    if (opcode === TEXT) this.#fragments = [Buffer.from(payload)];
    else if (opcode === 0 && this.#fragments) {
      this.#fragments.push(Buffer.from(payload));
      if (fin) {
        const whole = Buffer.concat(this.#fragments);
        this.#fragments = undefined;
        this.handlers.onText(whole);
      }
    }
  }

  #closed(code: number): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.handlers.onClose(code);
  }
}

/** A client frame: FIN, the opcode, the mask bit and a fresh mask over the payload. */
function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(header + 4 + length);
  out[0] = 0x80 | opcode;
  if (length < 126) out[1] = 0x80 | length;
  else if (length < 65_536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, header);
  for (let i = 0; i < length; i++) out[header + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

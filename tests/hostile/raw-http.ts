// Raw HTTP/1.1 over a socket: what fetch will not send (absolute-form targets, `//`, upgrades on any path,
// header floods, half-sent requests).
import { connect } from 'node:net';

export interface RawAnswer {
  /** 0 when the server closed the connection without an answer. */
  status: number;
  head: string;
  body: string;
}

/** Sends `text` as is and reads until the server closes or `timeoutMs` passes. */
export function rawRequest(port: number, text: string | Buffer, timeoutMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks).toString('latin1');
      const [head = '', body = ''] = all.split('\r\n\r\n', 2);
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({ status: match ? Number(match[1]) : 0, head, body });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // One answer is all we want: stop once its body (by Content-Length) is in.
      const all = Buffer.concat(chunks).toString('latin1');
      const end = all.indexOf('\r\n\r\n');
      const length = /content-length: *(\d+)/i.exec(all.slice(0, end));
      if (end >= 0 && length && all.length - end - 4 >= Number(length[1])) done();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.write(text);
  });
}

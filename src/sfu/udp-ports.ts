// Free loopback UDP port pairs (RTP on an even port, RTCP on the next) for FFmpeg <-> SFU bridges.
import { createSocket } from 'node:dgram';

async function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

export async function freeRtpPortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + 2 * Math.floor(Math.random() * 5000);
    if ((await udpPortFree(port)) && (await udpPortFree(port + 1))) return port;
  }
  throw new Error('no free loopback UDP port pair');
}

// The RTMP ingest listener (plain, or RTMPS over TLS): accepts encoders, checks app and stream key
// through the session registry, and refuses bad publishes before any media moves.
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { PublishGate } from './ingest-connection.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { RTMP_APP, RtmpConnection, type PublishRequest } from './rtmp-connection.ts';

export class RtmpServer {
  #server: Server;
  #sockets = new Set<Socket>();
  #closing?: Promise<void>;

  private constructor(
    private readonly registry: PublishGate,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly maxConnections: number,
    tls?: { cert: Buffer; key: Buffer },
  ) {
    this.#server = tls
      ? // A TLS handshake that fails or stalls must not hold a socket: 10 s to complete it.
        createTlsServer({ cert: tls.cert, key: tls.key, handshakeTimeout: 10_000 }, (socket) => this.#connection(socket))
      : createServer((socket) => this.#connection(socket));
    this.#server.on('error', (error) => logger.error({ err: error }, 'rtmp server error'));
    this.#server.on('tlsClientError', (error: Error) => logger.debug({ err: error }, 'rtmps handshake failed'));
  }

  /** Listens for RTMP, or for RTMPS when given a certificate and key. */
  static async listen(options: {
    port: number;
    host: string;
    registry: PublishGate;
    metrics: Metrics;
    logger: Logger;
    maxConnections: number;
    tls?: { cert: Buffer; key: Buffer };
  }): Promise<RtmpServer> {
    const name = options.tls ? 'RTMPS' : 'RTMP';
    const server = new RtmpServer(
      options.registry,
      options.metrics,
      options.logger.child({ component: options.tls ? 'rtmps' : 'rtmp' }),
      options.maxConnections,
      options.tls,
    );
    await new Promise<void>((resolve, reject) => {
      server.#server.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'EADDRINUSE' ? new Error(`${name} port ${options.port} is already in use: set ${name}_PORT`) : error),
      );
      server.#server.listen(options.port, options.host, resolve);
    });
    return server;
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  #connection(socket: Socket): void {
    // Past RTMP_MAX_CONNECTIONS (half-open handshakes included) a new connection is closed at once.
    if (this.#sockets.size >= this.maxConnections) {
      this.metrics.rejectedPublishes.inc({ protocol: 'rtmp', reason: 'too_many_connections' });
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    const logger = this.logger.child({ remote: `${socket.remoteAddress}:${socket.remotePort}` });
    new RtmpConnection(socket, logger, (request) => void this.#decide(request, logger));
  }

  async #decide({ app, streamKey, connection }: PublishRequest, logger: Logger): Promise<void> {
    const refuse = (reason: string, message: string) => {
      this.metrics.rejectedPublishes.inc({ protocol: 'rtmp', reason });
      logger.warn({ reason }, message);
      connection.refuse(reason);
    };
    if (app !== RTMP_APP) return refuse('bad_app', `publish refused: unknown application (use rtmp://host/${RTMP_APP})`);
    try {
      const outcome = await this.registry.publish(streamKey, connection);
      if (!outcome.accepted) {
        return refuse(
          outcome.reason,
          outcome.reason === 'unknown_key' ? 'publish refused: unknown or revoked stream key' : `publish refused: ${outcome.reason}`,
        );
      }
      this.metrics.publishes.inc({ protocol: 'rtmp' });
      outcome.session.logger.info({ resumed: outcome.resumed, remote: connection.remoteAddress }, 'rtmp publish accepted');
      connection.accept();
    } catch (error) {
      logger.error({ err: error }, 'publish decision failed');
      refuse('internal', 'publish refused: internal error');
    }
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closing;
  }
}

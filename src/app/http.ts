// The node's HTTP side: the Express app (API, HLS origin, WHIP/WHEP, pages), the claims fast path ahead of it,
// and the viewers' WebSocket, on one server.
import { createServer, type Server } from 'node:http';
import type express from 'express';
import { attachCueSocket } from '../api/cue-socket.ts';
import { ClaimsEndpoint } from '../api/claims-endpoint.ts';
import type { Config } from '../config/schema.ts';
import type { ProxyTrust } from '../config/trust-proxy.ts';
import type { Logger } from '../log.ts';
import type { ViewerIdentity } from '../offers/viewer-identity.ts';
import type { PlaybackAccess } from '../security/playback-access.ts';
import type { Commerce } from './commerce.ts';
import type { Foundation } from './foundation.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { Media } from './media.ts';

/** Idle kept-alive connections outlive a load balancer's own idle timeout (60 s on AWS ALB, nginx's upstream pools),
 * so the proxy never sends a request on a connection livecue is closing (Node's default is 5 s). */
const KEEP_ALIVE_MS = 65_000;
const REQUEST_TIMEOUT_MS = 60_000;

/** Serves the app on PORT, viewers' claims answered ahead of Express and their sockets beside it; resolves with the port. */
export async function serveHttp(
  config: Config,
  parts: { app: express.Express; base: Foundation; media: Media; commerce: Commerce; access: PlaybackAccess; identity: ViewerIdentity; trust: ProxyTrust },
  logger: Logger,
  life: Lifecycle,
): Promise<{ server: Server; port: number }> {
  const { app, base, media, commerce, identity, trust } = parts;
  const claims = new ClaimsEndpoint({ offers: commerce.offers, identity, metrics: base.metrics, logger, trust, perSecond: config.API_RATE_PER_SECOND });
  const server = createServer((req, res) => {
    if (!claims.handle(req, res)) app(req, res);
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  const cueSocket = attachCueSocket(server, {
    hub: commerce.hub,
    cues: commerce.cues,
    streams: media.streams,
    registry: media.registry,
    logger,
    access: parts.access,
    engagement: commerce.engagement,
    claims,
    stock: (streamId) => commerce.offers.stock(streamId),
    identity,
    connectsPerSecond: config.WS_CONNECT_RATE_PER_SECOND,
    maxSocketsPerAddress: config.MAX_SOCKETS_PER_ADDRESS,
    messagesPerAddressPerSecond: config.MESSAGES_PER_ADDRESS_PER_SECOND,
    metrics: base.metrics,
    trust,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`HTTP port ${config.PORT} is already in use: set PORT`) : error),
    );
    server.listen(config.PORT, config.HOST, resolve);
  });
  const address = server.address();
  // Closed before the parts built earlier, so no new work arrives while sessions flush.
  life.onClose('cue sockets', async () => cueSocket.close());
  life.onClose(
    'http server',
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { server, port: typeof address === 'object' && address ? address.port : config.PORT };
}

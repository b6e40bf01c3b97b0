// The Express application: API, HLS origin, metrics and health, with one error format.
import express from 'express';
import type { SessionRegistry } from '../live/session-registry.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { StreamStore } from '../streams/stream-store.ts';
import type { ProductStore } from '../products/product-store.ts';
import type { CueService } from '../cues/cue-service.ts';
import { productsRouter } from './products-routes.ts';
import { cuesRouter, publicCuesRouter } from './cues-routes.ts';
import { recordingsRouters } from './recordings-routes.ts';
import { clipsRouters } from './clips-routes.ts';
import type { ClipStore } from '../workers/clip-store.ts';
import type { RecordingStore } from '../workers/recording-store.ts';
import type { WebhookService } from '../workers/webhooks.ts';
import { authenticate, requires } from './access.ts';
import { clientAddress } from './client-address.ts';
import type { ProxyTrust } from '../config/trust-proxy.ts';
import type { ViewerIdentity } from '../offers/viewer-identity.ts';
import type { DestinationPolicy } from '../security/destinations.ts';
import type { PlaybackAccess } from '../security/playback-access.ts';
import { RateLimiter } from '../rate-limit.ts';
import { LivecueError } from '../errors.ts';
import type { ApiTokenStore } from '../security/api-tokens.ts';
import { tokensRouter } from './tokens-routes.ts';
import { offersRouters } from './offers-routes.ts';
import { moderationRouter } from './moderation-routes.ts';
import { analyticsRouters } from './analytics-routes.ts';
import type { Analytics } from '../analytics/analytics.ts';
import type { EngagementService } from '../engagement/engagement-service.ts';
import type { OfferService } from '../offers/offer-service.ts';
import type { RequestHandler } from 'express';
import { hlsOrigin, type LiveHlsFollower } from './hls-origin.ts';
import type { LiveHlsWindows } from '../transcode/live-hls-windows.ts';
import { openApiDocument } from './openapi.ts';
import { pagesRouter } from './pages.ts';
import { errorHandler, notFoundHandler, sendProblem } from './problem.ts';

import { streamsRouter } from './streams-routes.ts';
import type { RestreamStore } from '../restream/restream-store.ts';
import { restreamsRouter } from './restreams-routes.ts';
import type { PublicUrls } from './urls.ts';
import { webrtcRouters } from './webrtc-routes.ts';
import { internalRouter } from './internal-routes.ts';
import type { RelayOrigins } from '../sfu/pipe-relay.ts';
import type { WebRtcSessions } from '../live/webrtc-sessions.ts';
import type { Restreams } from '../restream/restreams.ts';
import { healthRouter } from './health-routes.ts';
import type { ForwardedResponse, SessionLocator } from '../cluster/forward.ts';
import type { SessionView } from './session-view.ts';
import type { ShowSchedules } from '../shows/show-schedules.ts';
import { publicShowsRouter, remindersRouter } from './shows-routes.ts';

export interface HttpAppDeps {
  adminToken: string;
  streams: StreamStore;
  registry: SessionRegistry;
  /** The live HLS windows of this node's shows: LL-HLS is served from them. */
  hlsWindows: LiveHlsWindows;
  /** Mirrors the LL-HLS of shows held by other nodes. */
  hlsRelay?: LiveHlsFollower;
  store: ObjectStore;
  metrics: Metrics;
  logger: Logger;
  urls: () => PublicUrls;
  health: () => Promise<{ ok: boolean; checks: Record<string, string> }>;
  /** The WHIP publishers and WHEP viewers this node holds. */
  webrtc: WebRtcSessions;
  /** Node-to-node parts: relays of shows to other nodes' viewers, cue forwarding. */
  cluster: {
    token: string;
    origins?: RelayOrigins;
    forward: (streamId: string, req: express.Request) => Promise<ForwardedResponse | undefined>;
    sessions: SessionLocator;
    /** This node's NODE_ID. */
    nodeId: string;
    /** The live session of a show another node holds. */
    remoteSession: (streamId: string) => Promise<SessionView | undefined>;
  };
  /** True once the node drains: it stops taking new publishes and viewers (readiness fails). */
  draining: () => boolean;
  sdpMaxBytes: number;
  products: ProductStore;
  cues: CueService;
  /** The replays as the API reads them. */
  recordings: RecordingStore;
  /** Shoppable clips (issue #19). */
  clips: ClipStore;
  webhooks: WebhookService;
  restreams: RestreamStore;
  /** The restreams of the shows live on this node. */
  running: Restreams;
  access: PlaybackAccess;
  tokens: ApiTokenStore;
  offers: OfferService;
  engagement: EngagementService;
  analytics: Analytics;
  limits: { apiPerSecond: number; signalingPerSecond: number };
  /** Which proxies' X-Forwarded-For names the client (TRUST_PROXY). */
  trust: ProxyTrust;
  /** Where webhooks and restreams may point (ALLOW_PRIVATE_DESTINATIONS). */
  destinations: DestinationPolicy;
  /** Issues anonymous viewer tokens (POST /live/viewers). */
  identity: ViewerIdentity;
  /** When set, /metrics needs it as a bearer token; otherwise only loopback and private peers get it. */
  metricsToken?: string;
  /** Scheduled shows: schedules, the waiting room's view, reminders. */
  shows: ShowSchedules;
}

/** Per client address (behind trusted proxies, the address they forward: TRUST_PROXY). */
function rateLimit(perSecond: number, what: string, trust: ProxyTrust): RequestHandler {
  const limiter = new RateLimiter(perSecond, perSecond * 2);
  return (req, res, next) => {
    const waitMs = limiter.take(clientAddress(req, trust));
    if (waitMs === 0) return next();
    next(new LivecueError('rate_limited', `too many ${what} requests from this address; slow down`, { retryAfterMs: waitMs }));
  };
}

export function createHttpApp(deps: HttpAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', false);
  app.use((req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // A path that does not decode, or decodes to control characters, names nothing livecue has: refused here, so
    // no handler, store or database sees it.
    let path: string;
    try {
      path = decodeURIComponent(req.path);
    } catch {
      return sendProblem(res, 400, 'the path is not valid percent-encoding', { code: 'bad_request' });
    }
    if (/[\x00-\x1f\x7f]/.test(path)) return sendProblem(res, 400, 'the path holds control characters', { code: 'bad_request' });
    next();
  });

  app.use(healthRouter(deps));
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument(deps.urls().api));
  });
  app.use('/hls', hlsOrigin({ store: deps.store, logger: deps.logger, access: deps.access, windows: deps.hlsWindows, relay: deps.hlsRelay }));
  const webrtc = webrtcRouters({ sessions: deps.webrtc, locator: deps.cluster.sessions, logger: deps.logger, sdpMaxBytes: deps.sdpMaxBytes });
  const signalingLimit = rateLimit(deps.limits.signalingPerSecond, 'WHIP/WHEP', deps.trust);
  app.use('/whip', (req, res, next) => (req.method === 'POST' ? signalingLimit(req, res, next) : next()), webrtc.whip);
  app.use('/whep', (req, res, next) => (req.method === 'POST' ? signalingLimit(req, res, next) : next()), webrtc.whep);

  app.use(
    '/internal/v1',
    internalRouter({ clusterToken: deps.cluster.token, origins: deps.cluster.origins, registry: deps.registry, nodeId: deps.cluster.nodeId }),
  );

  // A viewer without the shop's token gets an anonymous id and the token that proves it: chat, votes and
  // claims take the token, never a bare id (ids are shown in chat, so anyone could reuse one).
  const viewerIdLimit = rateLimit(deps.limits.signalingPerSecond, 'viewer id', deps.trust);
  app.post('/live/viewers', viewerIdLimit, (_req, res) => {
    if (deps.identity.shopSigned)
      return sendProblem(res, 409, 'viewers on this site sign in with the shop: its viewer token is their identity', { code: 'conflict' });
    res.status(201).setHeader('Cache-Control', 'no-store').json(deps.identity.issue());
  });
  const clipRoutes = clipsRouters({
    clips: deps.clips,
    recordings: deps.recordings,
    streams: deps.streams,
    products: deps.products,
    store: deps.store,
    access: deps.access,
    hlsBase: () => deps.urls().hlsBase,
    apiBase: () => deps.urls().api,
  });
  app.use('/live', clipRoutes.publicClip);
  app.use('/live', publicCuesRouter({ cues: deps.cues, streams: deps.streams, registry: deps.registry, products: deps.products, access: deps.access }));

  // Every /v1 call is authenticated first; each mount below declares the scope its routes need. The admin-only
  // and cue routes come before the general read/write rule, which covers every route mounted after it.
  app.use('/v1', rateLimit(deps.limits.apiPerSecond, 'API', deps.trust), authenticate({ adminToken: deps.adminToken, tokens: deps.tokens }));
  // Cues are small: 8 KB is plenty and a bigger body is refused with 413 before it is parsed.
  app.use('/v1/streams/:id/cues', express.json({ limit: '8kb', strict: true }));
  app.use('/v1', express.json({ limit: '64kb', strict: true }));
  app.use('/v1/tokens', requires('admin'), tokensRouter(deps.tokens));
  app.use(
    '/v1/streams/:id/cues',
    requires('cues'),
    cuesRouter({ cues: deps.cues, streams: deps.streams, registry: deps.registry, forward: deps.cluster.forward }),
  );
  app.use('/v1', requires({ read: 'read', write: 'write' }));
  app.use('/v1/products', productsRouter(deps.products));
  const offerRoutes = offersRouters({ offers: deps.offers });
  app.use('/v1/offers', offerRoutes.offers);
  app.use('/v1/streams/:id', moderationRouter({ streams: deps.streams, engagement: deps.engagement }));
  app.use('/v1/claims', offerRoutes.claims);
  const recordingRoutes = recordingsRouters({
    recordings: deps.recordings,
    streams: deps.streams,
    webhooks: deps.webhooks,
    hlsBase: () => deps.urls().hlsBase,
    access: deps.access,
  });
  app.use('/live', recordingRoutes.replay);
  const analyticsRoutes = analyticsRouters({ analytics: deps.analytics, streams: deps.streams, offers: deps.offers });
  // Player beats and taps are public: limited per client address like the API.
  const beatLimit = rateLimit(deps.limits.apiPerSecond, 'player report', deps.trust);
  app.use('/live', (req, res, next) => (req.method === 'POST' ? beatLimit(req, res, next) : next()), express.json({ limit: '1kb' }), analyticsRoutes.beats);
  // The waiting room's show, calendar and reminders (POSTs limited per address by the limiter above).
  app.use('/live', publicShowsRouter({ shows: deps.shows, streams: deps.streams, products: deps.products, access: deps.access, identity: deps.identity }));
  app.use('/v1/streams/:id/reminders', remindersRouter({ shows: deps.shows, streams: deps.streams }));
  app.use('/v1/streams/:id/analytics', analyticsRoutes.admin);
  app.use('/v1/streams/:id/recordings', recordingRoutes.byStream);
  app.use('/v1/recordings/:id/clips', clipRoutes.byRecording);
  app.use('/v1/recordings', recordingRoutes.byId);
  app.use('/v1/streams/:id/clips', clipRoutes.byStream);
  app.use('/v1/clips', clipRoutes.byId);
  app.use('/v1/webhooks', recordingRoutes.webhooks);
  app.use(
    '/v1/streams/:id/restreams',
    restreamsRouter({ restreams: deps.restreams, streams: deps.streams, running: deps.running, logger: deps.logger, destinations: deps.destinations }),
  );
  app.use(
    '/v1/streams',
    streamsRouter({
      streams: deps.streams,
      registry: deps.registry,
      store: deps.store,
      urls: deps.urls,
      logger: deps.logger,
      access: deps.access,
      nodeId: deps.cluster.nodeId,
      remoteSession: deps.cluster.remoteSession,
      shows: deps.shows,
    }),
  );

  const { api, hlsBase } = deps.urls();
  app.use(pagesRouter({ webRoot: decodeURIComponent(new URL('../../dist/web', import.meta.url).pathname), cdnBaseUrl: hlsBase !== api ? hlsBase : undefined }));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}

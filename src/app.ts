// The composition root: builds every part of a livecue node from a Config, in dependency order,
// and closes them in reverse. Tests start livecue through this too.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { and, eq, isNull } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { resolveAdminToken } from './api/admin-auth.ts';
import { createHttpApp } from './api/http-app.ts';
import { publicUrls, type PublicUrls } from './api/urls.ts';
import type { Config } from './config/schema.ts';
import { openDatabase, type Database } from './db/database.ts';
import { liveSessions, streams as streamsTable } from './db/schema.ts';
import { RtmpServer } from './ingest/rtmp-server.ts';
import { rtmpsCertificate } from './ingest/rtmps-certificate.ts';
import { SessionRegistry } from './live/session-registry.ts';
import { createLogger, type Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics/metrics.ts';
import { EmbeddedRedis } from './redis/embedded-redis.ts';
import { createObjectStore } from './storage/create-store.ts';
import type { ObjectStore } from './storage/object-store.ts';
import { StreamStore } from './streams/stream-store.ts';
import type { WebRtcSettings } from './sfu/sfu-room.ts';
import { loadMediasoup, WorkerPool } from './sfu/worker-pool.ts';
import { EdgeRelays, RelayOrigins, type PipeSettings } from './sfu/pipe-relay.ts';
import { OriginDirectory } from './cluster/origin-directory.ts';
import { clusterToken } from './cluster/cluster-auth.ts';
import { originForwarder, sessionLocator } from './cluster/forward.ts';
import { ProductStore } from './products/product-store.ts';
import { CueStore } from './cues/cue-store.ts';
import { CueHub } from './cues/cue-hub.ts';
import { CueService } from './cues/cue-service.ts';
import { OfferService } from './offers/offer-service.ts';
import { EngagementService } from './engagement/engagement-service.ts';
import { Analytics } from './analytics/analytics.ts';
import { attachCueSocket } from './api/cue-socket.ts';
import { bullConnection, createQueues, type Queues } from './workers/queues.ts';
import { WebhookService } from './workers/webhooks.ts';
import { RecordingBuilder } from './workers/recording-builder.ts';
import { WorkerHost } from './workers/worker-host.ts';
import type { LiveSession } from './live/live-session.ts';
import { RestreamStore } from './restream/restream-store.ts';
import { resolveSecretKey, SecretBox } from './security/secret-box.ts';
import { randomBytes } from 'node:crypto';
import { PlaybackAccess } from './api/playback-access.ts';
import { remoteSessions } from './api/session-view.ts';
import { ClaimsEndpoint } from './api/claims-endpoint.ts';
import { routeTable, type RouteEntry } from './api/route-table.ts';
import { ApiTokenStore } from './security/api-tokens.ts';
import { persistentSecret } from './security/persistent-secret.ts';
import { PlaybackSigner } from './security/playback-tokens.ts';
import { parseTrustProxy } from './config/trust-proxy.ts';
import { DestinationPolicy } from './security/destinations.ts';
import { ViewerIdentity } from './offers/viewer-identity.ts';

const run = promisify(execFile);

export interface Livecue {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  database: Database;
  redis: Redis;
  store: ObjectStore;
  streams: StreamStore;
  registry: SessionRegistry;
  /** Absent on nodes that run no SFU (ROLE api). */
  sfu?: WorkerPool;
  queues: Queues;
  adminToken: string;
  httpPort: number;
  /** 0 on nodes that take no encoders (ROLE api or sfu). */
  rtmpPort: number;
  /** Set when RTMPS ingest listens. */
  rtmpsPort?: number;
  /**
   * Graceful drain (SIGTERM): refuse new publishes and viewers (readiness fails), tell this node's
   * WebRTC viewers to reconnect elsewhere, and wait up to DRAIN_SECONDS for its shows to end.
   */
  drain(): Promise<void>;
  urls: PublicUrls;
  /** Every HTTP route this node serves (for the abuse suite and the API's own checks). */
  routes: RouteEntry[];
  close(): Promise<void>;
}

/** A missing ffmpeg is a start-up error that names what to install, not a failure at the first publish. */
async function checkBinary(binary: string, what: string): Promise<void> {
  try {
    await run(binary, ['-version'], { timeout: 10_000 });
  } catch {
    throw new Error(`${what} not found ("${binary}"): install it with "apt-get install ffmpeg" or set ${what === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH'}`);
  }
}

export async function startLivecue(config: Config, options: { logger?: Logger } = {}): Promise<Livecue> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  // Stable across restarts (a restarted node closes the sessions it left open) and distinct for
  // processes sharing a machine; PORT=0 (tests) has no stable port, so the pid stands in.
  const nodeId = config.NODE_ID ?? `${hostname()}:${config.PORT || `pid${process.pid}`}`;
  // Each part registers how to close it; they close in reverse order of creation.
  const cleanups: { name: string; close: () => Promise<unknown> }[] = [];
  const onClose = (name: string, close: () => Promise<unknown>) => cleanups.push({ name, close });
  // Told first when the node stops, before anything closes (e.g. the SFU stops replacing workers).
  const stopping: (() => void)[] = [];
  const closeAll = async () => {
    for (const stop of stopping) stop();
    for (const { name, close } of cleanups.reverse()) {
      logger.debug({ part: name }, 'closing');
      await close().catch((error: Error) => logger.error({ err: error, part: name }, 'error while closing'));
    }
  };

  try {
    await checkBinary(config.FFMPEG_PATH, 'ffmpeg');
    const metrics = createMetrics();
    // An error no code caught is a bug: it is logged with its stack and counted, and the node keeps its shows
    // and viewers instead of dying with them (one bad request must not end every show on the node).
    const unhandled = (kind: 'rejection' | 'exception') => (error: unknown) => {
      metrics.unhandledErrors.inc({ kind });
      logger.error({ err: error, kind }, 'unhandled error (a bug): logged and counted; livecue keeps serving');
    };
    const onRejection = unhandled('rejection');
    const onException = unhandled('exception');
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
    onClose('unhandled error guard', async () => {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    });
    const { token: adminToken, generated, file: tokenFile } = resolveAdminToken(config.LIVECUE_ADMIN_TOKEN, config.LIVECUE_DATA_DIR);
    if (generated) {
      // Shown once, on the console, never through the logger.
      process.stdout.write(`\nlivecue admin token (saved in ${tokenFile}):\n\n  ${adminToken}\n\n`);
    }

    const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.LIVECUE_DATA_DIR });
    onClose('database', () => database.close());
    logger.info({ database: database.kind }, 'database ready');
    // Sessions this node left open when it last stopped cannot be live any more.
    const orphans = await database.db
      .update(liveSessions)
      .set({ endedAt: new Date(), endReason: 'node_restarted' })
      .where(and(eq(liveSessions.nodeId, nodeId), isNull(liveSessions.endedAt)))
      .returning({ streamId: liveSessions.streamId });
    for (const { streamId } of orphans) {
      await database.db.update(streamsTable).set({ status: 'ended', updatedAt: new Date() }).where(eq(streamsTable.id, streamId));
    }

    let redisUrl = config.REDIS_URL;
    if (!redisUrl) {
      const embedded = await EmbeddedRedis.start({ binary: config.REDIS_SERVER_PATH, logger });
      onClose('embedded redis', () => embedded.close());
      redisUrl = embedded.url;
    }
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3, keyPrefix: `${config.REDIS_KEY_PREFIX}:` });
    redis.on('error', (error) => logger.warn({ err: error }, 'redis error'));
    await redis.connect();
    onClose('redis client', () => redis.quit());

    const store = await createObjectStore(config, { ensureBucket: true });
    onClose('object store', () => store.close());

    // What this node does (ROLE): hosting shows needs the SFU; an api node runs no mediasoup at all.
    const takesPublishes = config.ROLE === 'all' || config.ROLE === 'ingest';
    let pool: WorkerPool | undefined;
    if (takesPublishes || config.ROLE === 'sfu') {
      const mediasoup = await loadMediasoup(config.MEDIASOUP_WORKER_BIN);
      const workers = await WorkerPool.create({ mediasoup, size: config.SFU_WORKERS, logger, minPort: config.WEBRTC_MIN_PORT, maxPort: config.WEBRTC_MAX_PORT });
      onClose('mediasoup workers', () => workers.close());
      stopping.push(() => workers.stopReplacing());
      workers.on('workerDied', () => metrics.sfuWorkerDeaths.inc());
      pool = workers;
    }
    const pipe: PipeSettings = {
      listenIp: config.PIPE_LISTEN_IP ?? config.WEBRTC_LISTEN_IP,
      announcedAddress: config.PIPE_ANNOUNCED_ADDRESS ?? ((config.PIPE_LISTEN_IP ?? config.WEBRTC_LISTEN_IP) === '0.0.0.0' ? config.WEBRTC_ANNOUNCED_ADDRESS : undefined),
    };
    // Which node hosts each live show, so any node can serve its viewers and take its cues.
    const directory = new OriginDirectory(redis, logger);
    onClose('origin directory', async () => directory.close());
    let internalUrl = config.INTERNAL_URL ?? '';
    const generations = new Map<string, number>();
    const webrtc: WebRtcSettings = {
      listenIp: config.WEBRTC_LISTEN_IP,
      announcedAddress: config.WEBRTC_ANNOUNCED_ADDRESS,
      viewersPerRouter: config.VIEWERS_PER_ROUTER,
      iceTimeoutMs: config.ICE_TIMEOUT_SECONDS * 1000,
    };

    const streams = new StreamStore(database.db);
    const secretKey = resolveSecretKey(config.LIVECUE_SECRET_KEY, config.LIVECUE_DATA_DIR);
    if (secretKey.generated) logger.warn({ file: secretKey.file }, 'generated LIVECUE_SECRET_KEY in the data dir; give every node the same value');
    const restreams = new RestreamStore(database.db, SecretBox.fromSecret(secretKey.value));
    // Queues and workers: a finished show becomes a replay; webhooks tell the shop.
    const bullRedis = bullConnection(redisUrl, logger);
    onClose('queue connection', () => bullRedis.quit());
    const queues = createQueues(bullRedis, config.REDIS_KEY_PREFIX, config.RECORDING_ATTEMPTS);
    onClose('queues', () => queues.close());
    await queues.ready();
    const destinations = new DestinationPolicy(config.ALLOW_PRIVATE_DESTINATIONS);
    const webhooks = new WebhookService(database.db, queues, logger, destinations);
    const builder = new RecordingBuilder({ db: database.db, store, config, logger });
    const announce = (session: LiveSession) =>
      directory
        .announce(session.stream.id, { nodeId, internalUrl, sessionId: session.id, generation: generations.get(session.stream.id) ?? 0 })
        .catch((error: Error) => logger.warn({ err: error, streamId: session.stream.id }, 'cannot record the show\'s origin in Redis'));
    const hooks = {
      started: async (session: LiveSession) => {
        // Edge nodes re-pipe when the show's producers change (encoder reconnect, worker loss).
        const bump = () => {
          generations.set(session.stream.id, (generations.get(session.stream.id) ?? 0) + 1);
          void announce(session);
        };
        session.room.on('producersChanged', bump);
        session.room.on('originLost', bump);
        session.room.once('closed', () => {
          generations.delete(session.stream.id);
          void directory.withdraw(session.stream.id, session.id).catch(() => {});
        });
        await announce(session);
        await webhooks.emit('stream.live', { streamId: session.stream.id, sessionId: session.id, playbackId: session.stream.playbackId, protocol: session.protocol });
      },
      ended: async (session: LiveSession, reason: string) => {
        await builder.ensureRow(session.id, session.stream.id);
        await queues.recordings.add('finalize', { sessionId: session.id }, { jobId: session.id });
        session.logger.info('recording queued');
        await webhooks.emit('stream.ended', { streamId: session.stream.id, sessionId: session.id, reason, mediaSeconds: session.timeline.duration });
        await analytics.showEnded(session.stream.id);
      },
    };
    const registry = new SessionRegistry({ config, db: database.db, streams, store, metrics, logger, nodeId, sfu: pool && { pool, settings: webrtc }, hooks, restreams: { store: restreams, destinations }, acceptsPublishes: takesPublishes });
    onClose('live sessions', () => registry.close());

    const products = new ProductStore(database.db);
    const hub = await CueHub.start(redis, config.REDIS_KEY_PREFIX, logger);
    hub.on('resync', () => metrics.cueHubResyncs.inc());
    onClose('cue hub', () => hub.close());
    const analytics = new Analytics(redis, metrics);
    onClose('analytics', async () => analytics.close());
    const engagement = new EngagementService({ redis, hub, logger, blockedWords: config.CHAT_BLOCKED_WORDS.split(','), analytics });
    onClose('engagement', async () => engagement.close());
    const offers = new OfferService({
      db: database.db,
      redis,
      webhooks,
      logger,
      claimSeconds: config.CLAIM_SECONDS,
      onClaimed: (offer) => analytics.claimed(offer.streamId, offer.productId),
      announceStock: async (offer) => {
        const stream = await streams.get(offer.streamId);
        if (stream) await hub.publishOffer(stream.playbackId, { id: offer.id, quantity: offer.quantity, remaining: offer.remaining });
      },
    });
    const cues = new CueService({
      cues: new CueStore(database.db),
      products,
      registry,
      hub,
      logger,
      ratePerSecond: config.CUE_RATE_PER_SECOND,
      maxCuesPerShow: config.MAX_CUES_PER_SHOW,
      onPlaced: async (streamId, cue) => {
        await offers.cuePlaced(streamId, cue);
        await analytics.cuePlaced(streamId, cue);
        await engagement.cuePlaced(streamId, cue);
      },
      pollTally: (pollId) => engagement.tally(pollId),
    });
    // Expired claims give their units back and the claim gates are checked; every node may run this.
    const claimSweep = setInterval(() => void offers.sweep().catch((error: Error) => logger.warn({ err: error }, 'claim sweep failed')), 1000);
    claimSweep.unref();
    onClose('claim sweep', async () => {
      clearInterval(claimSweep);
      offers.close();
    });

    // Media relays between nodes: this node's shows to other nodes' viewers (origins), and shows
    // hosted elsewhere to this node's viewers (edges).
    const origins = takesPublishes ? new RelayOrigins({ registry, pipe, generationOf: (streamId) => generations.get(streamId) ?? 0, logger }) : undefined;
    if (origins) onClose('origin relays', async () => origins.closeAll());
    // Declared after everything it reads: a slow start-up must not let the first tick reach a binding
    // still in its temporal dead zone.
    const gauges = setInterval(() => {
      metrics.uploadSpoolBytes.set(registry.all().reduce((sum, session) => sum + session.spoolBytes, 0));
      metrics.sfuWorkers.set(pool?.workers.length ?? 0);
      metrics.originRelays.set(origins?.size ?? 0);
    }, 2000);
    gauges.unref();
    onClose('gauges', async () => clearInterval(gauges));
    const listCues = async (streamId: string) => {
      const stream = await streams.get(streamId);
      return stream ? cues.list(stream) : [];
    };
    const edges = pool
      ? new EdgeRelays({ nodeId, pool, webrtc, pipe, directory, hub, clusterToken: clusterToken(secretKey.value), listCues, metrics, logger })
      : undefined;
    if (edges) onClose('edge relays', () => edges.close());

    const rtmp = takesPublishes ? await RtmpServer.listen({ port: config.RTMP_PORT, host: config.RTMP_HOST, registry, metrics, logger, maxConnections: config.RTMP_MAX_CONNECTIONS }) : undefined;
    if (rtmp) onClose('rtmp server', () => rtmp.close());
    const rtmpPort = rtmp?.port ?? config.RTMP_PORT;
    const rtmps =
      takesPublishes && config.RTMPS_PORT !== undefined
        ? await RtmpServer.listen({
            port: config.RTMPS_PORT,
            host: config.RTMP_HOST,
            registry,
            metrics,
            logger,
            maxConnections: config.RTMP_MAX_CONNECTIONS,
            tls: await rtmpsCertificate({
              certFile: config.RTMPS_CERT_FILE,
              keyFile: config.RTMPS_KEY_FILE,
              dataDir: config.LIVECUE_DATA_DIR,
              hostname: config.PUBLIC_URL ? new URL(config.PUBLIC_URL).hostname : 'localhost',
            }),
          })
        : undefined;
    if (rtmps) onClose('rtmps server', () => rtmps.close());
    const rtmpsPort = rtmps?.port;
    let draining = false;

    const trust = parseTrustProxy(config.TRUST_PROXY);
    const identity = new ViewerIdentity({ shopSecret: config.VIEWER_TOKEN_SECRET, livecueSecret: secretKey.value });
    let urls: PublicUrls = publicUrls(config, { http: config.PORT, rtmp: rtmpPort, rtmps: rtmpsPort });
    const playbackSecret = persistentSecret({
      configured: config.PLAYBACK_TOKEN_SECRET,
      dataDir: config.LIVECUE_DATA_DIR,
      fileName: 'playback-secret',
      generate: () => randomBytes(32).toString('base64url'),
    });
    const access = new PlaybackAccess(streams, new PlaybackSigner(playbackSecret.value));
    const { app, close: closeWebrtc, webrtcSessions } = createHttpApp({
      analytics,
      engagement,
      offers,
      access,
      tokens: new ApiTokenStore(database.db),
      limits: { apiPerSecond: config.API_RATE_PER_SECOND, signalingPerSecond: config.SIGNALING_RATE_PER_SECOND },
      trust,
      destinations,
      identity,
      metricsToken: config.METRICS_TOKEN,
      db: database.db,
      webhooks,
      restreams,
      pool,
      cluster: {
        token: clusterToken(secretKey.value),
        origins,
        edges,
        forward: originForwarder({ directory, nodeId, logger }),
        sessions: sessionLocator({ directory, self: () => ({ nodeId, internalUrl }), logger }),
        nodeId,
        remoteSession: remoteSessions({ directory, nodeId, clusterToken: clusterToken(secretKey.value), logger }),
      },
      draining: () => draining,
      products,
      cues,
      sdpMaxBytes: config.SDP_MAX_BYTES,
      adminToken,
      streams,
      registry,
      store,
      metrics,
      logger,
      urls: () => urls,
      health: async () => {
        const checks: Record<string, string> = {};
        try {
          await redis.ping();
          checks.redis = 'ok';
        } catch {
          checks.redis = 'unreachable';
        }
        checks.liveSessions = String(registry.size);
        return { ok: checks.redis === 'ok', checks };
      },
    });
    // Viewers' claims are answered ahead of Express (claims-endpoint.ts); everything else goes to the app.
    const claims = new ClaimsEndpoint({ offers, identity, metrics, logger, trust, perSecond: config.API_RATE_PER_SECOND });
    const server: Server = createServer((req, res) => {
      if (!claims.handle(req, res)) app(req, res);
    });
    server.requestTimeout = 60_000;
    // Idle kept-alive connections stay open past a load balancer's own idle timeout (60 s on AWS ALB, nginx's
    // upstream pools), so the proxy never sends a request on a connection livecue is closing (Node's default is 5 s).
    server.keepAliveTimeout = 65_000;
    const cueSocket = attachCueSocket(server, {
      hub,
      cues,
      streams,
      registry,
      logger,
      access,
      engagement,
      claims,
      stock: (streamId) => offers.stock(streamId),
      identity,
      connectsPerSecond: config.WS_CONNECT_RATE_PER_SECOND,
      maxSocketsPerAddress: config.MAX_SOCKETS_PER_ADDRESS,
      messagesPerAddressPerSecond: config.MESSAGES_PER_ADDRESS_PER_SECOND,
      metrics,
      trust,
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'EADDRINUSE' ? new Error(`HTTP port ${config.PORT} is already in use: set PORT`) : error),
      );
      server.listen(config.PORT, config.HOST, resolve);
    });
    const address = server.address();
    const httpPort = typeof address === 'object' && address ? address.port : config.PORT;
    urls = publicUrls(config, { http: httpPort, rtmp: rtmpPort, rtmps: rtmpsPort });
    internalUrl ||= `http://${config.HOST !== '0.0.0.0' && config.HOST !== '::' ? config.HOST : (pipe.announcedAddress ?? (pipe.listenIp === '0.0.0.0' ? '127.0.0.1' : pipe.listenIp))}:${httpPort}`;
    // Closed first (cleanups run in reverse), so no new work arrives while sessions flush.
    onClose('webrtc sessions', async () => closeWebrtc());
    onClose('cue sockets', async () => cueSocket.close());
    onClose(
      'http server',
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    if (config.ROLE === 'all') {
      const workers = await WorkerHost.start({ config, db: database.db, store, queues, connection: bullRedis, builder, webhooks, logger, publicHlsBase: () => urls.hlsBase });
      onClose('queue workers', () => workers.close());
    }
    logger.info({ http: urls.api, rtmp: urls.rtmp, rtmps: urls.rtmps, nodeId, role: config.ROLE }, 'livecue is up');

    const drain = async () => {
      if (draining) return;
      draining = true;
      metrics.draining.set(1);
      registry.drain();
      logger.info({ drainSeconds: config.DRAIN_SECONDS, shows: registry.size, viewers: webrtcSessions() }, 'draining: no new shows or viewers; telling viewers to move');
      // Pages hear this on their cue channel and reconnect: the Service sends them to a node still ready.
      const notice = JSON.stringify({ control: 'reconnect', reason: 'node_draining' });
      for (const session of registry.all()) session.room.sendCue(notice);
      edges?.broadcast(notice);
      const deadline = Date.now() + config.DRAIN_SECONDS * 1000;
      while (Date.now() < deadline && (registry.size > 0 || webrtcSessions() > 0)) await new Promise((resolve) => setTimeout(resolve, 250));
      logger.info({ shows: registry.size, viewers: webrtcSessions() }, 'drain over; closing');
    };
    let closing: Promise<void> | undefined;
    return {
      config,
      logger,
      metrics,
      database,
      redis,
      store,
      streams,
      registry,
      sfu: pool,
      queues,
      adminToken,
      httpPort,
      rtmpPort,
      rtmpsPort,
      urls,
      routes: routeTable(app),
      drain,
      close: () => (closing ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

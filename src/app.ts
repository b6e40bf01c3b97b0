// The composition root: builds every part of a livecue node from a Config, area by area (src/app/), hands each
// part what it needs, and closes them in reverse. Tests start livecue through this too.
//
// One show, end to end: an encoder pushes RTMP (src/ingest) or WHIP (src/live/webrtc-sessions.ts); the session
// registry (src/live) accepts the publish and opens a LiveSession, which owns the show's transcoder and HLS
// packager (src/transcode, to storage through src/storage) and its SFU room (src/sfu, WebRTC viewers). Cues
// placed through the API (src/cues) ride the show's timeline into the playlists and the rooms. When the show
// ends, the registry's `sessionEnded` queues its recording (src/workers), which a worker turns into the replay.
import type { Redis } from 'ioredis';
import { createHttpApp } from './api/http-app.ts';
import { remoteSessions } from './api/session-view.ts';
import { routeTable, type RouteEntry } from './api/route-table.ts';
import { publicUrls, type PublicUrls } from './api/urls.ts';
import { clusterToken } from './cluster/cluster-auth.ts';
import { originForwarder, sessionLocator } from './cluster/forward.ts';
import type { Config } from './config/schema.ts';
import { parseTrustProxy } from './config/trust-proxy.ts';
import type { Database } from './db/database.ts';
import { Drain } from './live/drain.ts';
import type { LiveSession } from './live/live-session.ts';
import type { SessionRegistry } from './live/session-registry.ts';
import { WebRtcSessions } from './live/webrtc-sessions.ts';
import { createLogger, type Logger } from './log.ts';
import type { Metrics } from './metrics/metrics.ts';
import { ViewerIdentity } from './offers/viewer-identity.ts';
import type { Restreams } from './restream/restreams.ts';
import { ApiTokenStore } from './security/api-tokens.ts';
import { PlaybackAccess } from './security/playback-access.ts';
import { PlaybackSigner } from './security/playback-tokens.ts';
import type { WorkerPool } from './sfu/worker-pool.ts';
import type { ObjectStore } from './storage/object-store.ts';
import type { StreamStore } from './streams/stream-store.ts';
import { queueRecording, type Queues } from './workers/queues.ts';
import { RecordingStore } from './workers/recording-store.ts';
import { ClipStore } from './workers/clip-store.ts';
import { startCommerce, type Commerce } from './app/commerce.ts';
import { startFoundation } from './app/foundation.ts';
import { serveHttp } from './app/http.ts';
import { startJobs, startQueueWorkers, type Jobs } from './app/jobs.ts';
import { Lifecycle } from './app/lifecycle.ts';
import { startEdges, startIngest, startMedia } from './app/media.ts';
import { ShowSchedules } from './shows/show-schedules.ts';
import { ShowStore } from './shows/show-store.ts';

export interface Livecue {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  database: Database;
  redis: Redis;
  store: ObjectStore;
  streams: StreamStore;
  registry: SessionRegistry;
  /** The restreams of the shows live on this node. */
  restreams: Restreams;
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

/** What happens when a show starts and when it ends, beyond the show itself. */
function followShows(registry: SessionRegistry, jobs: Jobs, commerce: Commerce, shows: ShowSchedules): void {
  registry.on('sessionStarted', (session: LiveSession) =>
    jobs.webhooks.emit('stream.live', {
      streamId: session.stream.id,
      sessionId: session.id,
      playbackId: session.stream.playbackId,
      protocol: session.protocol,
    }),
  );
  // In this order, each awaited: the recording is queued before anything else is told the show ended.
  registry.on('sessionEnded', async (session) => {
    await queueRecording(jobs.queues, jobs.recordings, { sessionId: session.id, streamId: session.stream.id });
    session.logger.info('recording queued');
  });
  registry.on('sessionEnded', (session, reason) =>
    jobs.webhooks.emit('stream.ended', { streamId: session.stream.id, sessionId: session.id, reason, mediaSeconds: session.timeline.duration }),
  );
  registry.on('sessionEnded', (session) => commerce.analytics.showEnded(session.stream.id));
  // Scheduled shows: the waiting rooms open on the show (their socket hears it), and an upcoming schedule becomes show.live.
  registry.on('sessionStarted', (session) => commerce.hub.publishEvent(session.stream.playbackId, { type: 'live' }));
  registry.on('sessionStarted', (session) => shows.wentLive(session.stream, session.id));
}

export async function startLivecue(config: Config, options: { logger?: Logger } = {}): Promise<Livecue> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const life = new Lifecycle(logger);
  try {
    const base = await startFoundation(config, logger, life);
    const jobs = await startJobs(config, base, logger, life);
    const media = await startMedia(config, base, jobs, logger, life);
    const commerce = await startCommerce(config, base, jobs, media, logger, life);
    const shows = new ShowSchedules(new ShowStore(base.database.db), {
      queues: jobs.queues,
      webhooks: jobs.webhooks,
      leadMinutes: config.REMINDER_LEAD_MINUTES,
      apiBase: () => urls.api,
      logger,
    });
    followShows(media.registry, jobs, commerce, shows);
    const edges = startEdges(media, base, commerce, logger, life);
    const { rtmpPort, rtmpsPort } = await startIngest(config, media, base, logger, life);

    let urls: PublicUrls = publicUrls(config, { http: config.PORT, rtmp: rtmpPort, rtmps: rtmpsPort });
    const trust = parseTrustProxy(config.TRUST_PROXY);
    const identity = new ViewerIdentity({ shopSecret: config.VIEWER_TOKEN_SECRET, livecueSecret: base.secretKey });
    const access = new PlaybackAccess(media.streams, new PlaybackSigner(base.playbackSecret));
    const drain: Drain = new Drain({
      registry: media.registry,
      webrtcSessions: (): number => webrtc.size,
      broadcast: (notice) => edges?.broadcast(notice),
      drainSeconds: config.DRAIN_SECONDS,
      metrics: base.metrics,
      logger,
    });
    const { nodeId } = base;
    const cluster = clusterToken(base.secretKey);
    const locator = sessionLocator({ directory: media.directory, self: () => ({ nodeId, internalUrl: media.internalUrl.value }), logger });
    const webrtc: WebRtcSessions = new WebRtcSessions({
      ...media,
      edges,
      locator,
      draining: (): boolean => drain.draining,
      access,
      analytics: commerce.analytics,
      metrics: base.metrics,
      logger,
    });
    life.onClose('webrtc sessions', async () => webrtc.close());
    const app = createHttpApp({
      ...commerce,
      shows,
      access,
      tokens: new ApiTokenStore(base.database.db),
      limits: { apiPerSecond: config.API_RATE_PER_SECOND, signalingPerSecond: config.SIGNALING_RATE_PER_SECOND },
      trust,
      destinations: jobs.destinations,
      identity,
      metricsToken: config.METRICS_TOKEN,
      recordings: new RecordingStore(base.database.db, base.store),
      clips: new ClipStore(base.database.db, base.store, jobs.queues, config.CLIP_MAX_SECONDS),
      webhooks: jobs.webhooks,
      restreams: media.restreamStore,
      running: media.restreams,
      webrtc,
      cluster: {
        token: cluster,
        origins: media.origins,
        forward: originForwarder({ directory: media.directory, nodeId, logger }),
        sessions: locator,
        nodeId,
        remoteSession: remoteSessions({ directory: media.directory, nodeId, clusterToken: cluster, logger }),
      },
      draining: () => drain.draining,
      sdpMaxBytes: config.SDP_MAX_BYTES,
      adminToken: base.adminToken,
      streams: media.streams,
      registry: media.registry,
      hlsWindows: media.hlsWindows,
      hlsRelay: media.hlsRelay,
      store: base.store,
      metrics: base.metrics,
      logger,
      urls: () => urls,
      health: async () => {
        const redis = await base.redis.ping().then(
          () => 'ok',
          () => 'unreachable',
        );
        return { ok: redis === 'ok', checks: { redis, liveSessions: String(media.registry.size) } };
      },
    });
    const http = await serveHttp(config, { app, base, media, commerce, access, identity, trust }, logger, life);
    urls = publicUrls(config, { http: http.port, rtmp: rtmpPort, rtmps: rtmpsPort });
    media.internalUrl.value ||= internalUrlOf(config, media.pipe, http.port);
    if (config.ROLE === 'all') await startQueueWorkers(config, base, jobs, () => urls.hlsBase, logger, life);
    logger.info({ http: urls.api, rtmp: urls.rtmp, rtmps: urls.rtmps, nodeId, role: config.ROLE }, 'livecue is up');

    return {
      config,
      logger,
      metrics: base.metrics,
      database: base.database,
      redis: base.redis,
      store: base.store,
      streams: media.streams,
      registry: media.registry,
      restreams: media.restreams,
      sfu: media.pool,
      queues: jobs.queues,
      adminToken: base.adminToken,
      httpPort: http.port,
      rtmpPort,
      rtmpsPort,
      urls,
      routes: routeTable(app),
      drain: () => drain.run(),
      close: () => life.close(),
    };
  } catch (error) {
    await life.close();
    throw error;
  }
}

/** How other nodes reach this one's HTTP port when INTERNAL_URL is not set. */
function internalUrlOf(config: Config, pipe: { listenIp: string; announcedAddress?: string }, port: number): string {
  const host =
    config.HOST !== '0.0.0.0' && config.HOST !== '::' ? config.HOST : (pipe.announcedAddress ?? (pipe.listenIp === '0.0.0.0' ? '127.0.0.1' : pipe.listenIp));
  return `http://${host}:${port}`;
}

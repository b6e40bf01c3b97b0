// The media path of a node: mediasoup workers, the live sessions (each show's transcoder, HLS packager and
// SFU room), restreams, the relays of shows between nodes, and the RTMP/RTMPS listeners encoders push to.
import type { Config } from '../config/schema.ts';
import { OriginAnnouncer } from '../cluster/origin-announcer.ts';
import { OriginDirectory } from '../cluster/origin-directory.ts';
import { clusterToken } from '../cluster/cluster-auth.ts';
import type { CueHub } from '../cues/cue-hub.ts';
import type { CueMessage } from '../contract/cue-message.ts';
import { RtmpServer } from '../ingest/rtmp-server.ts';
import { rtmpsCertificate } from '../ingest/rtmps-certificate.ts';
import { SessionRegistry } from '../live/session-registry.ts';
import type { Logger } from '../log.ts';
import { RestreamStore } from '../restream/restream-store.ts';
import { Restreams } from '../restream/restreams.ts';
import { SecretBox } from '../security/secret-box.ts';
import { EdgeRelays, RelayOrigins, type PipeSettings } from '../sfu/pipe-relay.ts';
import type { WebRtcSettings } from '../sfu/sfu-room.ts';
import { loadMediasoup, WorkerPool } from '../sfu/worker-pool.ts';
import { StreamStore } from '../streams/stream-store.ts';
import type { Foundation } from './foundation.ts';
import type { Jobs } from './jobs.ts';
import type { Lifecycle } from './lifecycle.ts';
import { LiveHlsWindows } from '../transcode/live-hls-windows.ts';
import { HlsRelay } from '../cluster/hls-relay.ts';

export interface Media {
  streams: StreamStore;
  registry: SessionRegistry;
  /** Absent on nodes that run no SFU (ROLE api). */
  pool?: WorkerPool;
  webrtc: WebRtcSettings;
  pipe: PipeSettings;
  directory: OriginDirectory;
  announcer: OriginAnnouncer;
  /** This node's shows relayed to other nodes' viewers (nodes that take publishes). */
  origins?: RelayOrigins;
  restreamStore: RestreamStore;
  restreams: Restreams;
  /** How other nodes reach this one (INTERNAL_URL, or known once the HTTP server listens). */
  internalUrl: { value: string };
  /** The live HLS windows of the shows this node holds (LL-HLS parts and blocking playlists). */
  hlsWindows: LiveHlsWindows;
  /** Carries the LL-HLS of this node's shows to the nodes that serve their viewers, and mirrors others' here. */
  hlsRelay: HlsRelay;
}

function webrtcSettings(config: Config): { webrtc: WebRtcSettings; pipe: PipeSettings } {
  const pipeIp = config.PIPE_LISTEN_IP ?? config.WEBRTC_LISTEN_IP;
  return {
    webrtc: {
      listenIp: config.WEBRTC_LISTEN_IP,
      announcedAddress: config.WEBRTC_ANNOUNCED_ADDRESS,
      viewersPerRouter: config.VIEWERS_PER_ROUTER,
      iceTimeoutMs: config.ICE_TIMEOUT_SECONDS * 1000,
    },
    pipe: { listenIp: pipeIp, announcedAddress: config.PIPE_ANNOUNCED_ADDRESS ?? (pipeIp === '0.0.0.0' ? config.WEBRTC_ANNOUNCED_ADDRESS : undefined) },
  };
}

/** What this node does (ROLE): hosting shows needs the SFU; an api node runs no mediasoup at all. */
export const takesPublishes = (config: Config): boolean => config.ROLE === 'all' || config.ROLE === 'ingest';

async function startSfu(config: Config, base: Foundation, logger: Logger, life: Lifecycle): Promise<WorkerPool | undefined> {
  if (!takesPublishes(config) && config.ROLE !== 'sfu') return undefined;
  const mediasoup = await loadMediasoup(config.MEDIASOUP_WORKER_BIN);
  const pool = await WorkerPool.create({ mediasoup, size: config.SFU_WORKERS, logger, minPort: config.WEBRTC_MIN_PORT, maxPort: config.WEBRTC_MAX_PORT });
  life.onClose('mediasoup workers', () => pool.close());
  life.onStop(() => pool.stopReplacing());
  pool.on('workerDied', () => base.metrics.sfuWorkerDeaths.inc());
  return pool;
}

export async function startMedia(config: Config, base: Foundation, jobs: Jobs, logger: Logger, life: Lifecycle): Promise<Media> {
  const { database, metrics, nodeId } = base;
  const pool = await startSfu(config, base, logger, life);
  const { webrtc, pipe } = webrtcSettings(config);
  const streams = new StreamStore(database.db);
  const hlsWindows = new LiveHlsWindows();
  const hlsRelay = HlsRelay.start({ redis: base.redis, prefix: config.REDIS_KEY_PREFIX, nodeId, windows: hlsWindows, logger });
  life.onClose('hls relay', () => hlsRelay.close());
  const registry = new SessionRegistry({
    hlsWindows,
    config,
    db: database.db,
    streams,
    store: base.store,
    metrics,
    logger,
    nodeId,
    sfu: pool && { pool, settings: webrtc },
    acceptsPublishes: takesPublishes(config),
  });
  const leftover = await registry.endLeftoverSessions();
  if (leftover > 0) logger.info({ sessions: leftover }, 'ended the sessions this node left open when it last stopped');
  const restreamStore = new RestreamStore(database.db, SecretBox.fromSecret(base.secretKey));
  const restreams = new Restreams({ store: restreamStore, destinations: jobs.destinations, ffmpegPath: config.FFMPEG_PATH, metrics, logger });
  restreams.follow(registry);
  // Closed after the sessions (parts close in reverse): a show that ends at shutdown stops its own restreams.
  life.onClose('restreams', () => restreams.close());
  life.onClose('live sessions', () => registry.close());

  // Which node hosts each live show, so any node can serve its viewers and take its cues.
  const directory = new OriginDirectory(base.redis, logger);
  life.onClose('origin directory', async () => directory.close());
  const internalUrl = { value: config.INTERNAL_URL ?? '' };
  const announcer = new OriginAnnouncer({ directory, nodeId, internalUrl: () => internalUrl.value, logger });
  announcer.follow(registry);
  const origins = takesPublishes(config)
    ? new RelayOrigins({
        showOf: (streamId) => {
          const session = registry.get(streamId);
          return session && { sessionId: session.id, room: session.room };
        },
        pipe,
        generationOf: (streamId) => announcer.generationOf(streamId),
        logger,
      })
    : undefined;
  if (origins) life.onClose('origin relays', async () => origins.closeAll());

  const gauges = setInterval(() => {
    metrics.uploadSpoolBytes.set(registry.all().reduce((sum, session) => sum + session.spoolBytes, 0));
    metrics.sfuWorkers.set(pool?.workers.length ?? 0);
    metrics.originRelays.set(origins?.size ?? 0);
  }, 2000);
  gauges.unref();
  life.onClose('gauges', async () => clearInterval(gauges));
  return { streams, registry, pool, webrtc, pipe, directory, announcer, origins, restreamStore, restreams, internalUrl, hlsWindows, hlsRelay };
}

/** Shows hosted on other nodes, piped to this node's WebRTC viewers (with their cues). */
export function startEdges(
  media: Media,
  base: Foundation,
  commerce: { hub: CueHub; listCues: (streamId: string) => Promise<CueMessage[]> },
  logger: Logger,
  life: Lifecycle,
): EdgeRelays | undefined {
  if (!media.pool) return undefined;
  const edges = new EdgeRelays({
    nodeId: base.nodeId,
    pool: media.pool,
    webrtc: media.webrtc,
    pipe: media.pipe,
    directory: media.directory,
    hub: commerce.hub,
    clusterToken: clusterToken(base.secretKey),
    listCues: commerce.listCues,
    metrics: base.metrics,
    logger,
  });
  life.onClose('edge relays', () => edges.close());
  return edges;
}

/** The RTMP listener, and RTMPS when RTMPS_PORT is set (nodes that take publishes). */
export async function startIngest(
  config: Config,
  media: Media,
  base: Foundation,
  logger: Logger,
  life: Lifecycle,
): Promise<{ rtmpPort: number; rtmpsPort?: number }> {
  if (!takesPublishes(config)) return { rtmpPort: config.RTMP_PORT };
  const common = { host: config.RTMP_HOST, registry: media.registry, metrics: base.metrics, logger, maxConnections: config.RTMP_MAX_CONNECTIONS };
  const rtmp = await RtmpServer.listen({ port: config.RTMP_PORT, ...common });
  life.onClose('rtmp server', () => rtmp.close());
  if (config.RTMPS_PORT === undefined) return { rtmpPort: rtmp.port };
  const tls = await rtmpsCertificate({
    certFile: config.RTMPS_CERT_FILE,
    keyFile: config.RTMPS_KEY_FILE,
    dataDir: config.LIVECUE_DATA_DIR,
    hostname: config.PUBLIC_URL ? new URL(config.PUBLIC_URL).hostname : 'localhost',
  });
  const rtmps = await RtmpServer.listen({ port: config.RTMPS_PORT, ...common, tls });
  life.onClose('rtmps server', () => rtmps.close());
  return { rtmpPort: rtmp.port, rtmpsPort: rtmps.port };
}

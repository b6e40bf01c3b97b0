// The one description of livecue's configuration: every option, its default and its meaning.
import { z } from 'zod';
import { trustedRange } from './trust-proxy.ts';

export const DEFAULT_HTTP_PORT = 8080;
export const DEFAULT_RTMP_PORT = 1935;
export const DEFAULT_SEGMENT_SECONDS = 2;
/** A third of a second: ten frames at 30 fps, so a Low-Latency HLS player sits about 1 s behind the newest frame. */
export const DEFAULT_PART_SECONDS = 1 / 3;
export const DEFAULT_RECONNECT_WINDOW_SECONDS = 30;
export const DEFAULT_LIVE_WINDOW_SEGMENTS = 6;
export const DEFAULT_X264_PRESET = 'ultrafast';
/** Heights of the ladder, top first; rungs above the source height are never produced. */
export const DEFAULT_LADDER = '1080,720,480,360';
export const DEFAULT_REDIS_KEY_PREFIX = 'livecue';
export const DEFAULT_REMINDER_LEAD_MINUTES = 15;
/** A pin's clip runs to its unpin or the next pin, but never longer than this. */
export const DEFAULT_CLIP_MAX_SECONDS = 60;

const boolish = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((value) => value === true || value === 'true' || value === '1' || value === 'yes');

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** Roles that run mediasoup: they bind WebRTC sockets and the node-to-node media pipes. */
export const rolesWithWebRtc: ReadonlySet<string> = new Set(['all', 'ingest', 'sfu']);

const port = z.coerce.number().int().min(0).max(65535);

export const configSchema = z
  .object({
    PORT: port.default(DEFAULT_HTTP_PORT).describe('HTTP port of the API and the HLS origin (0: any free port).'),
    HOST: z.string().default('0.0.0.0').describe('Address the HTTP server listens on.'),
    RTMP_PORT: port.default(DEFAULT_RTMP_PORT).describe('RTMP ingest port (0: any free port).'),
    RTMP_HOST: z.string().default('0.0.0.0').describe('Address the RTMP server listens on.'),
    RTMPS_PORT: port.optional().describe('RTMPS (RTMP over TLS) ingest port, on RTMP_HOST; customarily 1936 (0: any free port); unset: no RTMPS.'),
    RTMPS_CERT_FILE: optionalString.describe('PEM certificate (chain) RTMPS presents; unset: a self-signed one made once in the data dir.'),
    RTMPS_KEY_FILE: optionalString.describe('PEM private key of RTMPS_CERT_FILE.'),
    RTMPS_PUBLIC_URL: optionalString.describe('Base RTMPS URL given to encoders; default rtmps://<PUBLIC_URL host>:RTMPS_PORT/live.'),
    LIVECUE_DATA_DIR: z.string().default('./data').describe('Embedded database, admin token, transcoder work files and (without S3) the media.'),
    DATABASE_URL: optionalString.describe('postgres:// URL; unset: embedded PGlite in the data dir.'),
    REDIS_URL: optionalString.describe('redis:// URL; unset: livecue starts a redis-server child on a free loopback port.'),
    REDIS_KEY_PREFIX: z.string().default(DEFAULT_REDIS_KEY_PREFIX).describe('Prefix of every Redis key livecue writes.'),
    S3_ENDPOINT: optionalString.describe('S3-compatible endpoint URL (unset: AWS).'),
    S3_BUCKET: optionalString.describe('Bucket for segments and playlists; unset: files under the data dir.'),
    S3_REGION: z.string().default('us-east-1'),
    S3_ACCESS_KEY_ID: optionalString,
    S3_SECRET_ACCESS_KEY: optionalString,
    S3_FORCE_PATH_STYLE: boolish.default(false).describe('Path-style bucket addressing (MinIO, Garage, s3rver).'),
    PUBLIC_URL: optionalString.describe('Base URL viewers and encoders reach livecue at; default http://localhost:PORT.'),
    RTMP_PUBLIC_URL: optionalString.describe('Base RTMP URL given to encoders; default rtmp://<PUBLIC_URL host>:RTMP_PORT/live.'),
    CDN_BASE_URL: optionalString.describe('Base URL of a CDN pulling /hls from livecue; playback URLs point at it.'),
    LIVECUE_ADMIN_TOKEN: optionalString.describe('Admin API token; unset: generated once and kept in the data dir.'),
    LIVECUE_SECRET_KEY: optionalString
      .refine((value) => value === undefined || value.length >= 16, 'at least 16 characters (e.g. the output of: openssl rand -base64 32)')
      .describe(
        "Seals secrets livecue stores (restream targets' stream keys, AES-256-GCM); unset: generated and kept in the data dir (set the same value on every node).",
      ),
    NODE_ID: optionalString.describe(
      'Name of this livecue node, unique and stable across its restarts (default: hostname:PORT, so several processes on one machine differ).',
    ),
    LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    FFMPEG_PATH: z.string().default('ffmpeg'),
    FFPROBE_PATH: z.string().default('ffprobe'),
    REDIS_SERVER_PATH: z.string().default('redis-server'),
    SEGMENT_SECONDS: z.coerce.number().min(1).max(10).default(DEFAULT_SEGMENT_SECONDS).describe('HLS segment duration (1 to 10 s).'),
    PART_SECONDS: z.coerce
      .number()
      .min(0.1)
      .max(1)
      .default(DEFAULT_PART_SECONDS)
      .describe('Low-Latency HLS part duration (0.1 to 1 s): the fragments segments are cut into and served from memory while live.'),
    LIVE_WINDOW_SEGMENTS: z.coerce
      .number()
      .int()
      .min(3)
      .max(100)
      .default(DEFAULT_LIVE_WINDOW_SEGMENTS)
      .describe('Segments in the live (sliding window) media playlist.'),
    LADDER: z
      .string()
      .regex(/^\d{3,4}(,\d{3,4})*$/, 'a comma-separated list of heights, e.g. 1080,720,480,360')
      .default(DEFAULT_LADDER)
      .describe('Rendition sizes by the short side (height; width of a portrait source), top first; never above the source.'),
    X264_PRESET: z
      .enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium'])
      .default(DEFAULT_X264_PRESET)
      .describe('x264 preset of the ladder; ultrafast holds real time for two 1080p shows on 2 cores.'),
    PASSTHROUGH: boolish
      .default(false)
      .describe('Send the source as the top rung without re-encoding when it is H.264 within the top size (align its keyframes to SEGMENT_SECONDS).'),
    RECONNECT_WINDOW_SECONDS: z.coerce
      .number()
      .min(0)
      .max(3600)
      .default(DEFAULT_RECONNECT_WINDOW_SECONDS)
      .describe('An encoder that comes back within this window continues the same live session.'),
    MEDIASOUP_WORKER_BIN: optionalString.describe('mediasoup-worker binary; default: the one scripts/build-mediasoup-worker.sh caches.'),
    SFU_WORKERS: z.coerce.number().int().min(1).max(64).optional().describe('mediasoup workers (default: one per core).'),
    WEBRTC_LISTEN_IP: z
      .string()
      .default('127.0.0.1')
      .describe("Address the WebRTC (ICE/DTLS/SRTP) sockets bind to; use the machine's address or 0.0.0.0 in production."),
    WEBRTC_ANNOUNCED_ADDRESS: optionalString.describe('Public address announced in ICE candidates (default: WEBRTC_LISTEN_IP).'),
    WEBRTC_MIN_PORT: z.coerce.number().int().min(1024).max(65535).default(40000).describe('Lowest UDP/TCP port for WebRTC.'),
    WEBRTC_MAX_PORT: z.coerce.number().int().min(1024).max(65535).default(49999).describe('Highest UDP/TCP port for WebRTC.'),
    VIEWERS_PER_ROUTER: z.coerce
      .number()
      .int()
      .min(1)
      .default(150)
      .describe('WHEP viewers on one router before new viewers go to a router on another worker (pipeToRouter).'),
    ICE_TIMEOUT_SECONDS: z.coerce
      .number()
      .min(1)
      .default(15)
      .describe('A WHIP/WHEP session whose ICE/DTLS never connects, or whose peer stopped answering (ICE disconnected), is closed after this.'),
    SDP_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(64 * 1024)
      .describe('Largest SDP offer accepted (413 past it).'),
    CUE_RATE_PER_SECOND: z.coerce.number().min(1).max(10_000).default(50).describe('Cues one stream may take per second (bursts of twice that); 429 past it.'),
    ROLE: z
      .enum(['all', 'api', 'ingest', 'sfu', 'worker'])
      .default('all')
      .describe(
        "all: one process does everything; ingest: encoders (RTMP, WHIP), transcoding and the show's origin SFU; sfu: WHEP viewers, piped from the origin node; api: API, pages, HLS origin and viewers' WebSocket only; worker: only the queue workers.",
      ),
    INTERNAL_URL: optionalString.describe(
      "URL other livecue nodes reach this node's HTTP port at (default http://<WEBRTC_LISTEN_IP or 127.0.0.1>:PORT); in Kubernetes, the pod IP.",
    ),
    PIPE_LISTEN_IP: optionalString.describe('Address the node-to-node media pipes (mediasoup PipeTransport, UDP) bind to (default: WEBRTC_LISTEN_IP).'),
    PIPE_ANNOUNCED_ADDRESS: optionalString.describe('Address other nodes send piped media to (default: PIPE_LISTEN_IP, or the pod IP when it binds 0.0.0.0).'),
    DRAIN_SECONDS: z.coerce
      .number()
      .min(0)
      .max(3600)
      .default(30)
      .describe('On SIGTERM: how long a node keeps serving its live shows and viewers (while refusing new ones) before it closes them.'),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2).describe('Recording jobs one worker process runs at once.'),
    WORKER_LOCK_SECONDS: z.coerce
      .number()
      .min(2)
      .max(600)
      .default(30)
      .describe('A job whose worker stops renewing its lock this long is taken over by another worker.'),
    RECORDING_ATTEMPTS: z.coerce
      .number()
      .int()
      .min(1)
      .max(20)
      .default(4)
      .describe('Tries of a recording job (exponential backoff from 2 s) before it ends failed.'),
    SWEEP_SECONDS: z.coerce.number().min(1).default(60).describe('How often workers re-queue recordings the database says are pending and apply retention.'),
    // Scheduled shows (issue #19).
    REMINDER_LEAD_MINUTES: z.coerce
      .number()
      .min(0)
      .max(10_080)
      .default(DEFAULT_REMINDER_LEAD_MINUTES)
      .describe('Minutes before a scheduled show starts that show.starting_soon is sent (once), with the number of viewers who asked to be reminded.'),
    RETENTION_DAYS: z.coerce.number().min(0).default(0).describe('Delete recordings (and their segments) this many days after the show; 0 keeps them.'),
    RECORDING_MP4: boolish.default(true).describe('Also remux each recording into one MP4 download (no re-encode).'),
    THUMBNAIL_INTERVAL_SECONDS: z.coerce.number().min(1).max(600).default(10).describe('Seconds between seek-preview thumbnails.'),
    // Shoppable clips (issue #19).
    CLIP_MAX_SECONDS: z.coerce
      .number()
      .min(1)
      .max(600)
      .default(DEFAULT_CLIP_MAX_SECONDS)
      .describe("Longest clip: a pin's clip ends at its unpin, the next pin or this many seconds after the pin."),
    AUTO_CLIPS: boolish.default(false).describe('Cut a clip of every product pin of a show when its recording is built.'),
    PLAYBACK_TOKEN_SECRET: optionalString.describe(
      'Signs playback tokens of private streams; unset: generated and kept in the data dir (set the same value on every node).',
    ),
    API_RATE_PER_SECOND: z.coerce.number().min(1).default(100).describe('/v1 requests per second per client address (bursts of twice that); 429 past it.'),
    WS_CONNECT_RATE_PER_SECOND: z.coerce
      .number()
      .min(1)
      .default(20)
      .describe("Viewers' WebSocket connections per second per client address (bursts of twice that); 429 past it."),
    SIGNALING_RATE_PER_SECOND: z.coerce.number().min(1).default(10).describe('WHIP/WHEP offers per second per client address (bursts of twice that).'),
    CLAIM_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .max(86_400)
      .default(300)
      .describe('How long a claimed unit stays reserved for the viewer before it returns (an offer may set its own).'),
    VIEWER_TOKEN_SECRET: optionalString.describe('When set, viewers identify with tokens the shop signs with it (HMAC-SHA256); unset: anonymous viewer ids.'),
    CHAT_BLOCKED_WORDS: z.string().default('').describe('Comma-separated words that get a chat message refused.'),
    UPLOAD_SPOOL_MAX_MB: z.coerce.number().min(16).default(512).describe('Most segment bytes held in memory, per show, while object storage is unreachable.'),
    TRUST_PROXY: z
      .string()
      .trim()
      .default('')
      .refine(
        (value) => value === '' || value === 'false' || /^\d{1,2}$/.test(value) || value.split(',').every((part) => trustedRange(part.trim()) !== undefined),
        'a hop count (e.g. 1) or a comma-separated list of addresses/CIDRs (e.g. 10.0.0.0/8)',
      )
      .describe(
        'Proxies in front of livecue whose X-Forwarded-For is believed: a hop count (1 behind one Ingress) or their addresses/CIDRs; empty: none (each TCP peer is the client). Rate limits and per-address caps key on the client address this gives.',
      ),
    ALLOW_PRIVATE_DESTINATIONS: boolish
      .default(false)
      .describe('Let webhook receivers and restream targets be loopback, link-local, private or reserved addresses (off: public addresses only).'),
    METRICS_TOKEN: optionalString.describe(
      'When set, GET /metrics needs Authorization: Bearer <this token> (or the admin token); unset: /metrics answers only loopback and private addresses.',
    ),
    MAX_SOCKETS_PER_ADDRESS: z.coerce.number().int().min(1).default(100).describe("Viewers' WebSockets open at once from one client address."),
    MESSAGES_PER_ADDRESS_PER_SECOND: z.coerce
      .number()
      .min(1)
      .default(200)
      .describe(
        "Messages per second from one client address over all its viewers' sockets and viewer ids (bursts of twice that); a crowd behind one NAT fits.",
      ),
    MAX_CUES_PER_SHOW: z.coerce.number().int().min(10).default(2000).describe('Cues one stream may hold (409 past it); every new viewer loads them all.'),
    RTMP_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(200).describe('Open connections on the RTMP port; more are closed at once.'),
    MAX_TRANSCODER_RESTARTS: z.coerce.number().int().min(0).default(20).describe('FFmpeg restarts per live session before it is given up.'),
  })
  .strict()
  .superRefine((config, context) => {
    for (const key of [
      'LIVECUE_ADMIN_TOKEN',
      'LIVECUE_SECRET_KEY',
      'PLAYBACK_TOKEN_SECRET',
      'VIEWER_TOKEN_SECRET',
      'METRICS_TOKEN',
      'S3_SECRET_ACCESS_KEY',
    ] as const) {
      if (config[key] && /change[_-]?me/i.test(config[key]))
        context.addIssue({ code: 'custom', path: [key], message: 'is still the example placeholder: set a real secret' });
    }
    if (config.WEBRTC_MIN_PORT > config.WEBRTC_MAX_PORT) {
      context.addIssue({ code: 'custom', path: ['WEBRTC_MIN_PORT'], message: 'must not exceed WEBRTC_MAX_PORT' });
    }
    // Only roles that run mediasoup (WebRTC and the node-to-node pipes) need addresses others reach;
    // an api or worker node binds no WebRTC socket, so one image ENV serves every role.
    if (!rolesWithWebRtc.has(config.ROLE)) return;
    if (config.WEBRTC_LISTEN_IP === '0.0.0.0' && !config.WEBRTC_ANNOUNCED_ADDRESS) {
      context.addIssue({
        code: 'custom',
        path: ['WEBRTC_ANNOUNCED_ADDRESS'],
        message: 'required when WEBRTC_LISTEN_IP is 0.0.0.0 (the address viewers reach)',
      });
    }
    const pipeIp = config.PIPE_LISTEN_IP ?? config.WEBRTC_LISTEN_IP;
    if (pipeIp === '0.0.0.0' && !config.PIPE_ANNOUNCED_ADDRESS && !config.WEBRTC_ANNOUNCED_ADDRESS) {
      context.addIssue({ code: 'custom', path: ['PIPE_ANNOUNCED_ADDRESS'], message: 'required when the pipes bind 0.0.0.0 (the address other nodes reach)' });
    }
  });

export type ConfigInput = z.input<typeof configSchema>;
export type Config = Readonly<z.output<typeof configSchema>>;

export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof ConfigInput)[];

// What every other part stands on: the process's error guard, metrics, the secrets, the database, Redis
// and object storage.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { resolveAdminToken } from '../api/admin-auth.ts';
import type { Config } from '../config/schema.ts';
import { openDatabase, type Database } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { createMetrics, type Metrics } from '../metrics/metrics.ts';
import { EmbeddedRedis } from '../redis/embedded-redis.ts';
import { persistentSecret } from '../security/persistent-secret.ts';
import { resolveSecretKey } from '../security/secret-box.ts';
import { createObjectStore } from '../storage/create-store.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { Lifecycle } from './lifecycle.ts';

const run = promisify(execFile);

export interface Foundation {
  /** Stable across restarts (a restarted node closes the sessions it left open), distinct per process. */
  nodeId: string;
  metrics: Metrics;
  adminToken: string;
  /** LIVECUE_SECRET_KEY: seals restream keys, signs viewer tokens and node-to-node calls. */
  secretKey: string;
  /** Signs private streams' playback URLs. */
  playbackSecret: string;
  database: Database;
  redis: Redis;
  /** The Redis that BullMQ and the embedded server share (the configured REDIS_URL, or the embedded one). */
  redisUrl: string;
  store: ObjectStore;
}

/** A missing ffmpeg is a start-up error that names what to install, not a failure at the first publish. */
async function checkFfmpeg(binary: string): Promise<void> {
  try {
    await run(binary, ['-version'], { timeout: 10_000 });
  } catch {
    throw new Error(`ffmpeg not found ("${binary}"): install it with "apt-get install ffmpeg" or set FFMPEG_PATH`);
  }
}

/**
 * An error no code caught is a bug: it is logged with its stack and counted, and the node keeps its shows and
 * viewers instead of dying with them (one bad request must not end every show on the node).
 */
function guardUnhandledErrors(metrics: Metrics, logger: Logger, life: Lifecycle): void {
  const unhandled = (kind: 'rejection' | 'exception') => (error: unknown) => {
    metrics.unhandledErrors.inc({ kind });
    logger.error({ err: error, kind }, 'unhandled error (a bug): logged and counted; livecue keeps serving');
  };
  const onRejection = unhandled('rejection');
  const onException = unhandled('exception');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  life.onClose('unhandled error guard', async () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  });
}

function secrets(config: Config, logger: Logger): Pick<Foundation, 'adminToken' | 'secretKey' | 'playbackSecret'> {
  const admin = resolveAdminToken(config.LIVECUE_ADMIN_TOKEN, config.LIVECUE_DATA_DIR);
  // Shown once, on the console, never through the logger.
  if (admin.generated) process.stdout.write(`\nlivecue admin token (saved in ${admin.file}):\n\n  ${admin.token}\n\n`);
  const secretKey = resolveSecretKey(config.LIVECUE_SECRET_KEY, config.LIVECUE_DATA_DIR);
  if (secretKey.generated) logger.warn({ file: secretKey.file }, 'generated LIVECUE_SECRET_KEY in the data dir; give every node the same value');
  const playback = persistentSecret({
    configured: config.PLAYBACK_TOKEN_SECRET,
    dataDir: config.LIVECUE_DATA_DIR,
    fileName: 'playback-secret',
    generate: () => randomBytes(32).toString('base64url'),
  });
  return { adminToken: admin.token, secretKey: secretKey.value, playbackSecret: playback.value };
}

async function connectRedis(config: Config, logger: Logger, life: Lifecycle): Promise<{ redis: Redis; redisUrl: string }> {
  let redisUrl = config.REDIS_URL;
  if (!redisUrl) {
    const embedded = await EmbeddedRedis.start({ binary: config.REDIS_SERVER_PATH, logger });
    life.onClose('embedded redis', () => embedded.close());
    redisUrl = embedded.url;
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3, keyPrefix: `${config.REDIS_KEY_PREFIX}:` });
  redis.on('error', (error) => logger.warn({ err: error }, 'redis error'));
  await redis.connect();
  life.onClose('redis client', () => redis.quit());
  return { redis, redisUrl };
}

export async function startFoundation(config: Config, logger: Logger, life: Lifecycle): Promise<Foundation> {
  await checkFfmpeg(config.FFMPEG_PATH);
  const metrics = createMetrics();
  guardUnhandledErrors(metrics, logger, life);
  // PORT=0 (tests) has no stable port, so the pid stands in.
  const nodeId = config.NODE_ID ?? `${hostname()}:${config.PORT || `pid${process.pid}`}`;
  const keys = secrets(config, logger);
  const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.LIVECUE_DATA_DIR });
  life.onClose('database', () => database.close());
  logger.info({ database: database.kind }, 'database ready');
  const { redis, redisUrl } = await connectRedis(config, logger, life);
  const store = await createObjectStore(config, { ensureBucket: true });
  life.onClose('object store', () => store.close());
  return { nodeId, metrics, ...keys, database, redis, redisUrl, store };
}

// Picks the object store from configuration: S3 when a bucket is set, else files under the data dir.
// The S3 client (the AWS SDK, ~25 MB of RSS) is loaded only when a bucket is configured.
import path from 'node:path';
import type { Config } from '../config/schema.ts';
import { FsObjectStore } from './fs-store.ts';
import type { ObjectStore } from './object-store.ts';

export async function createObjectStore(config: Config, options: { ensureBucket?: boolean } = {}): Promise<ObjectStore> {
  if (config.S3_BUCKET === undefined) return new FsObjectStore(path.join(config.LIVECUE_DATA_DIR, 'media'));
  const { S3ObjectStore } = await import('./s3-store.ts');
  const store = new S3ObjectStore({
    bucket: config.S3_BUCKET,
    region: config.S3_REGION,
    endpoint: config.S3_ENDPOINT,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
  });
  if (options.ensureBucket) await store.ensureBucket();
  return store;
}

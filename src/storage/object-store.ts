// The object-store interface: the only way livecue touches the bucket (S3) or its filesystem twin.
import type { Readable } from 'node:stream';

export interface PutOptions {
  contentType: string;
  cacheControl: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
  contentType: string;
  cacheControl: string;
  lastModified: Date;
  etag: string;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export interface ObjectBody extends ObjectInfo {
  body: Readable;
  /** Present when a range was asked for and satisfied. */
  range?: ByteRange;
}

export interface ObjectStore {
  readonly kind: 's3' | 'fs';
  /** Writes the whole object; resolves once it is durable in the store. */
  put(key: string, body: Buffer, options: PutOptions): Promise<void>;
  /** Writes a local file as the object without holding it in memory (large files: S3 multipart). */
  putFile(key: string, file: string, options: PutOptions): Promise<void>;
  /** undefined when the object does not exist. */
  get(key: string, range?: ByteRange): Promise<ObjectBody | undefined>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Keys under a prefix, in lexicographic order. */
  list(prefix: string): Promise<string[]>;
  delete(keys: string[]): Promise<void>;
  close(): Promise<void>;
}

/** Keys are relative paths of safe segments; anything else is refused before it reaches a driver. */
const SAFE_KEY = /^(?:[A-Za-z0-9_.-]+\/)*[A-Za-z0-9_.-]+$/;

export function assertSafeKey(key: string): void {
  if (!SAFE_KEY.test(key) || key.split('/').some((part) => part === '.' || part === '..')) {
    throw new Error(`unsafe object key: ${JSON.stringify(key)}`);
  }
}

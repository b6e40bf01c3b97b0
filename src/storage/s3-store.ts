// The S3 (or S3-compatible: MinIO, Garage, s3rver) driver of the object store.
import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { assertSafeKey, type ByteRange, type ObjectBody, type ObjectInfo, type ObjectStore, type PutOptions } from './object-store.ts';

export interface S3StoreOptions {
  bucket: string;
  region: string;
  endpoint?: string | undefined;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  forcePathStyle: boolean;
  /** Longest wait to connect and for a response to start; default 5 s. */
  requestTimeoutMs?: number | undefined;
  /** putFile sends files larger than this in parts of this size (S3's minimum part is 5 MiB); default 16 MiB. */
  multipartPartBytes?: number | undefined;
}

const DEFAULT_PART_BYTES = 16 * 1024 * 1024;
/** A part that fails is sent again this many times before the whole upload is given up (and aborted). */
const PART_ATTEMPTS = 3;

export const DEFAULT_S3_REQUEST_TIMEOUT_MS = 5_000;
const DELETE_BATCH = 1000;
// A put may take longer than the base timeout in proportion to its size, so a slow uplink is not mistaken for an outage.
const MIN_UPLOAD_BYTES_PER_MS = 128; // ~1 Mbit/s

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  readonly #client: S3Client;
  readonly #region: string;
  readonly #timeoutMs: number;
  readonly #partBytes: number;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.#partBytes = Math.max(5 * 1024 * 1024, options.multipartPartBytes ?? DEFAULT_PART_BYTES);
    this.#region = options.region;
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_S3_REQUEST_TIMEOUT_MS;
    const { accessKeyId, secretAccessKey } = options;
    this.#client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle,
      ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
      // livecue's upload queue owns retrying; an SDK retry would hide an outage behind long stalls.
      maxAttempts: 1,
      // Default CRC32 checksums are not understood by every S3-compatible server.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Without throwOnRequestTimeout the handler only logs a warning when requestTimeout passes.
      requestHandler: { connectionTimeout: this.#timeoutMs, requestTimeout: this.#timeoutMs, throwOnRequestTimeout: true },
    });
  }

  async put(key: string, body: Buffer, options: PutOptions): Promise<void> {
    assertSafeKey(key);
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      Body: body,
      ContentLength: body.length,
      ContentType: options.contentType,
      CacheControl: options.cacheControl,
    });
    await this.#client.send(command, { requestTimeout: this.#timeoutMs + Math.ceil(body.length / MIN_UPLOAD_BYTES_PER_MS) });
  }

  async putFile(key: string, file: string, options: PutOptions): Promise<void> {
    assertSafeKey(key);
    const { size } = await stat(file);
    const handle = await open(file, 'r');
    try {
      if (size <= this.#partBytes) {
        const body = Buffer.alloc(size);
        await handle.read(body, 0, size, 0);
        return await this.put(key, body, options);
      }
      // One part in memory at a time: a multi-gigabyte replay never sits in the heap.
      const { UploadId } = await this.#client.send(
        new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: options.contentType, CacheControl: options.cacheControl }),
      );
      try {
        const parts: { ETag: string; PartNumber: number }[] = [];
        const buffer = Buffer.alloc(this.#partBytes);
        for (let offset = 0, number = 1; offset < size; offset += this.#partBytes, number++) {
          const { bytesRead } = await handle.read(buffer, 0, Math.min(this.#partBytes, size - offset), offset);
          const body = buffer.subarray(0, bytesRead);
          for (let attempt = 1; ; attempt++) {
            try {
              const out = await this.#client.send(
                new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId, PartNumber: number, Body: body, ContentLength: bytesRead }),
                {
                  requestTimeout: this.#timeoutMs + Math.ceil(bytesRead / MIN_UPLOAD_BYTES_PER_MS),
                },
              );
              parts.push({ ETag: out.ETag!, PartNumber: number });
              break;
            } catch (error) {
              if (attempt >= PART_ATTEMPTS) throw error;
            }
          }
        }
        await this.#client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
      } catch (error) {
        await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId })).catch(() => {});
        throw error;
      }
    } finally {
      await handle.close();
    }
  }

  async get(key: string, range?: ByteRange): Promise<ObjectBody | undefined> {
    assertSafeKey(key);
    if (range) assertValidRange(range);
    try {
      return await this.#get(key, range);
    } catch (error) {
      // Unsatisfiable range (start past the end): answer like the fs store, with the whole object and no range.
      if (range && statusOf(error) === 416) return this.#get(key, undefined).catch(notFoundAsUndefined);
      return notFoundAsUndefined(error);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertSafeKey(key);
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return toInfo(key, out, out.ContentLength ?? 0);
    } catch (error) {
      return notFoundAsUndefined(error);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.#client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const object of out.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async delete(keys: string[]): Promise<void> {
    keys.forEach(assertSafeKey);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const out = await this.#client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
      const failed = out.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0];
        throw new Error(`S3 delete failed for ${failed.length} object(s) in ${this.bucket}, e.g. ${first?.Key}: ${first?.Code} ${first?.Message ?? ''}`.trim());
      }
    }
  }

  /** Creates the bucket when HeadBucket says it does not exist; false when it already did. */
  async ensureBucket(): Promise<boolean> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return false;
    } catch (error) {
      if (statusOf(error) !== 404 && nameOf(error) !== 'NotFound' && nameOf(error) !== 'NoSuchBucket') throw error;
    }
    // us-east-1 is the one region that refuses an explicit LocationConstraint.
    const location = this.#region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: this.#region as BucketLocationConstraint } };
    try {
      await this.#client.send(new CreateBucketCommand({ Bucket: this.bucket, ...location }));
    } catch (error) {
      if (nameOf(error) !== 'BucketAlreadyOwnedByYou') throw error;
    }
    return true;
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  async #get(key: string, range: ByteRange | undefined): Promise<ObjectBody> {
    const out = await this.#client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
    );
    const body = out.Body as Readable;
    const served = range ? parseContentRange(out.ContentRange) : undefined;
    const info = toInfo(key, out, served?.total ?? out.ContentLength ?? 0);
    return served ? { ...info, body, range: { start: served.start, end: served.end } } : { ...info, body };
  }
}

interface S3ObjectHeaders {
  ContentType?: string | undefined;
  CacheControl?: string | undefined;
  LastModified?: Date | undefined;
  ETag?: string | undefined;
}

function toInfo(key: string, out: S3ObjectHeaders, size: number): ObjectInfo {
  return {
    key,
    size,
    contentType: out.ContentType ?? 'application/octet-stream',
    cacheControl: out.CacheControl ?? '',
    lastModified: out.LastModified ?? new Date(0),
    etag: out.ETag ?? '',
  };
}

function parseContentRange(header: string | undefined): { start: number; end: number; total: number } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header ?? '');
  if (!match) return undefined;
  return { start: Number(match[1]), end: Number(match[2]), total: Number(match[3]) };
}

function assertValidRange({ start, end }: ByteRange): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`invalid byte range ${start}-${end}`);
  }
}

function nameOf(error: unknown): string | undefined {
  return (error as { name?: string } | undefined)?.name;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function notFoundAsUndefined(error: unknown): undefined {
  const name = nameOf(error);
  // A missing bucket is a misconfiguration, not a missing object.
  if (name !== 'NoSuchBucket' && (name === 'NotFound' || name === 'NoSuchKey' || statusOf(error) === 404)) return undefined;
  throw error;
}

// Contract tests of both object stores (fs, and S3 against a real s3rver) and of the upload queue.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../src/storage/fs-store.ts';
import type { ObjectStore, PutOptions } from '../src/storage/object-store.ts';
import { S3ObjectStore } from '../src/storage/s3-store.ts';
import { UploadQueue } from '../src/storage/upload-queue.ts';

const BUCKET = 'livecue-test';
const TS: PutOptions = { contentType: 'video/mp2t', cacheControl: 'public, max-age=31536000, immutable' };
const M3U8: PutOptions = { contentType: 'application/vnd.apple.mpegurl', cacheControl: 'no-cache' };

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function startS3rver(directory: string, port = 0): Promise<{ server: S3rver; port: number }> {
  const server = new S3rver({ port, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: BUCKET }] });
  const address = await server.run();
  return { server, port: address.port };
}

function s3Store(port: number, overrides: Partial<ConstructorParameters<typeof S3ObjectStore>[0]> = {}): S3ObjectStore {
  return new S3ObjectStore({
    bucket: BUCKET,
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
    requestTimeoutMs: 2000,
    // The smallest part S3 allows, so the contract's large file goes up in several parts.
    multipartPartBytes: 5 * 1024 * 1024,
    ...overrides,
  });
}

function contract(name: string, open: () => ObjectStore): void {
  describe(`${name} object store contract`, () => {
    it('get returns the bytes and metadata that were put', async () => {
      const store = open();
      const body = Buffer.from('segment bytes \u0000\u00ff', 'latin1');
      await store.put('c/put/seg_00001.ts', body, TS);
      const got = await store.get('c/put/seg_00001.ts');
      expect(got).toBeDefined();
      expect(await readAll(got!.body)).toEqual(body);
      expect(got).toMatchObject({ key: 'c/put/seg_00001.ts', size: body.length, ...TS });
      expect(got!.range).toBeUndefined();
      expect(got!.etag).toMatch(/^".+"$/);
      expect(got!.lastModified).toBeInstanceOf(Date);
      const head = await store.head('c/put/seg_00001.ts');
      expect(head).toMatchObject({ key: 'c/put/seg_00001.ts', size: body.length, etag: got!.etag, ...TS });
    });

    it('putFile stores a large local file whole, with its metadata (S3: in parts)', async () => {
      const store = open();
      const dir = await mkdtemp(path.join(os.tmpdir(), 'livecue-putfile-'));
      try {
        const file = path.join(dir, 'show.mp4');
        // 11 MiB of varied bytes: three parts of 5 MiB at most, the last one short.
        const bytes = Buffer.alloc(11 * 1024 * 1024 + 123);
        for (let i = 0; i + 4 <= bytes.length; i += 4) bytes.writeUInt32LE((i * 2654435761) >>> 0, i);
        await writeFile(file, bytes);
        const mp4 = { contentType: 'video/mp4', cacheControl: 'public, max-age=31536000, immutable' };
        await store.putFile('c/file/show.mp4', file, mp4);
        const got = await store.get('c/file/show.mp4');
        expect(got).toMatchObject({ size: bytes.length, ...mp4 });
        expect((await readAll(got!.body)).equals(bytes)).toBe(true);
        // A small file too (one request).
        await writeFile(file, 'tiny');
        await store.putFile('c/file/tiny.txt', file, TS);
        expect((await readAll((await store.get('c/file/tiny.txt'))!.body)).toString()).toBe('tiny');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('an overwrite replaces the bytes and the etag', async () => {
      const store = open();
      await store.put('c/over/index.m3u8', Buffer.from('#EXTM3U\n1'), M3U8);
      const before = await store.head('c/over/index.m3u8');
      await store.put('c/over/index.m3u8', Buffer.from('#EXTM3U\n22'), M3U8);
      const after = await store.get('c/over/index.m3u8');
      expect((await readAll(after!.body)).toString()).toBe('#EXTM3U\n22');
      expect(after!.etag).not.toBe(before!.etag);
    });

    it('a range get returns exactly those bytes', async () => {
      const store = open();
      await store.put('c/range/a.ts', Buffer.from('abcdefghij'), TS);
      const middle = await store.get('c/range/a.ts', { start: 2, end: 5 });
      expect((await readAll(middle!.body)).toString()).toBe('cdef');
      expect(middle!.range).toEqual({ start: 2, end: 5 });
      expect(middle!.size).toBe(10);
      expect(middle!.contentType).toBe(TS.contentType);

      const tail = await store.get('c/range/a.ts', { start: 8, end: 100 });
      expect((await readAll(tail!.body)).toString()).toBe('ij');
      expect(tail!.range).toEqual({ start: 8, end: 9 });

      const past = await store.get('c/range/a.ts', { start: 10, end: 20 });
      expect(past!.range).toBeUndefined();
      expect((await readAll(past!.body)).toString()).toBe('abcdefghij');

      await expect(store.get('c/range/a.ts', { start: 5, end: 2 })).rejects.toThrow(RangeError);
    });

    it('a missing object is undefined', async () => {
      const store = open();
      expect(await store.head('c/missing/nothing.ts')).toBeUndefined();
      expect(await store.get('c/missing/nothing.ts')).toBeUndefined();
      expect(await store.get('c/missing/nothing.ts', { start: 0, end: 1 })).toBeUndefined();
    });

    it('lists keys under a prefix, sorted', async () => {
      const store = open();
      for (const key of ['c/list/b/1.ts', 'c/list/a/2.ts', 'c/list/a/1.ts', 'c/list/ab.txt', 'c/listed.txt']) {
        await store.put(key, Buffer.from(key), TS);
      }
      expect(await store.list('c/list/a/')).toEqual(['c/list/a/1.ts', 'c/list/a/2.ts']);
      expect(await store.list('c/list/a')).toEqual(['c/list/a/1.ts', 'c/list/a/2.ts', 'c/list/ab.txt']);
      expect(await store.list('c/list/')).toEqual(['c/list/a/1.ts', 'c/list/a/2.ts', 'c/list/ab.txt', 'c/list/b/1.ts']);
      expect(await store.list('c/nowhere/')).toEqual([]);
    });

    it('deletes objects, ignoring missing ones', async () => {
      const store = open();
      await store.put('c/del/1.ts', Buffer.from('1'), TS);
      await store.put('c/del/2.ts', Buffer.from('2'), TS);
      await store.put('c/del/3.ts', Buffer.from('3'), TS);
      await store.delete(['c/del/1.ts', 'c/del/2.ts', 'c/del/never.ts']);
      expect(await store.head('c/del/1.ts')).toBeUndefined();
      expect(await store.list('c/del/')).toEqual(['c/del/3.ts']);
      await store.delete([]);
    });

    it('refuses unsafe keys', async () => {
      const store = open();
      for (const key of ['../x', '/abs', 'a//b', 'a/../../b', 'a/', '']) {
        await expect(store.put(key, Buffer.from('x'), TS)).rejects.toThrow(/unsafe object key/);
        await expect(store.get(key)).rejects.toThrow(/unsafe object key/);
        await expect(store.head(key)).rejects.toThrow(/unsafe object key/);
        await expect(store.delete(['ok/key', key])).rejects.toThrow(/unsafe object key/);
      }
    });
  });
}

describe('FsObjectStore', () => {
  let root: string;
  let store: FsObjectStore;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'livecue-fs-store-'));
    store = new FsObjectStore(root);
  });
  afterAll(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  contract('fs', () => store);

  it('keeps only the object and its hidden sidecar on disk', async () => {
    await store.put('fs/side/seg.ts', Buffer.from('x'), TS);
    expect((await readdir(path.join(root, 'fs', 'side'))).sort()).toEqual(['seg.ts', 'seg.ts~meta.json']);
    expect(await store.list('fs/side/')).toEqual(['fs/side/seg.ts']);
  });

  it('a reader that already opened an object keeps reading the old bytes whole during an overwrite', async () => {
    const old = Buffer.alloc(1 << 20, 1);
    await store.put('fs/atomic/index.m3u8', old, M3U8);
    const reading = await store.get('fs/atomic/index.m3u8');
    await store.put('fs/atomic/index.m3u8', Buffer.alloc(10, 2), M3U8);
    // equals(), not toEqual(): a deep compare of a 1 MiB buffer takes seconds.
    expect((await readAll(reading!.body)).equals(old)).toBe(true);
    expect((await store.head('fs/atomic/index.m3u8'))!.size).toBe(10);
  });

  it('a prefix cannot walk out of the root', async () => {
    await expect(store.list('../')).rejects.toThrow(/unsafe object key/);
  });
});

describe('S3ObjectStore (s3rver)', () => {
  let dir: string;
  let server: S3rver;
  let port: number;
  let store: S3ObjectStore;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'livecue-s3rver-'));
    ({ server, port } = await startS3rver(dir));
    store = s3Store(port);
  });
  afterAll(async () => {
    await store.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  contract('s3', () => store);

  it('ensureBucket creates a missing bucket once', async () => {
    const other = s3Store(port, { bucket: 'livecue-created' });
    expect(await other.ensureBucket()).toBe(true);
    expect(await other.ensureBucket()).toBe(false);
    await other.put('x.ts', Buffer.from('x'), TS);
    expect(await other.list('')).toEqual(['x.ts']);
    await other.close();
  });

  it('never puts the secret key in an error', async () => {
    const secret = 'sEcReT-never-to-be-seen-0123456789';
    // s3rver checks only the access key id of V4 requests, so an unknown id is what makes this put fail.
    const wrong = s3Store(port, { accessKeyId: 'NOT-A-KEY', secretAccessKey: secret });
    const error: unknown = await wrong.put('x.ts', Buffer.from('x'), TS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const err = error as Error;
    expect(`${err.message} ${err.stack} ${JSON.stringify(err)}`).not.toContain(secret);
    await wrong.close();
  });
});

describe('UploadQueue (s3rver)', () => {
  let dir: string;
  let server: S3rver;
  let port: number;
  let store: S3ObjectStore;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'livecue-queue-'));
    ({ server, port } = await startS3rver(dir));
    store = s3Store(port, { requestTimeoutMs: 1000 });
  });
  afterAll(async () => {
    await store.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Wraps the store to record when each put starts and ends. */
  function recording(inner: ObjectStore, events: string[]): ObjectStore {
    return {
      kind: inner.kind,
      put: async (key, body, options) => {
        events.push(`start ${key}`);
        await inner.put(key, body, options);
        events.push(`end ${key}`);
      },
      putFile: (key, file, options) => inner.putFile(key, file, options),
      get: (key, range) => inner.get(key, range),
      head: (key) => inner.head(key),
      list: (prefix) => inner.list(prefix),
      delete: (keys) => inner.delete(keys),
      close: () => inner.close(),
    };
  }

  it('uploads one at a time, in enqueue order', async () => {
    const events: string[] = [];
    const uploaded: string[] = [];
    const resolved: string[] = [];
    const queue = new UploadQueue({
      store: recording(store, events),
      maxSpoolBytes: 64 << 20,
      onUploaded: (key, bytes, seconds) => {
        expect(bytes).toBeGreaterThan(0);
        expect(seconds).toBeGreaterThanOrEqual(0);
        uploaded.push(key);
      },
    });
    // Bigger objects first: running them in parallel would let the small ones finish earlier.
    const keys = Array.from({ length: 12 }, (_, i) => `q/fifo/seg_${String(i).padStart(3, '0')}.ts`);
    const done = keys.map((key, i) => queue.enqueue(key, Buffer.alloc((12 - i) * 100_000, i), TS).then(() => resolved.push(key)));
    expect(queue.pendingCount).toBe(12);
    await Promise.all(done);
    expect(uploaded).toEqual(keys);
    expect(resolved).toEqual(keys);
    expect(events).toEqual(keys.flatMap((key) => [`start ${key}`, `end ${key}`]));
    expect(await store.list('q/fifo/')).toEqual(keys);
    expect(queue.pendingCount).toBe(0);
    expect(queue.pendingBytes).toBe(0);
    expect(await queue.drain(100)).toBe(true);
    queue.close();
  });

  it('rides out an outage of the store and lands everything once it is back', async () => {
    const warnings: unknown[] = [];
    const queue = new UploadQueue({
      store,
      maxSpoolBytes: 1 << 20,
      minBackoffMs: 50,
      maxBackoffMs: 400,
      logger: { warn: (obj) => warnings.push(obj), error: () => {} },
    });
    await server.close();
    const keys = Array.from({ length: 5 }, (_, i) => `q/outage/seg_${i}.ts`);
    let landed = 0;
    const done = keys.map((key) => queue.enqueue(key, Buffer.from(key), TS).then(() => (landed += 1)));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(landed).toBe(0);
    expect(queue.pendingCount).toBe(5);
    expect(warnings.length).toBeGreaterThan(2);

    ({ server } = await startS3rver(dir, port));
    await Promise.all(done);
    expect(landed).toBe(5);
    expect(await store.list('q/outage/')).toEqual(keys);
    expect(await queue.drain(100)).toBe(true);
    queue.close();
  }, 20_000);

  it('rejects an enqueue that would overflow the spool', async () => {
    const failures: [string, string][] = [];
    const queue = new UploadQueue({ store, maxSpoolBytes: 1000, onFailure: (key, error) => failures.push([key, error.message]) });
    const first = queue.enqueue('q/spool/1.ts', Buffer.alloc(600), TS);
    await expect(queue.enqueue('q/spool/2.ts', Buffer.alloc(600), TS)).rejects.toThrow('upload spool full');
    expect(failures).toEqual([['q/spool/2.ts', 'upload spool full']]);
    expect(queue.pendingBytes).toBe(600);
    await first;
    await queue.enqueue('q/spool/3.ts', Buffer.alloc(600), TS);
    expect(await store.list('q/spool/')).toEqual(['q/spool/1.ts', 'q/spool/3.ts']);
    queue.close();
  });

  it('enqueueReplace coalesces a waiting upload of the same key and keeps it after newer objects', async () => {
    const events: string[] = [];
    const queue = new UploadQueue({ store: recording(store, events), maxSpoolBytes: 1 << 20 });
    const first = queue.enqueue('q/replace/seg_1.ts', Buffer.from('one'), TS);
    const v1 = queue.enqueueReplace('q/replace/index.m3u8', Buffer.from('#EXTM3U\nseg_1.ts\n'), M3U8);
    const second = queue.enqueue('q/replace/seg_2.ts', Buffer.from('two'), TS);
    const v2 = queue.enqueueReplace('q/replace/index.m3u8', Buffer.from('#EXTM3U\nseg_1.ts\nseg_2.ts\n'), M3U8);
    expect(queue.pendingCount).toBe(3);
    await Promise.all([first, v1, second, v2]);
    expect(events.filter((e) => e.startsWith('start'))).toEqual(['start q/replace/seg_1.ts', 'start q/replace/seg_2.ts', 'start q/replace/index.m3u8']);
    const playlist = await store.get('q/replace/index.m3u8');
    expect((await readAll(playlist!.body)).toString()).toBe('#EXTM3U\nseg_1.ts\nseg_2.ts\n');
    queue.close();
  });

  it('close stops retrying and rejects what is left', async () => {
    const failures: string[] = [];
    const dead = s3Store(1, { requestTimeoutMs: 200 });
    const queue = new UploadQueue({ store: dead, maxSpoolBytes: 1 << 20, minBackoffMs: 20, maxBackoffMs: 50, onFailure: (key) => failures.push(key) });
    const a = queue.enqueue('q/closed/a.ts', Buffer.from('a'), TS);
    const b = queue.enqueue('q/closed/b.ts', Buffer.from('b'), TS);
    const drained = queue.drain(10_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    queue.close();
    queue.close();
    await expect(a).rejects.toThrow('upload queue closed');
    await expect(b).rejects.toThrow('upload queue closed');
    expect(await drained).toBe(false);
    expect(failures).toEqual(['q/closed/a.ts', 'q/closed/b.ts']);
    expect(queue.pendingCount).toBe(0);
    await expect(queue.enqueue('q/closed/c.ts', Buffer.from('c'), TS)).rejects.toThrow('upload queue closed');
    expect(await queue.drain(10)).toBe(false);
    await dead.close();
  });

  it('drain times out while an upload cannot land', async () => {
    const dead = s3Store(1, { requestTimeoutMs: 200 });
    const queue = new UploadQueue({ store: dead, maxSpoolBytes: 1 << 20, minBackoffMs: 20, maxBackoffMs: 50 });
    const pending = queue.enqueue('q/drain/a.ts', Buffer.from('a'), TS).catch((e: unknown) => e);
    expect(await queue.drain(300)).toBe(false);
    queue.close();
    expect(await pending).toBeInstanceOf(Error);
    await dead.close();
  });
});

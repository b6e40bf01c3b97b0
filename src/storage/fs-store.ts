// The filesystem twin of the bucket: objects are files under a root directory, written atomically.
import { randomUUID } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { copyFile, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { assertSafeKey, type ByteRange, type ObjectBody, type ObjectInfo, type ObjectStore, type PutOptions } from './object-store.ts';

// '~' can never occur in a key (assertSafeKey), so sidecars and temp files can't collide with objects.
const SIDE_MARK = '~';
const META_SUFFIX = `${SIDE_MARK}meta.json`;
const DEFAULT_META: PutOptions = { contentType: 'application/octet-stream', cacheControl: '' };

export class FsObjectStore implements ObjectStore {
  readonly kind = 'fs' as const;
  readonly #root: string;

  constructor(rootDir: string) {
    this.#root = path.resolve(rootDir);
  }

  async put(key: string, body: Buffer, options: PutOptions): Promise<void> {
    const file = this.#file(key);
    await mkdir(path.dirname(file), { recursive: true });
    const meta: PutOptions = { contentType: options.contentType, cacheControl: options.cacheControl };
    // Metadata first: a reader may briefly pair new metadata with the old bytes, but never finds bytes without metadata.
    await writeAtomically(file + META_SUFFIX, JSON.stringify(meta));
    await writeAtomically(file, body);
  }

  async putFile(key: string, source: string, options: PutOptions): Promise<void> {
    const file = this.#file(key);
    await mkdir(path.dirname(file), { recursive: true });
    await writeAtomically(file + META_SUFFIX, JSON.stringify({ contentType: options.contentType, cacheControl: options.cacheControl }));
    await replaceAtomically(file, (temp) => copyFile(source, temp));
  }

  async get(key: string, range?: ByteRange): Promise<ObjectBody | undefined> {
    const file = this.#file(key);
    if (range) assertValidRange(range);
    const handle = await open(file, 'r').catch(missingAsUndefined);
    if (!handle) return undefined;
    try {
      // Stat the open handle, not the path: a concurrent put renames a new inode over the path, and this read keeps the old one whole.
      const stats = await handle.stat({ bigint: true });
      if (!stats.isFile()) {
        await handle.close();
        return undefined;
      }
      const info = toInfo(key, stats, await readMeta(file));
      const satisfied = range && range.start < info.size ? { start: range.start, end: Math.min(range.end, info.size - 1) } : undefined;
      const body = handle.createReadStream(satisfied ? { start: satisfied.start, end: satisfied.end } : {});
      return satisfied ? { ...info, body, range: satisfied } : { ...info, body };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = this.#file(key);
    const stats = await stat(file, { bigint: true }).catch(missingAsUndefined);
    if (!stats?.isFile()) return undefined;
    return toInfo(key, stats, await readMeta(file));
  }

  async list(prefix: string): Promise<string[]> {
    // Only the directory part of the prefix touches the filesystem; the rest is a plain string filter.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash === -1 ? '' : prefix.slice(0, slash);
    if (dirKey !== '') assertSafeKey(dirKey);
    const keys: string[] = [];
    await this.#walk(dirKey, keys);
    return keys.filter((key) => key.startsWith(prefix)).sort();
  }

  async delete(keys: string[]): Promise<void> {
    const files = keys.map((key) => this.#file(key));
    for (const file of files) {
      await rm(file, { force: true });
      await rm(file + META_SUFFIX, { force: true });
    }
  }

  async close(): Promise<void> {}

  #file(key: string): string {
    assertSafeKey(key);
    return path.join(this.#root, ...key.split('/'));
  }

  async #walk(dirKey: string, into: string[]): Promise<void> {
    const dir = dirKey === '' ? this.#root : path.join(this.#root, ...dirKey.split('/'));
    const entries = await readdir(dir, { withFileTypes: true }).catch(missingAsUndefined);
    for (const entry of entries ?? []) {
      if (entry.name.includes(SIDE_MARK)) continue;
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isDirectory()) await this.#walk(key, into);
      else if (entry.isFile()) into.push(key);
    }
  }
}

/** Readers see the old file or the new one whole: it is written beside the old one, then renamed over it. */
async function replaceAtomically(file: string, write: (temp: string) => Promise<void>): Promise<void> {
  const temp = `${file}${SIDE_MARK}${randomUUID()}.tmp`;
  try {
    await write(temp);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

const writeAtomically = (file: string, data: Buffer | string) => replaceAtomically(file, (temp) => writeFile(temp, data));

async function readMeta(file: string): Promise<PutOptions> {
  const text = await readFile(file + META_SUFFIX, 'utf8').catch(missingAsUndefined);
  if (text === undefined) return DEFAULT_META;
  const meta = JSON.parse(text) as Partial<PutOptions>;
  return {
    contentType: meta.contentType ?? DEFAULT_META.contentType,
    cacheControl: meta.cacheControl ?? DEFAULT_META.cacheControl,
  };
}

function toInfo(key: string, stats: BigIntStats, meta: PutOptions): ObjectInfo {
  return {
    key,
    size: Number(stats.size),
    contentType: meta.contentType,
    cacheControl: meta.cacheControl,
    lastModified: new Date(Number(stats.mtimeMs)),
    // Every put renames a fresh file in, so inode + size + mtime changes with every write.
    etag: `"${stats.ino.toString(16)}-${stats.size.toString(16)}-${stats.mtimeNs.toString(16)}"`,
  };
}

function assertValidRange({ start, end }: ByteRange): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`invalid byte range ${start}-${end}`);
  }
}

function missingAsUndefined(error: unknown): undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
  throw error;
}

// Opens the database: postgres.js for DATABASE_URL, embedded PGlite in the data dir otherwise.
// Both run the same drizzle migrations at start-up.
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { execFileOwned } from '../owned-process.ts';
import * as schema from './schema.ts';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/**
 * PostgreSQL's defaults (128 MB of shared buffers, 64 MB for maintenance) are sized for a server; one
 * livecue's own database is a few MB, so PGlite gets buffers to match (idle RSS: see README, Footprint).
 */
const PGLITE_MEMORY_SETTINGS = [
  '-c',
  'shared_buffers=16MB',
  '-c',
  'work_mem=2MB',
  '-c',
  'maintenance_work_mem=16MB',
  '-c',
  'wal_buffers=512kB',
  '-c',
  'temp_buffers=2MB',
];

/** Any fixed number, the same on every node: the advisory lock migrations run under. */
const MIGRATION_LOCK = 0x6c697665;

/**
 * A fresh data dir is initialised (initdb) in a short-lived child process: the ~450 MB initdb touches
 * would otherwise stay in livecue's own RSS for as long as it runs.
 */
async function initialisePglite(dir: string): Promise<void> {
  if (existsSync(path.join(dir, 'PG_VERSION'))) return;
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const script = `require(${JSON.stringify(entry)}).PGlite.create(${JSON.stringify(dir)}).then((db) => db.close())`;
  await execFileOwned(process.execPath, ['--liftoff-only', '-e', script], { timeout: 120_000 });
}

export async function openDatabase(options: { databaseUrl?: string; dataDir: string }): Promise<Database> {
  if (options.databaseUrl) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const { migrate } = await import('drizzle-orm/postgres-js/migrator');
    const client = postgres(options.databaseUrl, { max: 10, onnotice: () => {} });
    const db = drizzle(client, { schema });
    // Nodes starting together (a new deployment) migrate one at a time: the others wait on a session
    // advisory lock, then find the migrations applied.
    const migrator = postgres(options.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await migrator`select pg_advisory_lock(${MIGRATION_LOCK})`;
      await migrate(drizzle(migrator, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
    } catch (error) {
      await client.end({ timeout: 1 });
      throw new Error(`cannot migrate the database at DATABASE_URL: ${(error as Error).message}`);
    } finally {
      await migrator.end({ timeout: 1 });
    }
    return {
      db: db as unknown as Db,
      kind: 'postgres',
      close: () => client.end({ timeout: 5 }),
    };
  }
  // PGlite is PostgreSQL compiled to WebAssembly. V8's optimising tier (TurboFan) compiles its hot
  // functions a second time and keeps both: Liftoff alone holds ~90 MB less, starts faster, and
  // answers this database's small queries as fast (measured: 2,000 inserts and lookups, 0.25 ms each
  // either way). Only wasm compiled after this is affected; livecue runs no other wasm.
  setFlagsFromString('--liftoff-only');
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  const dir = path.join(options.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  await initialisePglite(dir);
  const client = await PGlite.create(dir, { startParams: [...PGlite.defaultStartParams, ...PGLITE_MEMORY_SETTINGS] });
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return {
    db: db as unknown as Db,
    kind: 'pglite',
    close: () => client.close(),
  };
}

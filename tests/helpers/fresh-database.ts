// A fresh PostgreSQL database for one test or bench run, on a server it may create databases on, dropped
// afterwards, so a run never sees another's rows.
import postgres from 'postgres';
import { randomBase62 } from '../../src/streams/stream-keys.ts';

export interface FreshDatabase {
  /** DATABASE_URL of the new database. */
  url: string;
  /** The server's version string, for the results. */
  version: string;
  drop(): Promise<void>;
}

/** `adminUrl` names any database on the server (e.g. postgres://postgres@127.0.0.1:5432/postgres); `prefix` names the run's kind. */
export async function createFreshDatabase(adminUrl: string, prefix: 'livecue_test' | 'livecue_bench'): Promise<FreshDatabase> {
  const name = `${prefix}_${randomBase62(10).toLowerCase()}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  let version: string;
  try {
    await admin.unsafe(`create database ${name}`);
    const [row] = await admin.unsafe<{ version: string }[]>('select version()');
    version = row?.version ?? 'unknown';
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    version,
    drop: async () => {
      const client = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await client.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

// Starts a real livecue node for a test: its own PostgreSQL database, Redis key prefix, data dir and
// ports; the log lines are kept so tests can check that no secret was written.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { startLivecue, type Livecue } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log.ts';
import { randomBase62 } from '../../src/streams/stream-keys.ts';
import { createFreshDatabase, type FreshDatabase } from './fresh-database.ts';

export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const createTestDatabase = (): Promise<FreshDatabase> => createFreshDatabase(POSTGRES_ADMIN_URL, 'livecue_test');

export interface TestNode {
  lc: Livecue;
  dataDir: string;
  logLines: string[];
  baseUrl: string;
  rtmpBase: string;
  api(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

export async function startTestNode(overrides: Partial<ConfigInput> = {}, options: { embedded?: boolean } = {}): Promise<TestNode> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'livecue-test-'));
  const database = options.embedded ? undefined : await createTestDatabase();
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      const text = chunk.toString();
      logLines.push(text);
      if (process.env.LIVECUE_TEST_LOGS) process.stderr.write(text);
      done();
    },
  });
  const config = parseConfig({
    PORT: 0,
    RTMP_PORT: 0,
    HOST: '127.0.0.1',
    RTMP_HOST: '127.0.0.1',
    LIVECUE_DATA_DIR: dataDir,
    LIVECUE_ADMIN_TOKEN: `lca_${randomBase62(40)}`,
    LOG_LEVEL: 'debug',
    RECONNECT_WINDOW_SECONDS: 3,
    NODE_ID: `test-${randomBase62(6)}`,
    // Tests' webhook receivers and restream targets listen on loopback.
    ALLOW_PRIVATE_DESTINATIONS: true,
    ...(options.embedded ? {} : { DATABASE_URL: database!.url, REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: `lctest-${randomBase62(8)}` }),
    ...overrides,
  });
  const lc = await startLivecue(config, { logger: createLogger('debug', sink) });
  const baseUrl = `http://127.0.0.1:${lc.httpPort}`;
  return {
    lc,
    dataDir,
    logLines,
    baseUrl,
    rtmpBase: `rtmp://127.0.0.1:${lc.rtmpPort}/live`,
    async api(method, urlPath, body, headers = {}) {
      const response = await fetch(`${baseUrl}${urlPath}`, {
        method,
        headers: {
          authorization: `Bearer ${lc.adminToken}`,
          ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON: keep the text.
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
    async stop() {
      await lc.close();
      await database?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A stream as POST /v1/streams answers it. */
export interface TestStream {
  id: string;
  playbackId: string;
  ingest: { rtmpUrl: string; streamKey: string; whipUrl: string };
  playback: { hlsUrl: string; whepUrl: string };
}

/** Creates a stream through the admin API, expecting 201. */
export async function createStream(node: Pick<TestNode, 'api'>, title = 'show'): Promise<TestStream> {
  const { status, body } = await node.api('POST', '/v1/streams', { title });
  expect(status).toBe(201);
  return body as TestStream;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

/** The body of `url` once it answers 2xx: a playlist or file that livecue writes a moment after the push starts. */
/** A clip once its job made it ready (throws when it failed). */
export function clipReady(node: Pick<TestNode, 'api'>, id: string, timeoutMs = 60_000): Promise<any> {
  return waitFor(
    `clip ${id} ready`,
    async () => {
      const { body } = await node.api('GET', `/v1/clips/${id}`);
      if (body.status === 'failed') throw new Error(`clip failed: ${body.failureReason}`);
      return body.status === 'ready' ? body : undefined;
    },
    timeoutMs,
  );
}

export function waitForText(what: string, url: string, timeoutMs?: number): Promise<string> {
  return waitFor(
    what,
    async () => {
      const response = await fetch(url);
      return response.ok ? response.text() : undefined;
    },
    timeoutMs,
  );
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port free on 127.0.0.1 right now (for a process that must be told its port in advance). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A viewer as livecue issues it (POST /live/viewers): its id, and the token chat, votes and claims take. */
export interface TestViewer {
  id: string;
  token: string;
}

export async function newViewer(node: { baseUrl: string }): Promise<TestViewer> {
  const response = await fetch(`${node.baseUrl}/live/viewers`, { method: 'POST' });
  if (response.status !== 201) throw new Error(`POST /live/viewers answered ${response.status}`);
  const issued = (await response.json()) as { viewerId: string; viewerToken: string };
  return { id: issued.viewerId, token: issued.viewerToken };
}

/** Whether a process is still running (signal 0 checks without signalling). */
export { processAlive } from '../../src/owned-process.ts';

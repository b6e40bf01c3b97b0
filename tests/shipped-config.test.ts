// The deployable artefacts start as written: livecue is started with the Dockerfile's ENV (a plain
// `docker run`, embedded defaults) and with each Kubernetes Deployment's environment (ConfigMap,
// Secret, the pod's own env with its field references given plausible values) against the local
// PostgreSQL, Redis and an S3 server, and must answer its probes and stop cleanly on SIGTERM.
// No cluster and no Docker daemon are needed, so CI exercises the manifests on every run.
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { cachedWorkerBinary } from '../src/sfu/worker-pool.ts';
import { randomBase62 } from '../src/streams/stream-keys.ts';
import { createTestDatabase, TEST_REDIS_URL } from './helpers/harness.ts';
import { startLivecueProcess, type LivecueProcess } from './helpers/livecue-process.ts';
import { TestS3 } from './helpers/s3.ts';
import { buildServer } from './helpers/server-build.ts';

const run = promisify(execFile);
const root = (file: string) => new URL(`../${file}`, import.meta.url);

/** The final stage of the Dockerfile: its ENV (continuation lines joined), CMD and HEALTHCHECK command. */
function dockerImage(): { env: Record<string, string>; cmd: string[]; healthcheck: string[] } {
  const text = readFileSync(root('Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lines = text.split('\n');
  const final = lines.slice(lines.map((line) => /^FROM\s/.test(line)).lastIndexOf(true));
  const env: Record<string, string> = {};
  for (const line of final.filter((l) => /^ENV\s/.test(l))) {
    for (const [, key, value] of line.slice(4).matchAll(/([A-Z0-9_]+)=("[^"]*"|\S+)/g)) env[key!] = value!.replace(/^"|"$/g, '');
  }
  const cmd = JSON.parse(final.find((l) => /^CMD\s/.test(l))!.slice(4)) as string[];
  // HEALTHCHECK … CMD in exec form (JSON) or shell form (run by /bin/sh -c).
  const check = /\sCMD\s+(.*?)\s*$/.exec(final.find((l) => /^HEALTHCHECK\s/.test(l))!)![1]!;
  const healthcheck = check.startsWith('[') ? (JSON.parse(check) as string[]) : ['/bin/sh', '-c', check];
  return { env, cmd, healthcheck };
}

const k8s = (file: string) => parseAllDocuments(readFileSync(root(`k8s/${file}`), 'utf8')).map((doc) => doc.toJS());
const resources = (parse(readFileSync(root('k8s/kustomization.yaml'), 'utf8')) as { resources: string[] }).resources.flatMap(k8s);
const configMap = resources.find((doc) => doc.kind === 'ConfigMap').data as Record<string, string>;
/** The example Secret, its CHANGE_ME placeholders filled in as an operator must (livecue refuses them). */
const secret = Object.fromEntries(
  Object.entries(k8s('secret.example.yaml')[0].stringData as Record<string, string>).map(([name, value]) => [
    name,
    value.replace(/CHANGE_ME\w*/g, `filled-in-${name.toLowerCase()}-0123456789abcdef`),
  ]),
);

/** Plausible values for what the kubelet fills in from the pod (downward API). */
const FIELD_VALUES: Record<string, (role: string) => string> = {
  'metadata.name': (role) => `livecue-${role}-5d8f7c9b4-${randomBase62(5).toLowerCase()}`,
  'status.podIP': () => '127.0.0.1',
  'status.hostIP': () => '127.0.0.1',
};

/** A Deployment's container env as the kubelet resolves it: field references and $(VAR) expansion, in order. */
function podEnv(role: string): Record<string, string> {
  const deployment = resources.find((doc) => doc.kind === 'Deployment' && doc.metadata.labels.role === role);
  const container = deployment.spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const entry of container.env as { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[]) {
    env[entry.name] = entry.valueFrom
      ? FIELD_VALUES[entry.valueFrom.fieldRef.fieldPath]!(role)
      : (entry.value ?? '').replace(/\$\(([A-Z0-9_]+)\)/g, (whole, name: string) => env[name] ?? whole);
  }
  return env;
}

/**
 * What differs between a pod and a process on this shared machine: each pod has its own network
 * namespace and volume (here: ports 0 and a fresh data dir), the image's worker binary sits in
 * /usr/local/bin (here: the one built locally), and the Secret's services are the test ones.
 */
function machineOverrides(dataDir: string): Record<string, string> {
  return { PORT: '0', RTMP_PORT: '0', LIVECUE_DATA_DIR: dataDir, MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN ?? cachedWorkerBinary() };
}

async function probe(base: string, url: string): Promise<{ status: number; body: Record<string, string> }> {
  const response = await fetch(`${base}${url}`);
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

const errorLines = (lines: string[]) => lines.filter((line) => /"level":(50|60)/.test(line));

let database: { url: string; drop(): Promise<void> };
let s3: TestS3;
let scratch: string;
const started: LivecueProcess[] = [];

beforeAll(async () => {
  // The image runs the compiled server (its CMD), built from the current sources.
  await buildServer();
  [database, s3, scratch] = await Promise.all([createTestDatabase(), TestS3.start(configMap.S3_BUCKET), mkdtemp(path.join(tmpdir(), 'livecue-shipped-'))]);
});

afterAll(async () => {
  await Promise.all(started.map((node) => node.stop()));
  await Promise.all([database?.drop(), s3?.stop(), scratch && rm(scratch, { recursive: true, force: true })]);
});

describe('the image as shipped', () => {
  it('starts with the Dockerfile ENV alone (embedded defaults), passes its HEALTHCHECK and stops cleanly', async () => {
    const image = dockerImage();
    expect(image.cmd[0]).toBe('node');
    const dataDir = await mkdtemp(path.join(scratch, 'image-'));
    const node = await startLivecueProcess({ ...image.env, ...machineOverrides(dataDir) }, { exactEnv: true, dataDir, command: image.cmd });
    started.push(node);
    const port = new URL(node.baseUrl).port;
    expect(await probe(node.baseUrl, '/livez')).toMatchObject({ status: 200 });
    expect(await probe(node.baseUrl, '/healthz')).toMatchObject({ status: 200, body: { status: 'ok', redis: 'ok' } });
    expect(await probe(node.baseUrl, '/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
    // Docker runs the HEALTHCHECK command inside the container, with the container's environment.
    const [command, ...args] = image.healthcheck;
    const nodeDir = path.dirname(process.execPath);
    await expect(run(command!, args, { env: { PATH: `${nodeDir}:${process.env.PATH}`, PORT: port } })).resolves.toBeDefined();
    await node.stop();
    expect(await node.exited).toBe(0);
    expect(errorLines(node.logLines)).toEqual([]);
  });
});

describe('the Kubernetes Deployments', () => {
  for (const role of ['ingest', 'sfu', 'api', 'worker']) {
    it(`start the ${role} role with its ConfigMap, Secret and pod env, answer the probes, and stop on SIGTERM with exit 0`, async () => {
      const dataDir = await mkdtemp(path.join(scratch, `${role}-`));
      const env: Record<string, string> = {
        ...dockerImage().env,
        ...configMap,
        ...secret,
        // The Secret's services are this machine's (a fresh database, a key prefix of this run, the S3 server).
        DATABASE_URL: database.url,
        REDIS_URL: TEST_REDIS_URL,
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
        S3_ENDPOINT: s3.endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        REDIS_KEY_PREFIX: `lctest-${randomBase62(8)}`,
        ...podEnv(role),
        ...machineOverrides(dataDir),
      };
      expect(env.ROLE).toBe(role);
      const node = await startLivecueProcess(env, { exactEnv: true, dataDir, command: dockerImage().cmd });
      started.push(node);
      const deployment = resources.find((doc) => doc.kind === 'Deployment' && doc.metadata.labels.role === role);
      const container = deployment.spec.template.spec.containers[0];
      // The probes the manifest declares, on the paths it declares them.
      expect(await probe(node.baseUrl, container.livenessProbe.httpGet.path)).toMatchObject({ status: 200 });
      expect(await probe(node.baseUrl, container.readinessProbe.httpGet.path)).toMatchObject({ status: 200 });
      expect(await probe(node.baseUrl, '/healthz')).toMatchObject({ status: 200, body: { redis: 'ok' } });
      expect(await probe(node.baseUrl, '/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
      await node.stop();
      expect(await node.exited).toBe(0);
      expect(errorLines(node.logLines)).toEqual([]);
    });
  }
});

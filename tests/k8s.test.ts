// The Kubernetes manifests: parsed and checked for what an operator relies on (one Deployment per
// role, probes that fail while a pod drains, drain time, resources, WebRTC and node-to-node
// addressing, disruption budgets, autoscaling on the right signals), and every setting they pass is a
// real option with a valid value.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse } from 'yaml';
import { parseConfig } from '../src/config/load.ts';
import { DEFAULT_REDIS_KEY_PREFIX } from '../src/config/schema.ts';

const read = (file: string) => readFileSync(new URL(`../k8s/${file}`, import.meta.url), 'utf8');
const documents = (file: string) => parseAllDocuments(read(file)).map((doc) => doc.toJS());
const files = (parse(read('kustomization.yaml')) as { resources: string[] }).resources;
const all = [...files.flatMap(documents), ...documents('secret.example.yaml')];
const byKind = (kind: string) => all.filter((doc) => doc.kind === kind);
const deployment = (role: string) => byKind('Deployment').find((doc) => doc.metadata.labels.role === role);
const envOf = (container: { env: { name: string; value?: string }[] }) => Object.fromEntries(container.env.map((entry) => [entry.name, entry.value]));

describe('k8s manifests', () => {
  it('run one Deployment per role from the same image', () => {
    for (const role of ['ingest', 'sfu', 'api', 'worker']) {
      const pod = deployment(role).spec.template.spec;
      const container = pod.containers[0];
      expect(envOf(container).ROLE).toBe(role);
      expect(container.image).toBe('livecue:latest');
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(container.resources.requests.cpu).toBeDefined();
      expect(container.resources.limits.memory).toBeDefined();
      expect(container.envFrom.map((source: Record<string, { name: string }>) => Object.values(source)[0]!.name)).toEqual([
        'livecue-config',
        'livecue-secrets',
      ]);
    }
  });

  it('give serving pods readiness that fails while draining, and time to drain', () => {
    const drainSeconds = Number(byKind('ConfigMap')[0].data.DRAIN_SECONDS);
    for (const role of ['ingest', 'sfu', 'api']) {
      const pod = deployment(role).spec.template.spec;
      const container = pod.containers[0];
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      // Liveness must not depend on Redis: a Redis restart would otherwise restart every pod.
      expect(container.livenessProbe.httpGet.path).toBe('/livez');
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(drainSeconds);
      const budget = byKind('PodDisruptionBudget').find((doc) => doc.spec.selector.matchLabels.role === role);
      expect(budget.spec.maxUnavailable).toBe(1);
    }
  });

  it('address WebRTC and node-to-node traffic from the pod', () => {
    for (const role of ['ingest', 'sfu']) {
      const pod = deployment(role).spec.template.spec;
      expect(pod.hostNetwork).toBe(true);
      const env = envOf(pod.containers[0]);
      expect(env.WEBRTC_LISTEN_IP).toBe('$(POD_IP)');
      expect(env.PIPE_LISTEN_IP).toBe('$(POD_IP)');
      expect(env.INTERNAL_URL).toBe('http://$(POD_IP):8080');
      expect(pod.containers[0].env.find((entry: { name: string }) => entry.name === 'WEBRTC_ANNOUNCED_ADDRESS').valueFrom.fieldRef.fieldPath).toBe(
        'status.hostIP',
      );
    }
    const rtmp = byKind('Service').find((service) => service.metadata.name === 'livecue-rtmp');
    expect(rtmp.spec.selector.role).toBe('ingest');
    expect(rtmp.spec.ports[0]).toMatchObject({ port: 1935, protocol: 'TCP' });
  });

  it('route public paths from outside to the role serving them, and never /internal, /metrics or the probes', () => {
    type IngressPath = { path: string; pathType: 'Prefix' | 'Exact'; backend: { service: { name: string } } };
    const paths = byKind('Ingress')[0].spec.rules[0].http.paths as IngressPath[];
    // Kubernetes' matching: Exact is the whole path; Prefix matches whole path elements; the longest wins.
    const route = (url: string) =>
      paths
        .filter(({ path, pathType }) => (pathType === 'Exact' ? url === path : path === '/' || url === path || url.startsWith(`${path.replace(/\/$/, '')}/`)))
        .sort((a, b) => b.path.length - a.path.length)[0]?.backend.service.name;
    expect(route('/whep/abcdefgh12')).toBe('livecue-sfu-http');
    expect(route('/whip/str_abc')).toBe('livecue-ingest-http');
    for (const url of [
      '/v1/streams',
      '/v1/offers/cue_1/claims',
      '/hls/abcdefgh12/master.m3u8',
      '/live/abcdefgh12/events',
      '/watch/abcdefgh12',
      '/console',
      '/assets/watch-1.js',
      '/openapi.json',
    ]) {
      expect(route(url), url).toBe('livecue-api-http');
    }
    for (const url of ['/internal/v1/relays', '/internal', '/metrics', '/healthz', '/livez', '/readyz', '/healthz/ready', '/v1x']) {
      expect(route(url), url).toBeUndefined();
    }
  });

  it('scale workers on the recording queue and sfu pods on viewers', () => {
    const scaled = byKind('ScaledObject')[0];
    expect(scaled.spec.scaleTargetRef.name).toBe('livecue-worker');
    // The list BullMQ keeps waiting recordings in, under livecue's default key prefix.
    expect(scaled.spec.triggers[0].metadata.listName).toBe(`${DEFAULT_REDIS_KEY_PREFIX}:bull:recordings:wait`);
    const sfu = byKind('HorizontalPodAutoscaler').find((doc) => doc.metadata.name === 'livecue-sfu');
    expect(sfu.spec.metrics.map((metric: { pods?: { metric: { name: string } } }) => metric.pods?.metric.name)).toContain('livecue_whep_viewers');
  });

  it('pass only options livecue knows, with valid values', () => {
    const configMap = byKind('ConfigMap')[0].data as Record<string, string>;
    const example = byKind('Secret')[0].stringData as Record<string, string>;
    // The example's placeholders are refused by livecue (a deployment must set real secrets): filled in here.
    expect(() => parseConfig({ ...configMap, ...example, ROLE: 'api' })).toThrow(/example placeholder/);
    const secret = Object.fromEntries(
      Object.entries(example).map(([name, value]) => [name, value.replace(/CHANGE_ME\w*/g, `filled-in-${name.toLowerCase()}-0123456789abcdef`)]),
    );
    for (const role of ['ingest', 'sfu', 'api', 'worker']) {
      const env = Object.fromEntries(
        Object.entries(envOf(deployment(role).spec.template.spec.containers[0]))
          .filter(([name]) => name !== 'POD_IP' && name !== 'REDIS_ADDRESS')
          .map(([name, value]) => [name, (value ?? '10.0.0.5').replace('$(POD_IP)', '10.0.0.5')]),
      );
      const config = parseConfig({ ...configMap, ...secret, ...env, NODE_ID: 'pod-0', WEBRTC_ANNOUNCED_ADDRESS: '203.0.113.5' });
      expect(config.ROLE).toBe(role);
      expect(config.S3_BUCKET).toBe('livecue-media');
      expect(config.DATABASE_URL).toMatch(/^postgres:\/\//);
    }
    // Behind the Ingress the client is the address it forwards: rate limits and caps key on it.
    expect(configMap.TRUST_PROXY).toBe('1');
  });
});

// The Kubernetes manifests: parsed and checked for what an operator relies on (probes, drain,
// resources, WebRTC addressing, a disruption budget), and every setting they pass is a real option.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../src/config/load.ts';

const documents = (file: string) => parseAllDocuments(readFileSync(new URL(`../k8s/${file}`, import.meta.url), 'utf8')).map((doc) => doc.toJS());

describe('k8s manifests', () => {
  const all = [...documents('livecue.yaml'), ...documents('secret.example.yaml')];
  const byKind = (kind: string) => all.filter((doc) => doc.kind === kind);

  it('run livecue with probes, drain time, resources and WebRTC addressing', () => {
    const [deployment] = byKind('Deployment');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(container.readinessProbe.httpGet.path).toBe('/healthz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
    expect(container.resources.requests.cpu).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const env = Object.fromEntries(container.env.map((entry: { name: string; valueFrom?: unknown }) => [entry.name, entry.valueFrom]));
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['NODE_ID', 'WEBRTC_LISTEN_IP', 'WEBRTC_ANNOUNCED_ADDRESS']));
    expect(container.envFrom.map((source: Record<string, { name: string }>) => Object.values(source)[0]!.name)).toEqual(['livecue-config', 'livecue-secrets']);
    expect(byKind('PodDisruptionBudget')[0].spec.maxUnavailable).toBe(1);
    const rtmp = byKind('Service').find((service) => service.metadata.name === 'livecue-rtmp');
    expect(rtmp.spec.ports[0]).toMatchObject({ port: 1935, protocol: 'TCP' });
  });

  it('pass only options livecue knows, with valid values', () => {
    const configMap = byKind('ConfigMap')[0].data as Record<string, string>;
    const secret = byKind('Secret')[0].stringData as Record<string, string>;
    const config = parseConfig({ ...configMap, ...secret, WEBRTC_LISTEN_IP: '10.0.0.5', WEBRTC_ANNOUNCED_ADDRESS: '203.0.113.5', NODE_ID: 'pod-0' });
    expect(config.S3_BUCKET).toBe('livecue-media');
    expect(config.DATABASE_URL).toMatch(/^postgres:\/\//);
  });
});

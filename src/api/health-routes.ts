// Probes and metrics: liveness, health, readiness (Kubernetes) and Prometheus.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { Metrics } from '../metrics/metrics.ts';
import { isPublicAddress } from '../security/destinations.ts';
import { bearerToken } from './admin-auth.ts';
import { sendProblem } from './problem.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

export function healthRouter(deps: {
  health: () => Promise<{ ok: boolean; checks: Record<string, string> }>;
  /** True once the node drains: readiness fails. */
  draining: () => boolean;
  metrics: Metrics;
  /** When set, /metrics needs it (or the admin token) as a bearer token. */
  metricsToken?: string;
  adminToken: string;
}): Router {
  const router = Router();
  // Liveness: the process answers. Never tied to Redis or the database, so an outage of either does
  // not make Kubernetes restart every pod (and cut every live show); readiness reports those.
  router.get('/livez', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  });
  router.get('/healthz', async (_req, res) => {
    const health = await deps.health();
    res.status(health.ok ? 200 : 503).json({ status: health.ok ? 'ok' : 'degraded', ...health.checks });
  });
  // Readiness: a draining node leaves its Service's endpoints, so new viewers and encoders go elsewhere.
  router.get(['/healthz/ready', '/readyz'], async (_req, res) => {
    const health = await deps.health();
    const ready = health.ok && !deps.draining();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : deps.draining() ? 'draining' : 'degraded', ...health.checks });
  });
  // Metrics name shows, offers and load: with METRICS_TOKEN they need it (or the admin token); without, only a
  // scraper on this machine or the private network gets them, never a client that came through a proxy.
  const metricsTokens = [deps.metricsToken, deps.adminToken].filter((token): token is string => Boolean(token)).map(sha256);
  router.get('/metrics', async (req, res) => {
    const presented = bearerToken(req.headers.authorization);
    const byToken = presented !== undefined && metricsTokens.some((digest) => timingSafeEqual(digest, sha256(presented)));
    const peer = req.socket.remoteAddress ?? '';
    const internal = !deps.metricsToken && !isPublicAddress(peer) && !req.headers['x-forwarded-for'] && !req.headers.forwarded;
    if (!byToken && !internal) {
      return sendProblem(
        res,
        401,
        deps.metricsToken
          ? 'send the metrics token as Authorization: Bearer <token>'
          : 'metrics are served to local and private-network scrapers only (set METRICS_TOKEN to scrape from elsewhere)',
        { code: 'unauthorized' },
      );
    }
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return router;
}

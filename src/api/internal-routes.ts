// Node-to-node endpoints under /internal/v1, open only to holders of the cluster token: an edge node
// asks a show's origin node for a media relay, renews it while its viewers watch, and closes it; any
// node reads the live session of a show this node holds.
import express, { Router } from 'express';
import { requireClusterToken } from '../cluster/cluster-auth.ts';
import { badRequest, notFound } from '../errors.ts';
import type { SessionRegistry } from '../live/session-registry.ts';
import { relayRequest, type RelayOrigins } from '../sfu/pipe-relay.ts';
import { sessionView } from './session-view.ts';

export function internalRouter(deps: { clusterToken: string; origins?: RelayOrigins; registry: SessionRegistry; nodeId: string }): Router {
  const router = Router();
  router.use(requireClusterToken(deps.clusterToken), express.json({ limit: '8kb', strict: true }));
  const origins = () => {
    if (!deps.origins) throw notFound('media relays on this node');
    return deps.origins;
  };
  // The session of a show this node holds, for the API of the other nodes (the console on any api node).
  router.get('/streams/:streamId/session', (req, res) => {
    const session = deps.registry.get(String(req.params.streamId));
    if (!session) throw notFound('live session on this node');
    res.json(sessionView(session, deps.nodeId));
  });
  router.post('/relays', async (req, res) => {
    const parsed = relayRequest.safeParse(req.body);
    if (!parsed.success)
      throw badRequest(`invalid relay request: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
    res.status(201).json(await origins().open(parsed.data));
  });
  router.post('/relays/:relayId/renew', (req, res) => {
    if (!origins().renew(String(req.params.relayId))) throw notFound('relay');
    res.status(204).end();
  });
  router.delete('/relays/:relayId', (req, res) => {
    if (!origins().close(String(req.params.relayId))) throw notFound('relay');
    res.status(204).end();
  });
  return router;
}

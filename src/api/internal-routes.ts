// Node-to-node endpoints under /internal/v1, open only to holders of the cluster token: an edge node
// asks a show's origin node for a media relay, renews it while its viewers watch, and closes it.
import express, { Router } from 'express';
import { requireClusterToken } from '../cluster/cluster-auth.ts';
import { badRequest, notFound } from '../errors.ts';
import { relayRequest, type RelayOrigins } from '../sfu/pipe-relay.ts';

export function internalRouter(deps: { clusterToken: string; origins?: RelayOrigins }): Router {
  const router = Router();
  router.use(requireClusterToken(deps.clusterToken), express.json({ limit: '8kb', strict: true }));
  const origins = () => {
    if (!deps.origins) throw notFound('media relays on this node');
    return deps.origins;
  };
  router.post('/relays', async (req, res) => {
    const parsed = relayRequest.safeParse(req.body);
    if (!parsed.success) throw badRequest(`invalid relay request: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
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

// /v1/tokens (admin token only): scoped API tokens for the operator's systems.
import { Router } from 'express';
import { LivecueError, notFound } from '../errors.ts';
import { tokenView, type ApiTokenStore } from '../security/api-tokens.ts';
import { createTokenBody } from '../contract/tokens.ts';

export function tokensRouter(tokens: ApiTokenStore): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    if (!req.is('application/json')) throw new LivecueError('unsupported_media_type', 'send the body as application/json');
    const body = createTokenBody.parse(req.body ?? {});
    const { row, token } = await tokens.create(body.name, body.scopes);
    // The token is shown once; only its hash is kept.
    res.status(201).json({ ...tokenView(row), token });
  });
  router.get('/', async (_req, res) => {
    res.json({ tokens: (await tokens.list()).map(tokenView) });
  });
  router.delete('/:id', async (req, res) => {
    if (!(await tokens.revoke(String(req.params.id)))) throw notFound(`token ${req.params.id}`);
    res.status(204).end();
  });
  return router;
}

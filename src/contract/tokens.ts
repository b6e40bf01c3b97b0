// Scoped API tokens for the operator's systems (admin token only).
import { z } from 'zod';
import { instant } from './ids.ts';
import { API_PROBLEMS, type Operation } from './operation.ts';

export const SCOPES = ['read', 'write', 'cues'] as const;
export type Scope = (typeof SCOPES)[number];

export const createTokenBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(SCOPES)).min(1),
});

export const tokenView = z.object({ id: z.string(), name: z.string(), scopes: z.array(z.enum(SCOPES)), createdAt: instant, revokedAt: instant.nullable() });
export const createdToken = tokenView.extend({ token: z.string().describe('Shown once; only its hash is kept') });
export const tokenList = z.object({ tokens: z.array(tokenView) });

export const tokenOperations: Operation[] = [
  {
    method: 'post',
    path: '/v1/tokens',
    summary: 'Create a scoped API token (admin token only; shown once)',
    access: 'admin',
    body: createTokenBody,
    answers: { 201: { description: 'Created', schema: createdToken } },
    problems: [...API_PROBLEMS, 400, 413, 415],
  },
  {
    method: 'get',
    path: '/v1/tokens',
    summary: 'List API tokens',
    access: 'admin',
    answers: { 200: { description: 'Tokens', schema: tokenList } },
    problems: API_PROBLEMS,
  },
  {
    method: 'delete',
    path: '/v1/tokens/{id}',
    summary: 'Revoke an API token',
    access: 'admin',
    answers: { 204: { description: 'Revoked' } },
    problems: [...API_PROBLEMS, 404],
  },
];

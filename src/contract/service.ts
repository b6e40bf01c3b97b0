// What a node answers about itself (health, metrics, this document) and the pages it serves.
import { z } from 'zod';
import { playbackId } from './ids.ts';
import type { Operation } from './operation.ts';

export const health = z.looseObject({ status: z.enum(['ok', 'degraded', 'ready', 'draining']) }).describe('status, and one entry per dependency checked');

const html = { contentType: 'text/html', description: 'The page' };
const healthAnswers = (ok: string, unavailable: string) => ({ 200: { description: ok, schema: health }, 503: { description: unavailable, schema: health } });

export const serviceOperations: Operation[] = [
  {
    method: 'get',
    path: '/livez',
    summary: 'Liveness: the process answers (never tied to Redis or the database)',
    access: 'public',
    answers: { 200: { description: 'Alive', schema: health } },
    problems: [],
  },
  {
    method: 'get',
    path: '/healthz',
    summary: 'Health: Redis and the database',
    access: 'public',
    answers: healthAnswers('OK', 'Redis or the database unreachable'),
    problems: [],
  },
  {
    method: 'get',
    path: '/healthz/ready',
    summary: 'Readiness: 503 while the node drains (SIGTERM) or Redis is unreachable',
    access: 'public',
    answers: healthAnswers('Ready', 'Draining or degraded'),
    problems: [],
  },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness (the same as /healthz/ready)',
    access: 'public',
    answers: healthAnswers('Ready', 'Draining or degraded'),
    problems: [],
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (METRICS_TOKEN, or local and private-network scrapers only)',
    access: 'public',
    answers: { 200: { description: 'Metrics', raw: { contentType: 'text/plain', description: 'Prometheus text format' } } },
    problems: [401],
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    access: 'public',
    answers: { 200: { description: 'OpenAPI 3.1', schema: z.looseObject({ openapi: z.string() }) } },
    problems: [],
  },
  {
    method: 'get',
    path: '/watch/{playbackId}',
    summary: 'The viewer page',
    access: 'public',
    params: { playbackId },
    answers: { 200: { description: 'HTML', raw: html }, 503: { description: 'Pages not built', raw: html } },
    problems: [404],
  },
  {
    method: 'get',
    path: '/console',
    summary: 'The host console',
    access: 'public',
    answers: { 200: { description: 'HTML', raw: html }, 503: { description: 'Pages not built', raw: html } },
    problems: [],
  },
];

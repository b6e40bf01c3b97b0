// Errors as application/problem+json (RFC 9457): one handler for the whole API.
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { LivecueError } from '../errors.ts';
import type { Logger } from '../log.ts';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The problem+json document for a status; `extra` carries the stable `code` and any details. */
export function problemBody(status: number, detail: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail, ...extra };
}

export function sendProblem(res: Response, status: number, detail: string, extra: Record<string, unknown> = {}): void {
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify(problemBody(status, detail, extra)));
}

/** What a client is told about an error it caused (4xx) or that is ours to retry (503); undefined for a bug. */
export function problemOf(error: unknown): { status: number; body: Record<string, unknown>; retryAfterMs?: number } | undefined {
  if (error instanceof LivecueError) {
    const retryAfterMs = typeof error.extra.retryAfterMs === 'number' ? error.extra.retryAfterMs : undefined;
    return { status: error.status, body: problemBody(error.status, error.message, { code: error.code, ...error.extra }), retryAfterMs };
  }
  if (error instanceof z.ZodError) {
    const detail = error.issues
      .map((issue) => {
        if (issue.code === 'unrecognized_keys') return `unknown field(s) ${issue.keys.join(', ')}`;
        return `${issue.path.join('.') || 'body'}: ${issue.message}`;
      })
      .join('; ');
    return { status: 400, body: problemBody(400, `invalid request: ${detail}`, { code: 'validation_failed' }) };
  }
  return undefined;
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, 404, `no route for ${req.method} ${req.path}`);
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const problem = problemOf(error);
    if (problem) {
      if (problem.retryAfterMs !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(problem.retryAfterMs / 1000))));
      res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem.body));
      return;
    }
    const httpError = error as { type?: string; status?: number; statusCode?: number; message?: string; code?: unknown };
    // PostgreSQL's data exceptions (class 22: a NUL in text, a number out of range, …) come from what the client sent.
    if (typeof httpError.code === 'string' && /^22[0-9A-Z]{3}$/.test(httpError.code) && (error as { severity?: unknown }).severity !== undefined) {
      return sendProblem(res, 400, 'a value in the request cannot be stored (control characters, or a number out of range)', { code: 'bad_request' });
    }
    if (httpError.type === 'entity.parse.failed') return sendProblem(res, 400, 'request body is not valid JSON', { code: 'bad_request' });
    if (httpError.type === 'entity.too.large') return sendProblem(res, 413, 'request body is too large', { code: 'payload_too_large' });
    const status = httpError.status ?? httpError.statusCode;
    if (status && status >= 400 && status < 500) return sendProblem(res, status, httpError.message ?? 'bad request');
    logger.error({ err: error, method: req.method, path: req.path }, 'unhandled API error');
    sendProblem(res, 500, 'internal error', { code: 'internal' });
  };
}

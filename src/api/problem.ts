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

export function sendProblem(res: Response, status: number, detail: string, extra: Record<string, unknown> = {}): void {
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail, ...extra }));
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
    if (error instanceof LivecueError) {
      const retryAfterMs = error.extra.retryAfterMs;
      if (typeof retryAfterMs === 'number') res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
      return sendProblem(res, error.status, error.message, { code: error.code, ...error.extra });
    }
    if (error instanceof z.ZodError) {
      const detail = error.issues
        .map((issue) => {
          if (issue.code === 'unrecognized_keys') return `unknown field(s) ${issue.keys.join(', ')}`;
          return `${issue.path.join('.') || 'body'}: ${issue.message}`;
        })
        .join('; ');
      return sendProblem(res, 400, `invalid request: ${detail}`, { code: 'validation_failed' });
    }
    const httpError = error as { type?: string; status?: number; statusCode?: number; message?: string };
    if (httpError.type === 'entity.parse.failed') return sendProblem(res, 400, 'request body is not valid JSON', { code: 'bad_request' });
    if (httpError.type === 'entity.too.large') return sendProblem(res, 413, 'request body is too large', { code: 'payload_too_large' });
    const status = httpError.status ?? httpError.statusCode;
    if (status && status >= 400 && status < 500) return sendProblem(res, status, httpError.message ?? 'bad request');
    logger.error({ err: error, method: req.method, path: req.path }, 'unhandled API error');
    sendProblem(res, 500, 'internal error', { code: 'internal' });
  };
}

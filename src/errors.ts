// Domain errors carry a stable code and an HTTP status; the API maps them to problem+json.

export type ErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'not_acceptable'
  | 'conflict'
  | 'precondition_failed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'precondition_required'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  conflict: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  precondition_required: 428,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

export class LivecueError extends Error {
  override name = 'LivecueError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

export const notFound = (what: string) => new LivecueError('not_found', `${what} not found`);
export const conflict = (message: string) => new LivecueError('conflict', message);
export const badRequest = (message: string) => new LivecueError('bad_request', message);

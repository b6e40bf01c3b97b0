// How an area of the contract lists its HTTP operations: what each takes and answers, for the OpenAPI
// document (src/api/openapi.ts) and the tests that hold the live API to it.
import type { z } from 'zod';

export type HttpMethod = 'get' | 'put' | 'post' | 'patch' | 'delete' | 'options';

/** Who may call an operation: an API token with this scope (the admin token has all), or anyone. */
export type Access = 'admin' | 'read' | 'write' | 'cues' | 'public';

/** A body that is not JSON: its media type, described in words. */
export interface RawBody {
  contentType: string;
  description: string;
}

export interface Answer {
  description: string;
  /** A JSON body; absent when the answer has none or is not JSON (see `raw`). */
  schema?: z.ZodType;
  raw?: RawBody;
}

export interface Operation {
  method: HttpMethod;
  /** OpenAPI path template, e.g. /v1/streams/{id}/cues. */
  path: string;
  summary: string;
  access: Access;
  /** Path parameters with a pattern; others are plain strings. */
  params?: Record<string, z.ZodType>;
  query?: z.ZodObject;
  /** Request headers the operation reads besides Authorization and Content-Type. */
  headers?: Record<string, z.ZodType>;
  body?: z.ZodType | RawBody;
  /** Successful answers by status. */
  answers: Record<number, Answer>;
  /** Statuses answered with problem+json. */
  problems: number[];
}

/** The refusals every authenticated /v1 operation can answer, on top of its own. */
export const API_PROBLEMS = [401, 403, 429];

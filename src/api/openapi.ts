// The OpenAPI 3.1 description of livecue's HTTP API, served at GET /openapi.json: generated from the
// contract (src/contract), so every operation's parameters, bodies and answers are the schemas the
// routes validate with.
import { z } from 'zod';
import { API_OPERATIONS, NAMED_SCHEMAS } from '../contract/operations.ts';
import type { Answer, Operation, RawBody } from '../contract/operation.ts';
import { problem, PROBLEM_CONTENT_TYPE } from '../contract/problem.ts';

type JsonSchema = Record<string, unknown>;

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };
const SCOPE_NOTE = {
  admin: 'The admin token only.',
  read: 'An API token with the read (or write) scope, or the admin token.',
  write: 'An API token with the write scope, or the admin token.',
  cues: 'An API token with the cues (or write) scope, or the admin token.',
} as const;

/** Requests are described as clients send them (defaults optional), answers as livecue writes them. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    // format: date-time says it; zod's 400-character pattern for it would repeat on every instant.
    override: ({ jsonSchema: described }) => {
      if (described.format === 'date-time') delete described.pattern;
    },
  }) as JsonSchema;
  return rest;
}

/** Named schemas become components/schemas entries, written once and referred to by $ref. */
class Components {
  readonly schemas: Record<string, JsonSchema> = { Problem: jsonSchema(problem, 'output') };
  readonly #names = new Map<z.ZodType, string>(Object.entries(NAMED_SCHEMAS).map(([name, schema]) => [schema, name]));

  of(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const name = this.#names.get(schema);
    if (name === undefined) return jsonSchema(schema, io);
    this.schemas[name] ??= jsonSchema(schema, io);
    return { $ref: `#/components/schemas/${name}` };
  }
}

const isRaw = (body: z.ZodType | RawBody): body is RawBody => 'contentType' in body && typeof body.contentType === 'string';

function parameters(operation: Operation): JsonSchema[] {
  const inPath = [...operation.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
  const path = inPath.map((name) => {
    const schema = operation.params?.[name];
    return { name, in: 'path', required: true, schema: schema ? jsonSchema(schema, 'input') : { type: 'string' } };
  });
  const named =
    (where: 'query' | 'header') =>
    ([name, schema]: [string, z.ZodType]) => {
      const described = jsonSchema(schema, 'input');
      return {
        name,
        in: where,
        required: !schema.safeParse(undefined).success,
        schema: described,
        ...(typeof described.description === 'string' && { description: described.description }),
      };
    };
  const query = Object.entries((operation.query?.shape ?? {}) as Record<string, z.ZodType>).map(named('query'));
  return [...path, ...query, ...Object.entries(operation.headers ?? {}).map(named('header'))];
}

function requestBody(body: Operation['body'], components: Components): JsonSchema | undefined {
  if (!body) return undefined;
  if (isRaw(body)) return { required: true, description: body.description, content: { [body.contentType]: { schema: { type: 'string' } } } };
  return { required: true, content: { 'application/json': { schema: components.of(body, 'input') } } };
}

function answer({ description, schema, raw }: Answer, components: Components): JsonSchema {
  if (schema) return { description, content: { 'application/json': { schema: components.of(schema, 'output') } } };
  if (raw) return { description, content: { [raw.contentType]: { schema: { type: 'string', description: raw.description } } } };
  return { description };
}

function responses(operation: Operation, components: Components): JsonSchema {
  const answers: JsonSchema = {};
  for (const [status, described] of Object.entries(operation.answers)) answers[status] = answer(described, components);
  for (const status of operation.problems) {
    answers[String(status)] ??= { description: `Refused (${PROBLEM_CONTENT_TYPE})`, content: { [PROBLEM_CONTENT_TYPE]: { schema: PROBLEM_REF } } };
  }
  return answers;
}

function operationObject(operation: Operation, components: Components): JsonSchema {
  const params = parameters(operation);
  const body = requestBody(operation.body, components);
  return {
    summary: operation.summary,
    ...(operation.access !== 'public' && { description: SCOPE_NOTE[operation.access], security: [{ bearerToken: [] }] }),
    ...(params.length > 0 && { parameters: params }),
    ...(body && { requestBody: body }),
    responses: responses(operation, components),
  };
}

/** Everything but the server URL, generated once when the module loads (about 20 ms): the endpoint is public. */
const DESCRIBED = (() => {
  const components = new Components();
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const operation of API_OPERATIONS) (paths[operation.path] ??= {})[operation.method] = operationObject(operation, components);
  return Object.freeze({
    info: {
      title: 'livecue',
      version: '0.1.0',
      description: 'Live-commerce media server: RTMP and WHIP ingest, adaptive HLS on object storage, WebRTC playback, commerce cues on the stream timeline.',
    },
    components: {
      securitySchemes: { bearerToken: { type: 'http', scheme: 'bearer', description: 'The admin token, or an API token (POST /v1/tokens)' } },
      schemas: components.schemas,
    },
    paths,
  });
})();

/** The document for the API as served from `serverUrl`. */
export function openApiDocument(serverUrl: string) {
  return { openapi: '3.1.0', info: DESCRIBED.info, servers: [{ url: serverUrl }], components: DESCRIBED.components, paths: DESCRIBED.paths };
}

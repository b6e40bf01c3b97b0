// The OpenAPI description of livecue's HTTP API, served at GET /openapi.json.
import { z } from 'zod';
import { createStreamBody } from './streams-routes.ts';

const problem = {
  description: 'An error (application/problem+json)',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
};
const auth = [{ adminToken: [] }];
const streamIdParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^str_[A-Za-z0-9]{16}$' } };

const stream = {
  type: 'object',
  required: ['id', 'title', 'status', 'playbackId', 'ingest', 'playback'],
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'string', enum: ['idle', 'live', 'ended'] },
    playbackId: { type: 'string', description: 'Public id of the playback URLs; reveals nothing about the key.' },
    createdAt: { type: 'string', format: 'date-time' },
    ingest: {
      type: 'object',
      properties: {
        rtmpUrl: { type: 'string', description: 'OBS "Server"; publish to rtmpUrl + "/" + streamKey.' },
        streamKey: { type: 'string', description: 'Only in the response of POST /v1/streams.' },
        whipUrl: { type: 'string' },
      },
    },
    playback: { type: 'object', properties: { hlsUrl: { type: 'string' }, whepUrl: { type: 'string' } } },
    session: {
      type: 'object',
      description: 'Present while the stream is live on the node that answers.',
      properties: {
        id: { type: 'string' },
        encoderConnected: { type: 'boolean' },
        reconnects: { type: 'integer' },
        playable: { type: 'boolean' },
        mediaSeconds: { type: 'number' },
        renditions: { type: 'array', items: { type: 'object' } },
      },
    },
  },
};

export function openApiDocument(serverUrl: string) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'livecue',
      version: '0.1.0',
      description: 'Live-commerce media server: RTMP ingest, adaptive HLS on object storage.',
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Stream: stream,
        CreateStream: z.toJSONSchema(createStreamBody),
        Problem: {
          type: 'object',
          properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, code: { type: 'string' } },
        },
      },
    },
    paths: {
      '/v1/streams': {
        post: {
          summary: 'Create a stream (returns its stream key, once)',
          security: auth,
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateStream' } } } },
          responses: { '201': { description: 'Created', content: { 'application/json': { schema: { $ref: '#/components/schemas/Stream' } } } }, '400': problem, '401': problem, '415': problem },
        },
        get: {
          summary: 'List streams',
          security: auth,
          responses: { '200': { description: 'Streams', content: { 'application/json': { schema: { type: 'object', properties: { streams: { type: 'array', items: { $ref: '#/components/schemas/Stream' } } } } } } }, '401': problem },
        },
      },
      '/v1/streams/{id}': {
        parameters: [streamIdParam],
        get: { summary: 'Read a stream (never its key)', security: auth, responses: { '200': { description: 'The stream', content: { 'application/json': { schema: { $ref: '#/components/schemas/Stream' } } } }, '401': problem, '404': problem } },
        delete: { summary: 'Delete a stream, ending its show and removing its media', security: auth, responses: { '204': { description: 'Deleted' }, '401': problem, '404': problem } },
      },
      '/v1/streams/{id}/rotate-key': {
        parameters: [streamIdParam],
        post: {
          summary: 'Issue a new stream key; the old one stops working at once',
          security: auth,
          responses: { '200': { description: 'The new key', content: { 'application/json': { schema: { type: 'object', properties: { streamKey: { type: 'string' } } } } } }, '401': problem, '404': problem },
        },
      },
      '/hls/{playbackId}/{path}': {
        get: {
          summary: 'HLS origin: master.m3u8, <rendition>/index.m3u8 and segments (CORS, byte ranges, cache headers)',
          parameters: [
            { name: 'playbackId', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'path', in: 'path', required: true, schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'The object' }, '206': { description: 'A byte range' }, '404': problem, '416': problem },
        },
      },
      '/healthz': { get: { summary: 'Liveness and readiness', responses: { '200': { description: 'OK' }, '503': { description: 'Not ready' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text/plain metrics' } } } },
    },
  };
}

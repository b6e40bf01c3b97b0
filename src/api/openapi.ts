// The OpenAPI description of livecue's HTTP API, served at GET /openapi.json.
import { z } from 'zod';
import { createStreamBody } from './streams-routes.ts';
import { createProductBody, updateProductBody } from '../products/product-store.ts';
import { cueBody } from '../cues/cue-schema.ts';

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
        rtmpsUrl: { type: 'string', description: 'The same over TLS (RTMPS); present when RTMPS_PORT is set.' },
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
        CreateProduct: z.toJSONSchema(createProductBody),
        UpdateProduct: z.toJSONSchema(updateProductBody),
        Cue: z.toJSONSchema(cueBody, { unrepresentable: 'any' }),
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
      '/v1/products': {
        post: { summary: 'Add a product to the catalogue', security: auth, requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateProduct' } } } }, responses: { '201': { description: 'Created' }, '400': problem, '409': problem } },
        get: { summary: 'List products', security: auth, responses: { '200': { description: 'Products' } } },
      },
      '/v1/products/{id}': {
        get: { summary: 'Read a product', security: auth, responses: { '200': { description: 'The product' }, '404': problem } },
        patch: { summary: 'Change a product', security: auth, requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/UpdateProduct' } } } }, responses: { '200': { description: 'Changed' }, '404': problem } },
        delete: { summary: 'Remove a product', security: auth, responses: { '204': { description: 'Removed' }, '404': problem } },
      },
      '/v1/streams/{id}/cues': {
        parameters: [streamIdParam],
        post: {
          summary: 'Place a commerce cue on the live timeline (Idempotency-Key honoured)',
          security: auth,
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Cue' } } } },
          responses: { '201': { description: 'Placed' }, '200': { description: 'Already placed (same idempotency key)' }, '400': problem, '409': problem, '413': problem, '429': problem },
        },
        get: { summary: "The cues of the stream's live (or last) show", security: auth, responses: { '200': { description: 'Cues' } } },
      },
      '/v1/streams/{id}/cues/state': { parameters: [streamIdParam], get: { summary: 'State a late joiner needs, now or at ?mediaTime=', security: auth, responses: { '200': { description: 'State' } } } },
      '/v1/streams/{id}/recordings': { parameters: [streamIdParam], get: { summary: "The stream's recordings", security: auth, responses: { '200': { description: 'Recordings' } } } },
      '/v1/recordings/{id}': {
        get: { summary: 'A recording: status, duration, playback URLs', security: auth, responses: { '200': { description: 'The recording' }, '404': problem } },
        delete: { summary: "Delete a recording and its show's media", security: auth, responses: { '204': { description: 'Deleted' }, '404': problem, '409': problem } },
      },
      '/v1/streams/{id}/playback-tokens': {
        parameters: [streamIdParam],
        post: { summary: 'A signed, expiring playback URL set (private streams)', security: auth, responses: { '201': { description: 'Token and URLs' }, '404': problem } },
      },
      '/v1/streams/{id}/restreams': {
        parameters: [streamIdParam],
        post: { summary: 'Send the show to another platform (RTMP/RTMPS URL and key; the key is stored sealed)', security: auth, responses: { '201': { description: 'Created' }, '400': problem, '409': problem } },
        get: { summary: 'Restream targets with their live status', security: auth, responses: { '200': { description: 'Targets' } } },
      },
      '/v1/streams/{id}/restreams/{restreamId}': {
        parameters: [streamIdParam, { name: 'restreamId', in: 'path', required: true, schema: { type: 'string' } }],
        get: { summary: 'A restream target', security: auth, responses: { '200': { description: 'Target' }, '404': problem } },
        patch: { summary: 'Enable, disable or change a target', security: auth, responses: { '200': { description: 'Changed' }, '404': problem } },
        delete: { summary: 'Remove a target (its FFmpeg stops)', security: auth, responses: { '204': { description: 'Removed' }, '404': problem } },
      },
      '/v1/tokens': {
        post: { summary: 'Create a scoped API token (admin token only; shown once)', security: auth, responses: { '201': { description: 'Created' }, '400': problem, '403': problem } },
        get: { summary: 'List API tokens', security: auth, responses: { '200': { description: 'Tokens' } } },
      },
      '/v1/tokens/{id}': { delete: { summary: 'Revoke an API token', security: auth, responses: { '204': { description: 'Revoked' }, '404': problem } } },
      '/live/{playbackId}/replay': { get: { summary: "Public: the stream's newest ready replay (URLs)", responses: { '200': { description: 'Replay' }, '403': problem, '404': problem } } },
      '/watch/{playbackId}': { get: { summary: 'The viewer page', responses: { '200': { description: 'HTML' } } } },
      '/console': { get: { summary: 'The host console', responses: { '200': { description: 'HTML' } } } },
      '/v1/offers/{id}': { get: { summary: 'An offer: quantity and remaining units', security: auth, responses: { '200': { description: 'Offer' }, '404': problem } } },
      '/v1/offers/{id}/claims': {
        post: {
          summary: 'A viewer claims one unit (Authorization: Bearer <viewer token>: one livecue issued, POST /live/viewers, or the shop\'s; Idempotency-Key honoured). The same claim can be sent on the viewers\' WebSocket as {"type":"claim","offerId","ref"}.',
          responses: {
            '201': { description: 'Reserved' },
            '200': { description: 'The viewer already holds a claim' },
            '400': problem,
            '401': problem,
            '404': problem,
            '409': problem,
            '413': problem,
            '429': problem,
            '503': { ...problem, description: 'Claims are paused for a moment (Redis unreachable); try again' },
          },
        },
      },
      '/v1/claims/{id}/confirm': { post: { summary: 'The shop confirms a reserved claim', security: auth, responses: { '200': { description: 'Confirmed' }, '404': problem, '409': problem } } },
      '/v1/claims/{id}/cancel': { post: { summary: 'Cancel a claim; its unit returns', security: auth, responses: { '200': { description: 'Cancelled' }, '404': problem, '409': problem } } },
      '/v1/streams/{id}/analytics': { parameters: [streamIdParam], get: { summary: 'Viewers by path and watch time, per-minute engagement, per pin and per product views while pinned, clicks, claims and conversion, offers, the show summary', security: auth, responses: { '200': { description: 'Analytics' }, '404': problem } } },
      '/v1/streams/{id}/mutes': { parameters: [streamIdParam], post: { summary: 'Mute a viewer in the chat', security: auth, responses: { '204': { description: 'Muted' } } } },
      '/v1/streams/{id}/chat/{messageId}': { parameters: [streamIdParam], delete: { summary: 'Delete a chat message for everyone', security: auth, responses: { '204': { description: 'Deleted' } } } },
      '/live/{playbackId}/beat': { post: { summary: 'Public: a player is still watching ({viewerId, path: hls|replay, leaving?}): viewer counts and watch time', responses: { '204': { description: 'Counted' }, '400': problem } } },
      '/live/{playbackId}/click': { post: { summary: 'Public: a viewer tapped the pinned product card ({viewerId, cueId | productId})', responses: { '204': { description: 'Counted' }, '400': problem, '404': problem } } },
      '/v1/webhooks': {
        post: { summary: 'Add a webhook endpoint (its signing secret is returned once)', security: auth, responses: { '201': { description: 'Created' }, '400': problem } },
        get: { summary: 'List webhook endpoints', security: auth, responses: { '200': { description: 'Endpoints' } } },
      },
      '/v1/webhooks/{id}': { delete: { summary: 'Remove a webhook endpoint', security: auth, responses: { '204': { description: 'Removed' }, '404': problem } } },
      '/whip/{streamId}': {
        post: {
          summary: 'WHIP ingest (RFC 9725): SDP offer in, 201 + answer + Location; Authorization: Bearer <streamKey>',
          requestBody: { required: true, content: { 'application/sdp': { schema: { type: 'string' } } } },
          responses: { '201': { description: 'The SDP answer' }, '400': problem, '401': problem, '406': problem, '409': problem, '413': problem, '415': problem },
        },
      },
      '/whip/{streamId}/sessions/{sessionId}': { patch: { summary: 'Trickle ICE candidates (204) or an ICE restart (200, our new credentials; RFC 9725 4.3)', responses: { '200': { description: 'ICE restarted: application/trickle-ice-sdpfrag, new ETag' }, '204': { description: 'Candidates taken' }, '404': problem, '412': problem, '428': problem } }, delete: { summary: 'End a WHIP session', responses: { '200': { description: 'Ended' }, '404': problem } } },
      '/whep/{playbackId}': {
        post: {
          summary: 'WHEP playback: recvonly SDP offer in, 201 + answer + Location (Link names the cue data channel)',
          requestBody: { required: true, content: { 'application/sdp': { schema: { type: 'string' } } } },
          responses: { '201': { description: 'The SDP answer' }, '400': problem, '404': problem, '406': problem, '413': problem, '415': problem },
        },
      },
      '/whep/{playbackId}/sessions/{sessionId}': { patch: { summary: 'Trickle ICE candidates (204) or an ICE restart (200, our new credentials; RFC 9725 4.3)', responses: { '200': { description: 'ICE restarted: application/trickle-ice-sdpfrag, new ETag' }, '204': { description: 'Candidates taken' }, '404': problem, '412': problem, '428': problem } }, delete: { summary: 'Leave', responses: { '200': { description: 'Left' }, '404': problem } } },
      '/live/viewers': { post: { summary: 'Public: a new anonymous viewer: {viewerId, viewerToken, expiresAt}; the token is what chat, votes and claims take', responses: { '201': { description: 'Issued' }, '409': problem, '429': problem } } },
      '/live/{playbackId}/cues': { get: { summary: "Public: the show's cue track", responses: { '200': { description: 'Cues' }, '404': problem } } },
      '/live/{playbackId}/cues/state': { get: { summary: 'Public: the late joiner state, now or at ?mediaTime=', responses: { '200': { description: 'State' }, '404': problem } } },
      '/live/{playbackId}/products/{productId}': { get: { summary: 'Public: a product card', responses: { '200': { description: 'Product' }, '404': problem } } },
      '/live/{playbackId}/events': { get: { summary: 'WebSocket: state, then every cue as {"type":"cue","cue":…}', responses: { '101': { description: 'Switching protocols' } } } },
      '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'OK' }, '503': { description: 'Redis unreachable' } } } },
      '/healthz/ready': { get: { summary: 'Readiness: 503 while the node drains (SIGTERM) or Redis is unreachable', responses: { '200': { description: 'Ready' }, '503': { description: 'Draining or degraded' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text/plain metrics' } } } },
    },
  };
}

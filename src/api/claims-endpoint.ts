// Where viewers claim offer units, over HTTP (POST /v1/offers/:id/claims) or over the socket they
// already hold (`{"type":"claim"}` on /live/<playbackId>/events): one answer for both. In a flash
// sale thousands of viewers claim within seconds, so the HTTP endpoint is served by Node's own
// server ahead of Express: Express's middleware chain cost more CPU per claim than the claim itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type z } from 'zod';
import { LivecueError, notFound } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { claimView, type OfferService } from '../offers/offer-service.ts';
import type { Viewer, ViewerIdentity } from '../offers/viewer-identity.ts';
import { RateLimiter } from '../rate-limit.ts';
import { bearerToken } from './admin-auth.ts';
import { problemBody, problemOf } from './problem.ts';
import { clientAddress } from './client-address.ts';
import { claimBody } from '../contract/offers.ts';
import type { ProxyTrust } from '../config/trust-proxy.ts';

/** The claims counter's outcomes (livecue_claims_total{outcome}): a small fixed set. */
const CLAIM_OUTCOMES = ['reserved', 'repeated', 'sold_out', 'offer_ended', 'refused', 'error'] as const;

const CLAIM_PATH = /^\/v1\/offers\/([^/?]*)\/claims\/?(?:\?.*)?$/;
const OFFER_ID = /^cue_[A-Za-z0-9]{16}$/;
/** A claim body is two short fields. */
const MAX_BODY_BYTES = 1024;

export interface ClaimAnswer {
  status: number;
  body: Record<string, unknown>;
  retryAfterMs?: number;
}

export class ClaimsEndpoint {
  readonly #limiter: RateLimiter;

  constructor(
    private readonly deps: {
      offers: OfferService;
      /** Proves who a viewer is (its token: the shop's, or one livecue issued). */
      identity: ViewerIdentity;
      metrics?: Metrics;
      logger: Logger;
      /** Which proxies' X-Forwarded-For names the client (TRUST_PROXY). */
      trust: ProxyTrust;
      /** Claims per second per client address over HTTP (the API's limit). */
      perSecond: number;
    },
  ) {
    this.#limiter = new RateLimiter(deps.perSecond, deps.perSecond * 2);
    for (const outcome of CLAIM_OUTCOMES) deps.metrics?.claims.inc({ outcome }, 0);
  }

  /** Reserves a unit of the offer for the viewer: 201 with the claim, 200 with the viewer's earlier one, else a problem. */
  async place(offerId: string, viewer: Viewer | undefined, idempotencyKey: string | undefined): Promise<ClaimAnswer> {
    let answer: ClaimAnswer;
    try {
      if (!viewer) {
        throw new LivecueError(
          'unauthorized',
          this.deps.identity.shopSigned
            ? 'send the viewer token from the shop as Authorization: Bearer <token>'
            : 'send a viewer token as Authorization: Bearer <token> (get one with POST /live/viewers)',
        );
      }
      if (!OFFER_ID.test(offerId)) throw notFound(`offer ${offerId.slice(0, 40)}`);
      const { claim, offer, created } = await this.deps.offers.claim(offerId, viewer, idempotencyKey);
      this.deps.metrics?.claims.inc({ outcome: created ? 'reserved' : 'repeated' });
      return { status: created ? 201 : 200, body: { ...claimView(claim), remaining: offer.remaining, productId: offer.productId } };
    } catch (error) {
      const problem = problemOf(error);
      if (!problem) this.deps.logger.error({ err: error, offerId }, 'claim failed');
      answer = problem ?? { status: 500, body: problemBody(500, 'internal error', { code: 'internal' }) };
    }
    const reason = answer.body.reason;
    this.deps.metrics?.claims.inc({ outcome: reason === 'sold_out' || reason === 'offer_ended' ? reason : answer.status < 500 ? 'refused' : 'error' });
    return answer;
  }

  /** Serves POST /v1/offers/:id/claims and returns true, or returns false for any other request. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST') return false;
    const match = CLAIM_PATH.exec(req.url ?? '');
    if (!match) return false;
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const waitMs = this.#limiter.take(clientAddress(req, this.deps.trust));
    if (waitMs > 0) {
      send(res, {
        status: 429,
        body: problemBody(429, 'too many claim requests from this address; slow down', { code: 'rate_limited' }),
        retryAfterMs: waitMs,
      });
      req.resume();
      return true;
    }
    let offerId: string;
    try {
      offerId = decodeURIComponent(match[1] ?? '');
    } catch {
      send(res, { status: 400, body: problemBody(400, 'the offer id in the path is not valid percent-encoding', { code: 'bad_request' }) });
      req.resume();
      return true;
    }
    this.#read(req)
      .then(
        async (text) => send(res, await this.#fromRequest(req, offerId, text)),
        (error: ClaimAnswer) => {
          send(res, error);
          // The rest of an oversized body is not worth reading: the connection ends with the answer.
          if (error.status === 413) res.once('finish', () => req.destroy());
        },
      )
      .catch((error: unknown) => {
        this.deps.logger.error({ err: error }, 'claim request failed');
        send(res, { status: 500, body: problemBody(500, 'internal error', { code: 'internal' }) });
      });
    return true;
  }

  async #fromRequest(req: IncomingMessage, offerId: string, text: string): Promise<ClaimAnswer> {
    let body: z.infer<typeof claimBody> = {};
    if (text.length > 0 && /\bjson\b/i.test(req.headers['content-type'] ?? '')) {
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        return { status: 400, body: problemBody(400, 'request body is not valid JSON', { code: 'bad_request' }) };
      }
      const parsed = claimBody.safeParse(data);
      if (!parsed.success) return problemOf(parsed.error)!;
      body = parsed.data;
    }
    const viewer = this.deps.identity.verify(bearerToken(req.headers.authorization));
    const header = req.headers['idempotency-key'];
    return this.place(offerId, viewer, body.idempotencyKey ?? (typeof header === 'string' ? header : undefined));
  }

  #read(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          req.removeAllListeners('data');
          req.pause();
          reject({ status: 413, body: problemBody(413, 'request body is too large', { code: 'payload_too_large' }) });
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks).toString()));
      req.on('error', () => reject({ status: 400, body: problemBody(400, 'the request was cut off', { code: 'bad_request' }) }));
    });
  }
}

function send(res: ServerResponse, answer: ClaimAnswer): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(answer.body);
  const headers: Record<string, string | number> = {
    'Content-Type': answer.status >= 400 ? 'application/problem+json; charset=utf-8' : 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  };
  if (answer.retryAfterMs !== undefined) headers['Retry-After'] = Math.max(1, Math.ceil(answer.retryAfterMs / 1000));
  res.writeHead(answer.status, headers);
  res.end(text);
}

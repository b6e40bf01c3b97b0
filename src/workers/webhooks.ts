// Webhooks: endpoints, signed deliveries, and the signature check receivers run.
// Signature header: `Livecue-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { desc, eq } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { webhookEndpoints } from '../db/schema.ts';
import { LivecueError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { DestinationPolicy } from '../security/destinations.ts';
import { randomBase62 } from '../streams/stream-keys.ts';
import { TurnBatch } from '../turn-batch.ts';
import { WEBHOOK_EVENTS, type Queues, type WebhookDelivery, type WebhookEvent } from './queues.ts';

export function signWebhook(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/** What a receiver does: recompute the HMAC, compare in constant time, refuse old timestamps (replays). */
export function verifyWebhookSignature(secret: string, header: string, body: string, toleranceSeconds = 300, now = Date.now()): boolean {
  const parts = Object.fromEntries(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const timestamp = Number(parts.t);
  if (!Number.isInteger(timestamp) || !parts.v1 || Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex'));
  const presented = Buffer.from(parts.v1);
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;

const MAX_DELIVERIES_PER_JOB = 100;
/** The deliveries of a turn go to Redis together, whatever their endpoint. */
const ALL = 'all';
/** How long a node reuses its list of endpoints when emitting; one created or deleted elsewhere shows within this. */
const ENDPOINTS_CACHE_MS = 2000;

export class WebhookService {
  /** The endpoints as last read for emitting: a rush of claims emits per claim and must not query per claim. */
  #cached: { at: number; rows: Promise<WebhookEndpointRow[]> } | undefined;
  /** Deliveries waiting for this turn's batch to Redis. */
  readonly #pending = new TurnBatch<{ endpointId: string; delivery: WebhookDelivery }>((_all, waiting) => this.#addJobs(waiting));

  constructor(
    private readonly db: Db,
    private readonly queues: Queues,
    private readonly logger: Logger,
    private readonly destinations: DestinationPolicy,
  ) {}

  async create(url: string, events: WebhookEvent[] = WEBHOOK_EVENTS): Promise<WebhookEndpointRow> {
    const problem = this.destinations.hostProblem(new URL(url).hostname);
    if (problem) throw new LivecueError('validation_failed', `invalid request: url ${problem} (ALLOW_PRIVATE_DESTINATIONS is off)`);
    const [row] = await this.db
      .insert(webhookEndpoints)
      .values({ id: `whk_${randomBase62(16)}`, url, secret: `whsec_${randomBase62(32)}`, events })
      .returning();
    this.#cached = undefined;
    return row!;
  }

  list(): Promise<WebhookEndpointRow[]> {
    return this.db.select().from(webhookEndpoints).orderBy(desc(webhookEndpoints.createdAt));
  }

  async get(id: string): Promise<WebhookEndpointRow | undefined> {
    const [row] = await this.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    return row;
  }

  async delete(id: string): Promise<boolean> {
    this.#cached = undefined;
    return (await this.db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).returning({ id: webhookEndpoints.id })).length > 0;
  }

  #endpoints(now = Date.now()): Promise<WebhookEndpointRow[]> {
    if (!this.#cached || now - this.#cached.at > ENDPOINTS_CACHE_MS) {
      const rows = this.list();
      this.#cached = { at: now, rows };
      // A failed read is not kept: the next emit asks again.
      rows.catch(() => {
        if (this.#cached?.rows === rows) this.#cached = undefined;
      });
    }
    return this.#cached.rows;
  }

  /**
   * Queues one delivery per subscribed endpoint; the worker sends them with retries. Deliveries emitted in the same
   * turn of the event loop (a rush of claims) go to Redis together, one job per endpoint.
   */
  async emit(event: WebhookEvent, data: Record<string, unknown>): Promise<void> {
    const endpoints = (await this.#endpoints()).filter((endpoint) => (endpoint.events as string[]).includes(event));
    if (endpoints.length === 0) return;
    const createdAt = new Date().toISOString();
    await Promise.all(
      endpoints.map((endpoint) => {
        const deliveryId = `dlv_${randomBase62(16)}`;
        return this.#pending.add(ALL, {
          endpointId: endpoint.id,
          delivery: { deliveryId, event, body: JSON.stringify({ id: deliveryId, type: event, createdAt, data }) },
        });
      }),
    );
  }

  /** The endpoint a job delivers to, from the emitting cache when it is there (one query per delivery cost a rush dearly). */
  async endpoint(id: string): Promise<WebhookEndpointRow | undefined> {
    return (await this.#endpoints()).find((endpoint) => endpoint.id === id) ?? this.get(id);
  }

  /** Queues one delivery on its own (a retry), with the queue's attempts and backoff. */
  async retry(endpointId: string, delivery: WebhookDelivery, delayMs: number): Promise<void> {
    await this.queues.webhooks.add(delivery.event, { endpointId, deliveries: [delivery] }, { jobId: delivery.deliveryId, delay: delayMs });
  }

  /** One turn's deliveries: one job per endpoint (at most MAX_DELIVERIES_PER_JOB each), all in one addBulk. */
  async #addJobs(waiting: { endpointId: string; delivery: WebhookDelivery }[]): Promise<void> {
    const jobs = new Map<string, WebhookDelivery[]>();
    for (const { endpointId, delivery } of waiting) {
      const list = jobs.get(endpointId) ?? [];
      if (list.length === 0) jobs.set(endpointId, list);
      list.push(delivery);
    }
    const bulk = [...jobs].flatMap(([endpointId, deliveries]) => {
      const chunks: WebhookDelivery[][] = [];
      for (let i = 0; i < deliveries.length; i += MAX_DELIVERIES_PER_JOB) chunks.push(deliveries.slice(i, i + MAX_DELIVERIES_PER_JOB));
      // A lone delivery keeps its id as the job id (queued once however often it is retried).
      return chunks.map((chunk) => ({
        name: chunk.length === 1 ? chunk[0]!.event : 'batch',
        data: { endpointId, deliveries: chunk },
        opts: chunk.length === 1 ? { jobId: chunk[0]!.deliveryId } : {},
      }));
    });
    await this.queues.webhooks.addBulk(bulk);
    this.logger.debug({ deliveries: waiting.length, jobs: bulk.length }, 'webhook deliveries queued');
  }
}

// Deliveries reuse connections: a flash sale sends a webhook per claim, and node:http costs the process about half
// of fetch's CPU per request (the worker shares the node with the claims on a single-box install).
const agents = { 'http:': new http.Agent({ keepAlive: true, maxSockets: 16 }), 'https:': new https.Agent({ keepAlive: true, maxSockets: 16 }) };

/** Sends one delivery; throws (so BullMQ retries with backoff) unless the receiver answers 2xx (redirects are not followed). */
export function deliverWebhook(endpoint: WebhookEndpointRow, job: WebhookDelivery, destinations: DestinationPolicy, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(endpoint.url);
    const agent = agents[url.protocol as keyof typeof agents];
    if (!agent) return reject(new Error(`unsupported webhook URL scheme ${url.protocol}`));
    // Checked again at each delivery: a literal address here, and (lookup) what the name resolves to now.
    const problem = destinations.hostProblem(url.hostname);
    if (problem) return reject(new Error(`webhook receiver ${problem}`));
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: 'POST',
        agent,
        lookup: destinations.lookup,
        timeout: timeoutMs,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(job.body),
          'user-agent': 'livecue-webhooks/1',
          'livecue-event': job.event,
          'livecue-delivery': job.deliveryId,
          'livecue-signature': signWebhook(endpoint.secret, job.body),
        },
      },
      (response) => {
        // The answer's body is not needed; reading it lets the connection serve the next delivery.
        response.resume();
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(status);
          else reject(new Error(`receiver answered ${status}`));
        });
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`receiver did not answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(job.body);
  });
}

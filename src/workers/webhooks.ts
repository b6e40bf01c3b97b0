// Webhooks: endpoints, signed deliveries, and the signature check receivers run.
// Signature header: `Livecue-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { desc, eq } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { webhookEndpoints } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import { randomBase62 } from '../streams/stream-keys.ts';
import { WEBHOOK_EVENTS, type Queues, type WebhookEvent, type WebhookJob } from './queues.ts';

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

/** How long a node reuses its list of endpoints when emitting; one created or deleted elsewhere shows within this. */
const ENDPOINTS_CACHE_MS = 2000;

export class WebhookService {
  /** The endpoints as last read for emitting: a rush of claims emits per claim and must not query per claim. */
  #cached: { at: number; rows: Promise<WebhookEndpointRow[]> } | undefined;

  constructor(
    private readonly db: Db,
    private readonly queues: Queues,
    private readonly logger: Logger,
  ) {}

  async create(url: string, events: WebhookEvent[] = WEBHOOK_EVENTS): Promise<WebhookEndpointRow> {
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

  /** Queues one delivery per subscribed endpoint; the worker sends them with retries. */
  async emit(event: WebhookEvent, data: Record<string, unknown>): Promise<void> {
    const endpoints = (await this.#endpoints()).filter((endpoint) => (endpoint.events as string[]).includes(event));
    for (const endpoint of endpoints) {
      const deliveryId = `dlv_${randomBase62(16)}`;
      const body = JSON.stringify({ id: deliveryId, type: event, createdAt: new Date().toISOString(), data });
      const job: WebhookJob = { deliveryId, endpointId: endpoint.id, event, body };
      await this.queues.webhooks.add(event, job, { jobId: deliveryId });
    }
    if (endpoints.length > 0) this.logger.debug({ event, endpoints: endpoints.length }, 'webhook deliveries queued');
  }
}

/** Sends one delivery; throws (so BullMQ retries with backoff) unless the receiver answers 2xx. */
export async function deliverWebhook(endpoint: WebhookEndpointRow, job: WebhookJob, timeoutMs = 10_000): Promise<number> {
  const response = await fetch(endpoint.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'livecue-webhooks/1',
      'livecue-event': job.event,
      'livecue-delivery': job.deliveryId,
      'livecue-signature': signWebhook(endpoint.secret, job.body),
    },
    body: job.body,
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'error',
  });
  if (response.status < 200 || response.status >= 300) throw new Error(`receiver answered ${response.status}`);
  return response.status;
}

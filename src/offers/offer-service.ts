// Offers with inventory: an offer.start cue with a quantity opens one; claims reserve a unit
// atomically (a guarded decrement of one row, so no number of concurrent claims on any number of
// nodes oversells); reserved units come back when a claim expires or is cancelled.
import { and, eq, sql } from 'drizzle-orm';
import type { CueMessage } from '../cues/cue-schema.ts';
import type { Db } from '../db/database.ts';
import { offerClaims, offers } from '../db/schema.ts';
import { LivecueError, notFound } from '../errors.ts';
import type { Logger } from '../log.ts';
import { randomBase62 } from '../streams/stream-keys.ts';
import type { WebhookService } from '../workers/webhooks.ts';
import type { Viewer } from './viewer-identity.ts';

export type OfferRow = typeof offers.$inferSelect;
export type ClaimRow = typeof offerClaims.$inferSelect;

export const claimView = (claim: ClaimRow) => ({
  id: claim.id,
  offerId: claim.offerId,
  viewerId: claim.viewerId,
  status: claim.status,
  expiresAt: claim.expiresAt.toISOString(),
  createdAt: claim.createdAt.toISOString(),
});

export const offerView = (offer: OfferRow) => ({
  id: offer.id,
  streamId: offer.streamId,
  productId: offer.productId,
  quantity: offer.quantity,
  remaining: offer.remaining,
  endsAt: offer.endsAt?.toISOString() ?? null,
  closedAt: offer.closedAt?.toISOString() ?? null,
});

const STOCK_ANNOUNCE_MS = 250;

const isUniqueViolation = (error: unknown) =>
  (error as { code?: string }).code === '23505' || (error as { cause?: { code?: string } }).cause?.code === '23505';

export class OfferService {
  /** Offers whose stock changed and will be announced at the end of the throttle window. */
  #stockDue = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly deps: {
      db: Db;
      webhooks: WebhookService;
      logger: Logger;
      claimSeconds: number;
      /** Tells viewers an offer's stock (throttled to STOCK_ANNOUNCE_MS per offer). */
      announceStock?: (offer: OfferRow) => Promise<void>;
      onClaimed?: (offer: OfferRow) => Promise<void>;
    },
  ) {}

  /** Viewers hear the remaining quantity at most every STOCK_ANNOUNCE_MS per offer, always the latest. */
  #stockChanged(offerId: string): void {
    if (!this.deps.announceStock || this.#stockDue.has(offerId)) return;
    const timer = setTimeout(() => {
      this.#stockDue.delete(offerId);
      void this.get(offerId)
        .then((offer) => offer && this.deps.announceStock!(offer))
        .catch((error: Error) => this.deps.logger.warn({ err: error, offerId }, 'cannot announce offer stock'));
    }, STOCK_ANNOUNCE_MS);
    timer.unref();
    this.#stockDue.set(offerId, timer);
  }

  /** Called for every placed cue: offer.start with a quantity opens an offer, offer.end closes. */
  async cuePlaced(streamId: string, cue: CueMessage): Promise<void> {
    const payload = cue.payload as { productId?: string; quantity?: number };
    if (cue.type === 'offer.start' && typeof payload.quantity === 'number' && payload.productId) {
      await this.deps.db
        .insert(offers)
        .values({
          id: cue.id,
          streamId,
          productId: payload.productId,
          quantity: payload.quantity,
          remaining: payload.quantity,
          claimSeconds: typeof (cue.payload as { claimSeconds?: unknown }).claimSeconds === 'number' ? (cue.payload as { claimSeconds: number }).claimSeconds : null,
          endsAt: cue.duration !== undefined ? new Date(Date.parse(cue.wallClock) + cue.duration * 1000) : null,
          mediaTimeMs: Math.round(cue.mediaTime * 1000),
        })
        .onConflictDoNothing();
    }
    if (cue.type === 'offer.end') {
      const conditions = [eq(offers.streamId, streamId), sql`${offers.closedAt} is null`];
      if (payload.productId) conditions.push(eq(offers.productId, payload.productId));
      await this.deps.db.update(offers).set({ closedAt: new Date() }).where(and(...conditions));
    }
  }

  async get(offerId: string): Promise<OfferRow | undefined> {
    const [offer] = await this.deps.db.select().from(offers).where(eq(offers.id, offerId));
    return offer;
  }

  /** Reserves one unit for a viewer; a repeated claim (same viewer or idempotency key) returns the first. */
  async claim(offerId: string, viewer: Viewer, idempotencyKey?: string): Promise<{ claim: ClaimRow; offer: OfferRow; created: boolean }> {
    const { db } = this.deps;
    const existing = async () => {
      const [byKey] = idempotencyKey
        ? await db.select().from(offerClaims).where(and(eq(offerClaims.offerId, offerId), eq(offerClaims.idempotencyKey, idempotencyKey)))
        : [];
      if (byKey) return byKey;
      const [live] = await db
        .select()
        .from(offerClaims)
        .where(and(eq(offerClaims.offerId, offerId), eq(offerClaims.viewerId, viewer.id), sql`${offerClaims.status} in ('reserved', 'confirmed')`));
      return live;
    };
    const earlier = await existing();
    if (earlier) return { claim: earlier, offer: (await this.get(offerId))!, created: false };
    try {
      const result = await db.transaction(async (tx) => {
        const [offer] = await tx
          .update(offers)
          .set({ remaining: sql`${offers.remaining} - 1` })
          .where(and(eq(offers.id, offerId), sql`${offers.remaining} > 0`, sql`${offers.closedAt} is null`, sql`(${offers.endsAt} is null or ${offers.endsAt} > now())`))
          .returning();
        if (!offer) return undefined;
        const [claim] = await tx
          .insert(offerClaims)
          .values({
            id: `clm_${randomBase62(16)}`,
            offerId,
            viewerId: viewer.id,
            viewerName: viewer.name ?? null,
            idempotencyKey: idempotencyKey ?? null,
            expiresAt: new Date(Date.now() + (offer.claimSeconds ?? this.deps.claimSeconds) * 1000),
          })
          .returning();
        return { claim: claim!, offer };
      });
      if (result) {
        this.#stockChanged(offerId);
        void this.deps.onClaimed?.(result.offer).catch(() => {});
        void this.#announce(result.offer, result.claim, viewer);
        return { ...result, created: true };
      }
    } catch (error) {
      // The same viewer (or key) won a concurrent race: the transaction rolled back, the unit too.
      if (!isUniqueViolation(error)) throw error;
      const raced = await existing();
      if (raced) return { claim: raced, offer: (await this.get(offerId))!, created: false };
      throw error;
    }
    const offer = await this.get(offerId);
    if (!offer) throw notFound(`offer ${offerId}`);
    if (offer.closedAt || (offer.endsAt && offer.endsAt.getTime() <= Date.now())) throw new LivecueError('conflict', 'the offer has ended', { reason: 'offer_ended' });
    throw new LivecueError('conflict', 'sold out', { reason: 'sold_out' });
  }

  async confirm(claimId: string): Promise<ClaimRow> {
    const [claim] = await this.deps.db
      .update(offerClaims)
      .set({ status: 'confirmed' })
      .where(and(eq(offerClaims.id, claimId), eq(offerClaims.status, 'reserved')))
      .returning();
    if (claim) return claim;
    return this.#unchanged(claimId, 'only a reserved claim can be confirmed');
  }

  /** Cancels a reserved or confirmed claim; its unit goes back on offer. */
  async cancel(claimId: string): Promise<ClaimRow> {
    const claim = await this.deps.db.transaction(async (tx) => {
      const [cancelled] = await tx
        .update(offerClaims)
        .set({ status: 'cancelled' })
        .where(and(eq(offerClaims.id, claimId), sql`${offerClaims.status} in ('reserved', 'confirmed')`))
        .returning();
      if (cancelled) await tx.update(offers).set({ remaining: sql`${offers.remaining} + 1` }).where(eq(offers.id, cancelled.offerId));
      return cancelled;
    });
    if (claim) {
      this.#stockChanged(claim.offerId);
      return claim;
    }
    return this.#unchanged(claimId, 'only a reserved or confirmed claim can be cancelled');
  }

  /** Reserved claims past their time expire, and their units return. Safe on every node at once. */
  async expire(): Promise<number> {
    const result = await this.deps.db.execute(sql`
      with expired as (
        update offer_claims set status = 'expired'
        where status = 'reserved' and expires_at <= now()
        returning offer_id
      ), returned as (
        select offer_id, count(*)::int as units from expired group by offer_id
      )
      update offers set remaining = offers.remaining + returned.units
      from returned where offers.id = returned.offer_id
      returning offers.id`);
    const rows = (Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? [])) as { id: string }[];
    for (const row of rows) this.#stockChanged(row.id);
    return rows.length;
  }

  async #unchanged(claimId: string, message: string): Promise<never> {
    const [claim] = await this.deps.db.select().from(offerClaims).where(eq(offerClaims.id, claimId));
    if (!claim) throw notFound(`claim ${claimId}`);
    throw new LivecueError('conflict', `${message} (it is ${claim.status})`);
  }

  async #announce(offer: OfferRow, claim: ClaimRow, viewer: Viewer): Promise<void> {
    try {
      await this.deps.webhooks.emit('offer.claimed', {
        claim: claimView(claim),
        viewer: { id: viewer.id, name: viewer.name ?? null },
        offer: offerView(offer),
        productId: offer.productId,
        mediaTime: offer.mediaTimeMs / 1000,
      });
      if (offer.remaining === 0) await this.deps.webhooks.emit('offer.sold_out', { offer: offerView(offer) });
    } catch (error) {
      this.deps.logger.warn({ err: error, offerId: offer.id }, 'cannot queue the offer webhooks');
    }
  }
}

// Offers with inventory: an offer.start cue with a quantity opens one; a claim takes a numbered unit
// from the offer's Redis gate (claim-gate.ts: sold-out and repeats are answered there) and is written
// (claim-writer.ts, in batches during a rush) to PostgreSQL, whose unique index on live (offer, unit)
// is the record and the final guard: no number of concurrent claims on any number of nodes
// oversells, even when Redis lost the gate. Units come back when a claim expires or is cancelled.
import { setTimeout as sleep } from 'node:timers/promises';
import { and, asc, eq, getTableColumns, inArray, isNull, lte, or, gt, sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import type { CueMessage } from '../contract/cue-message.ts';
import type { Db } from '../db/database.ts';
import { cues, offerClaims, offers } from '../db/schema.ts';
import { LivecueError, notFound } from '../errors.ts';
import type { Logger } from '../log.ts';
import { randomBase62 } from '../streams/stream-keys.ts';
import type { WebhookService } from '../workers/webhooks.ts';
import { ClaimGate, type LiveUnit } from './claim-gate.ts';
import { ClaimWriter } from './claim-writer.ts';
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

const STOCK_ANNOUNCE_MS = 1000;
/** How long a claim keeps trying (an earlier claim of the viewer still being written, units the gate lost track of). */
const CLAIM_PATIENCE_MS = 5000;
const HELD_RETRY_MS = 10;
/** A unit handed out this long ago and still neither written nor given back belonged to a node that died. */
const PENDING_STALE_MS = 15_000;
/** How often open offers' gates are checked against the database. */
const RECONCILE_EVERY_MS = 5000;
/** Offers kept in memory per node for the claims' answers (fields that never change). */
const OFFER_CACHE_SIZE = 1000;
/** How long a node reuses the list of a stream's open offers for the viewers joining. */
const OPEN_OFFERS_CACHE_MS = 1000;

const LIVE = ['reserved', 'confirmed'];
const isLive = (status: string) => LIVE.includes(status);

/** The constraint a unique violation broke (postgres.js: constraint_name, PGlite: constraint), wherever drizzle wrapped it. */
function violatedConstraint(error: unknown): string | undefined {
  for (
    let current = error as { code?: string; constraint_name?: string; constraint?: string; cause?: unknown } | undefined;
    current;
    current = current.cause as typeof current
  ) {
    if (current.code === '23505') return current.constraint_name ?? current.constraint ?? '';
  }
  return undefined;
}

const soldOut = () => new LivecueError('conflict', 'sold out', { reason: 'sold_out' });
/** Claims open this much before the offer's frame plays at the origin (clock skew between nodes; the first viewers). */
const OPENS_EARLY_MS = 1000;
const offerEnded = () => new LivecueError('conflict', 'the offer has ended', { reason: 'offer_ended' });

export class OfferService {
  /** Offers whose stock changed and will be announced at the end of the throttle window. */
  #stockDue = new Map<string, NodeJS.Timeout>();
  #gate: ClaimGate;
  #writer: ClaimWriter;
  /** One opening of a missing gate per offer at a time on this node. */
  #opening = new Map<string, Promise<void>>();
  #offers = new Map<string, OfferRow>();
  /** Open offers per stream, as last read for viewers joining (see stock()). */
  #openOffers = new Map<string, { at: number; rows: Promise<{ id: string; quantity: number; remaining: number }[]> }>();
  /** Drift seen at the last check per offer (gate units + pending + live claims - quantity). */
  #drift = new Map<string, number>();
  #lastReconcile = 0;
  #closed = false;

  constructor(
    private readonly deps: {
      db: Db;
      redis: Redis;
      webhooks: WebhookService;
      logger: Logger;
      claimSeconds: number;
      /** Tells viewers an offer's stock (throttled to STOCK_ANNOUNCE_MS per offer). */
      announceStock?: (offer: OfferRow) => Promise<void>;
      onClaimed?: (offer: OfferRow) => Promise<void>;
    },
  ) {
    this.#gate = new ClaimGate(deps.redis);
    this.#writer = new ClaimWriter(deps.db, deps.claimSeconds);
  }

  /**
   * Viewers hear the remaining quantity at most every STOCK_ANNOUNCE_MS per offer, always the latest, and at once when
   * the last unit is handed out (a sold-out offer stops the taps); the offer row's `remaining` is refreshed at the same
   * pace (claims never write the offer row, which would serialise them). Each announcement is a write to every
   * viewer's socket, which in a flash sale competes with the claims themselves, hence the pace.
   */
  #stockChanged(offerId: string, soldOut = false): void {
    if (this.#closed) return;
    const due = this.#stockDue.get(offerId);
    if (due && !soldOut) return;
    if (due) clearTimeout(due);
    const timer = setTimeout(
      () => {
        this.#stockDue.delete(offerId);
        void this.#refreshRemaining(offerId)
          .then(async (offer) => {
            if (!offer) return;
            // The gate knows what can still be claimed; the row lags by the claims being written right now.
            const claimable = await this.#gate.remaining(offerId).catch(() => undefined);
            await this.deps.announceStock?.({ ...offer, remaining: claimable ?? offer.remaining });
          })
          .catch((error: Error) => this.deps.logger.warn({ err: error, offerId }, 'cannot announce offer stock'));
      },
      soldOut ? 0 : STOCK_ANNOUNCE_MS,
    );
    timer.unref();
    this.#stockDue.set(offerId, timer);
  }

  async #refreshRemaining(offerId: string): Promise<OfferRow | undefined> {
    const [offer] = await this.deps.db
      .update(offers)
      .set({
        remaining: sql`${offers.quantity} - (select count(*)::int from offer_claims c where c.offer_id = ${offerId} and c.status in ('reserved', 'confirmed'))`,
      })
      .where(eq(offers.id, offerId))
      .returning();
    return offer;
  }

  /** Stops the pending stock announcements (the database closes right after). */
  close(): void {
    this.#closed = true;
    for (const timer of this.#stockDue.values()) clearTimeout(timer);
    this.#stockDue.clear();
  }

  /** Called for every placed cue: offer.start with a quantity opens an offer, offer.end closes. */
  async cuePlaced(streamId: string, cue: CueMessage): Promise<void> {
    const payload = cue.payload as { productId?: string; quantity?: number };
    if (cue.type === 'offer.start' && typeof payload.quantity === 'number' && payload.productId) {
      const [opened] = await this.deps.db
        .insert(offers)
        .values({
          id: cue.id,
          streamId,
          productId: payload.productId,
          quantity: payload.quantity,
          remaining: payload.quantity,
          claimSeconds:
            typeof (cue.payload as { claimSeconds?: unknown }).claimSeconds === 'number' ? (cue.payload as { claimSeconds: number }).claimSeconds : null,
          endsAt: cue.duration !== undefined ? new Date(Date.parse(cue.wallClock) + cue.duration * 1000) : null,
          mediaTimeMs: Math.round(cue.mediaTime * 1000),
        })
        .onConflictDoNothing()
        .returning();
      // Opened now so the first rush of claims finds it; a claim opens it too if this fails.
      if (opened)
        await this.#openGate(opened.id).catch((error: Error) => this.deps.logger.warn({ err: error, offerId: opened.id }, 'cannot open the claim gate'));
    }
    if (cue.type === 'offer.end') {
      const conditions = [eq(offers.streamId, streamId), sql`${offers.closedAt} is null`];
      if (payload.productId) conditions.push(eq(offers.productId, payload.productId));
      const closed = await this.deps.db
        .update(offers)
        .set({ closedAt: new Date() })
        .where(and(...conditions))
        .returning({ id: offers.id });
      for (const { id } of closed) {
        this.#offers.delete(id);
        await this.#gate.close(id).catch((error: Error) => this.deps.logger.warn({ err: error, offerId: id }, 'cannot close the claim gate'));
      }
    }
  }

  /**
   * The stream's open offers with the units that can be claimed now (the gate's count), for a viewer who joins
   * mid-sale: stock announcements only come when it changes. Which offers are open is read at most once a second per
   * stream on a node (a crowd joining at once costs one query); the units are the gate's at the moment of asking.
   */
  async stock(streamId: string, now = Date.now()): Promise<{ id: string; quantity: number; remaining: number }[]> {
    let cached = this.#openOffers.get(streamId);
    if (!cached || now - cached.at >= OPEN_OFFERS_CACHE_MS) {
      const rows = this.deps.db
        .select({ id: offers.id, quantity: offers.quantity, remaining: offers.remaining })
        .from(offers)
        .where(and(eq(offers.streamId, streamId), isNull(offers.closedAt), or(isNull(offers.endsAt), gt(offers.endsAt, sql`now()`))));
      this.#openOffers.set(streamId, (cached = { at: now, rows }));
      rows.catch(() => this.#openOffers.delete(streamId));
      if (this.#openOffers.size > OFFER_CACHE_SIZE) this.#openOffers.delete(this.#openOffers.keys().next().value!);
    }
    const open = await cached.rows;
    return Promise.all(open.map(async (offer) => ({ ...offer, remaining: (await this.#gate.remaining(offer.id).catch(() => undefined)) ?? offer.remaining })));
  }

  /** The offer with `remaining` counted from its live claims now. */
  /** The stream's offers with how many claims they drew (whatever became of them) and when the first came. */
  claimReport(streamId: string) {
    return this.deps.db
      .select({
        id: offers.id,
        productId: offers.productId,
        quantity: offers.quantity,
        remaining: offers.remaining,
        createdAt: offers.createdAt,
        claims: sql<number>`count(${offerClaims.id}) filter (where ${offerClaims.status} in ('reserved', 'confirmed', 'expired', 'cancelled'))`.mapWith(Number),
        confirmed: sql<number>`count(${offerClaims.id}) filter (where ${offerClaims.status} = 'confirmed')`.mapWith(Number),
        firstClaimAt: sql<string | null>`min(${offerClaims.createdAt})`,
      })
      .from(offers)
      .leftJoin(offerClaims, eq(offerClaims.offerId, offers.id))
      .where(eq(offers.streamId, streamId))
      .groupBy(offers.id)
      .orderBy(asc(offers.createdAt));
  }

  async get(offerId: string): Promise<OfferRow | undefined> {
    const [offer] = await this.deps.db
      .select({
        ...getTableColumns(offers),
        remaining:
          sql<number>`${offers.quantity} - (select count(*)::int from offer_claims c where c.offer_id = ${offerId} and c.status in ('reserved', 'confirmed'))`.mapWith(
            Number,
          ),
      })
      .from(offers)
      .where(eq(offers.id, offerId));
    return offer;
  }

  /** The offer's fields that never change, from memory after the first time. */
  async #offer(offerId: string): Promise<OfferRow | undefined> {
    const cached = this.#offers.get(offerId);
    if (cached) return cached;
    const offer = await this.get(offerId);
    if (!offer) return undefined;
    if (this.#offers.size >= OFFER_CACHE_SIZE) this.#offers.delete(this.#offers.keys().next().value!);
    this.#offers.set(offerId, offer);
    return offer;
  }

  /** Opens the offer's gate from the database (live claims keep their units), once per node at a time. */
  #openGate(offerId: string): Promise<void> {
    let opening = this.#opening.get(offerId);
    if (!opening) {
      opening = (async () => {
        const offer = await this.get(offerId);
        if (!offer) throw notFound(`offer ${offerId}`);
        const live = await this.deps.db
          .select({ unit: offerClaims.unit, viewerId: offerClaims.viewerId, claimId: offerClaims.id })
          .from(offerClaims)
          .where(and(eq(offerClaims.offerId, offerId), inArray(offerClaims.status, LIVE)));
        // An offer is its offer.start cue: claims open when that cue reaches the picture, not when it was placed.
        const [cue] = await this.deps.db.select({ wallClock: cues.wallClock }).from(cues).where(eq(cues.id, offerId));
        const opened = await this.#gate.open(offerId, {
          quantity: offer.quantity,
          closed: offer.closedAt !== null,
          endsAtMs: offer.endsAt?.getTime() ?? null,
          opensAtMs: cue ? cue.wallClock.getTime() - OPENS_EARLY_MS : 0,
          live: live.filter((row): row is LiveUnit => row.unit !== null),
        });
        if (opened && live.length > 0) this.deps.logger.info({ offerId, liveClaims: live.length }, 'claim gate opened again from the database');
      })().finally(() => this.#opening.delete(offerId));
      this.#opening.set(offerId, opening);
    }
    return opening;
  }

  /** Reserves one unit for a viewer; a repeated claim (same viewer or idempotency key) returns the first. */
  async claim(offerId: string, viewer: Viewer, idempotencyKey?: string): Promise<{ claim: ClaimRow; offer: OfferRow; created: boolean }> {
    const giveUpAt = Date.now() + CLAIM_PATIENCE_MS;
    for (;;) {
      const claimId = `clm_${randomBase62(16)}`;
      const decision = await this.#gate.take(offerId, viewer.id, claimId, idempotencyKey).catch((error: Error) => {
        this.deps.logger.warn({ err: error, offerId }, 'claim gate unreachable');
        throw new LivecueError('unavailable', 'claims are paused for a moment; try again');
      });
      if (decision.kind === 'sold_out') throw soldOut();
      if (decision.kind === 'ended') throw offerEnded();
      if (decision.kind === 'not_started') {
        const waitMs = Math.max(1, decision.opensAtMs - Date.now());
        throw new LivecueError('conflict', 'the offer has not started yet: it opens when its moment of the show plays', {
          reason: 'not_started',
          retryAfterMs: waitMs,
        });
      }
      if (decision.kind === 'missing') {
        await this.#openGate(offerId);
        continue;
      }
      if (decision.kind === 'held') {
        const [earlier] = await this.deps.db.select().from(offerClaims).where(eq(offerClaims.id, decision.claimId));
        if (earlier && (decision.by === 'key' || isLive(earlier.status))) return { claim: earlier, offer: await this.#answerOffer(offerId), created: false };
        if (earlier) {
          // The viewer's claim ended without the gate hearing of it: the viewer may claim again.
          await this.#gate.release(offerId, { claimId: earlier.id, unit: earlier.unit ?? 0, viewerId: viewer.id }, { giveBack: false, forgetKey: false });
          continue;
        }
        // Not written yet: the viewer's first claim is on its way (or its node died, which the sweep notices).
        if (Date.now() > giveUpAt) throw new LivecueError('unavailable', 'an earlier claim of this viewer is still being written; try again');
        await sleep(HELD_RETRY_MS);
        continue;
      }

      const taken = { claimId, unit: decision.unit, viewerId: viewer.id, idempotencyKey };
      let claim: ClaimRow | undefined;
      try {
        // Batched with the claims around it; one the batch did not write is tried alone, which tells why.
        claim =
          (await this.#writer.write({
            id: claimId,
            offerId,
            viewerId: viewer.id,
            viewerName: viewer.name ?? null,
            idempotencyKey: idempotencyKey ?? null,
            unit: decision.unit,
          })) ?? (await this.#insertClaim(offerId, viewer, claimId, decision.unit, idempotencyKey));
      } catch (error) {
        const constraint = violatedConstraint(error);
        if (constraint === 'offer_claims_live_unit') {
          // The gate lost track of this unit (Redis restarted or flushed): someone holds it; keep it out, take another.
          this.deps.logger.debug({ offerId, unit: decision.unit }, 'unit already held in the database; taking another');
          await this.#gate.release(offerId, taken, { giveBack: false, forgetKey: true });
          if (Date.now() > giveUpAt) throw new LivecueError('unavailable', 'the offer is busy; try again');
          continue;
        }
        await this.#gate.release(offerId, taken, { giveBack: true, forgetKey: true }).catch(() => {});
        if (constraint === undefined) throw error;
        // The same viewer (or key) won a race the gate did not see: answer with that claim.
        const raced = await this.#existing(offerId, viewer, idempotencyKey);
        if (raced) return { claim: raced, offer: await this.#answerOffer(offerId), created: false };
        continue;
      }
      if (!claim) {
        // The database says the offer is over (closed, past its deadline or gone) though the gate did not know.
        await this.#gate.release(offerId, taken, { giveBack: true, forgetKey: true }).catch(() => {});
        await this.#gate.close(offerId).catch(() => {});
        if (!(await this.get(offerId))) throw notFound(`offer ${offerId}`);
        throw offerEnded();
      }
      void this.#gate.settle(offerId, claimId, decision.unit, viewer.id).catch(() => {});
      const offer = { ...(await this.#answerOffer(offerId, decision.remaining)) };
      this.#stockChanged(offerId, decision.remaining === 0);
      void this.deps.onClaimed?.(offer).catch(() => {});
      void this.#announce(offer, claim, viewer);
      return { claim, offer, created: true };
    }
  }

  /** One claim row on its own, written only while the offer is open and the unit is one of its units; a unique violation throws. */
  async #insertClaim(offerId: string, viewer: Viewer, claimId: string, unit: number, idempotencyKey?: string): Promise<ClaimRow | undefined> {
    const [claim] = await this.deps.db
      .insert(offerClaims)
      .select((qb) =>
        qb
          .select({
            id: sql`${claimId}`.as('id'),
            offerId: offers.id,
            viewerId: sql`${viewer.id}`.as('viewer_id'),
            viewerName: sql`${viewer.name ?? null}::text`.as('viewer_name'),
            status: sql`'reserved'`.as('status'),
            idempotencyKey: sql`${idempotencyKey ?? null}::text`.as('idempotency_key'),
            unit: sql`${unit}::int`.as('unit'),
            expiresAt: sql`now() + make_interval(secs => coalesce(${offers.claimSeconds}, ${this.deps.claimSeconds}))`.as('expires_at'),
            createdAt: sql`now()`.as('created_at'),
          })
          .from(offers)
          .where(
            and(
              eq(offers.id, offerId),
              sql`${unit}::int between 1 and ${offers.quantity}`,
              isNull(offers.closedAt),
              or(isNull(offers.endsAt), gt(offers.endsAt, sql`now()`)),
            ),
          ),
      )
      .returning();
    return claim;
  }

  async #existing(offerId: string, viewer: Viewer, idempotencyKey?: string): Promise<ClaimRow | undefined> {
    const { db } = this.deps;
    const [byKey] = idempotencyKey
      ? await db
          .select()
          .from(offerClaims)
          .where(and(eq(offerClaims.offerId, offerId), eq(offerClaims.idempotencyKey, idempotencyKey)))
      : [];
    if (byKey) return byKey;
    const [live] = await db
      .select()
      .from(offerClaims)
      .where(and(eq(offerClaims.offerId, offerId), eq(offerClaims.viewerId, viewer.id), inArray(offerClaims.status, LIVE)));
    return live;
  }

  /** The offer for a claim's answer: its fixed fields from memory, `remaining` from the gate. */
  async #answerOffer(offerId: string, remaining?: number): Promise<OfferRow> {
    const offer = await this.#offer(offerId);
    if (!offer) throw notFound(`offer ${offerId}`);
    const units = remaining ?? (await this.#gate.remaining(offerId).catch(() => undefined)) ?? (await this.get(offerId))?.remaining ?? offer.remaining;
    return { ...offer, remaining: units };
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
    const [claim] = await this.deps.db
      .update(offerClaims)
      .set({ status: 'cancelled' })
      .where(and(eq(offerClaims.id, claimId), inArray(offerClaims.status, LIVE)))
      .returning();
    if (!claim) return this.#unchanged(claimId, 'only a reserved or confirmed claim can be cancelled');
    await this.#giveBack([claim]);
    return claim;
  }

  /** What every node runs every second: expiry, and now and then a check of the open offers' gates. */
  async sweep(now = Date.now()): Promise<void> {
    await this.expire();
    if (now - this.#lastReconcile < RECONCILE_EVERY_MS) return;
    this.#lastReconcile = now;
    await this.reconcile(now);
  }

  /** Reserved claims past their time expire, and their units return. Safe on every node at once. */
  async expire(): Promise<number> {
    const expired = await this.deps.db
      .update(offerClaims)
      .set({ status: 'expired' })
      .where(and(eq(offerClaims.status, 'reserved'), lte(offerClaims.expiresAt, sql`now()`)))
      .returning();
    await this.#giveBack(expired);
    return new Set(expired.map((claim) => claim.offerId)).size;
  }

  /** Released claims' units go back to their gates (a failure here is mended by reconcile). */
  async #giveBack(released: ClaimRow[]): Promise<void> {
    await Promise.all(
      released.map((claim) =>
        this.#gate
          .release(claim.offerId, { claimId: claim.id, unit: claim.unit ?? 0, viewerId: claim.viewerId }, { giveBack: claim.unit !== null, forgetKey: false })
          .catch((error: Error) => this.deps.logger.warn({ err: error, offerId: claim.offerId }, 'cannot give a unit back to the claim gate')),
      ),
    );
    for (const offerId of new Set(released.map((claim) => claim.offerId))) this.#stockChanged(offerId);
  }

  /**
   * Mends open offers' gates against the database: units handed out by a node that died before writing its claim
   * come back, and a gate whose count disagrees with the database twice in a row is dropped and opened again.
   */
  async reconcile(now = Date.now()): Promise<void> {
    const open = await this.deps.db
      .select({ id: offers.id, quantity: offers.quantity })
      .from(offers)
      .where(and(isNull(offers.closedAt), or(isNull(offers.endsAt), gt(offers.endsAt, sql`now()`))));
    for (const offer of open) {
      try {
        for (const pending of await this.#gate.stale(offer.id, now - PENDING_STALE_MS)) {
          const [row] = await this.deps.db.select({ status: offerClaims.status }).from(offerClaims).where(eq(offerClaims.id, pending.claimId));
          if (row) await this.#gate.settle(offer.id, pending.claimId, pending.unit, pending.viewerId);
          else await this.#gate.release(offer.id, pending, { giveBack: true, forgetKey: true });
        }
        const [gateUnits, pendingUnits, [counted]] = await Promise.all([
          this.#gate.remaining(offer.id),
          this.#gate.pendingCount(offer.id),
          this.deps.db
            .select({ live: sql<number>`count(*)::int`.mapWith(Number) })
            .from(offerClaims)
            .where(and(eq(offerClaims.offerId, offer.id), inArray(offerClaims.status, LIVE))),
        ]);
        if (gateUnits === undefined) continue;
        const drift = gateUnits + pendingUnits + (counted?.live ?? 0) - offer.quantity;
        if (drift === 0) {
          this.#drift.delete(offer.id);
        } else if (this.#drift.get(offer.id) === drift) {
          this.deps.logger.warn({ offerId: offer.id, drift }, 'claim gate disagrees with the database; opening it again');
          this.#drift.delete(offer.id);
          await this.#gate.reset(offer.id);
        } else {
          this.#drift.set(offer.id, drift);
        }
      } catch (error) {
        this.deps.logger.warn({ err: error, offerId: offer.id }, 'cannot check the claim gate');
      }
    }
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

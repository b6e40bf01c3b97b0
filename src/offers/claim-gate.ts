// The Redis gate in front of an offer's units: one Lua script per claim checks the viewer's and the
// idempotency key's earlier claim and hands out a unit number, so sold-out and repeats are decided in
// Redis without touching PostgreSQL. The database stays the record and the final guard (a live claim
// per unit), so a gate that lost its state (Redis restarted or flushed) can cost retries, never an
// oversell; a missing gate is opened again from the database.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TurnBatch } from '../turn-batch.ts';
import { readLua } from '../redis/lua.ts';

/** What the gate decided for one claim. */
export type GateDecision =
  | { kind: 'missing' }
  | { kind: 'ended' }
  /** The offer's cue has not reached the picture yet: no viewer could have seen it. */
  | { kind: 'not_started'; opensAtMs: number }
  | { kind: 'sold_out' }
  /** The viewer (`by: 'viewer'`) or the idempotency key (`by: 'key'`) already has this claim. */
  | { kind: 'held'; claimId: string; by: 'viewer' | 'key' }
  /** A unit is set aside for the claim until it is written (settle) or given back (release). */
  | { kind: 'reserved'; unit: number; remaining: number };

/** A live claim of the database, as the gate must know it when it is opened again. */
export interface LiveUnit {
  unit: number;
  viewerId: string;
  claimId: string;
}

export interface GateSnapshot {
  quantity: number;
  closed: boolean;
  /** Epoch ms after which no claim is taken (null: no deadline). */
  endsAtMs: number | null;
  /** Epoch ms before which no claim is taken: when the offer's cue reaches the picture. */
  opensAtMs: number;
  live: LiveUnit[];
}

/** One unit the gate handed out and the database has not confirmed yet. */
export interface PendingUnit extends LiveUnit {
  takenAtMs: number;
}

// Keys of one offer share a hash tag, so the scripts also run on a Redis Cluster.
// stock: hash quantity, issued (units 1..issued were handed out at least once), closed, endsAt.
// returned: set of units given back below `issued`. holders: viewer -> claim id.
// keys: idempotency key -> claim id. pending: zset "claimId|unit|viewerId" -> time taken.
const GATE_KEPT_AFTER_END_MS = 60 * 60_000;
const GATE_KEPT_OPEN_MS = 24 * 60 * 60_000;

const keysOf = (offerId: string) => {
  const base = `offer:{${offerId}}`;
  return [`${base}:stock`, `${base}:returned`, `${base}:holders`, `${base}:keys`, `${base}:pending`];
};

const TAKE = readLua(new URL('./lua/take.lua', import.meta.url));

const OPEN = readLua(new URL('./lua/open.lua', import.meta.url));

const RELEASE = readLua(new URL('./lua/release.lua', import.meta.url));

const REMAINING = readLua(new URL('./lua/remaining.lua', import.meta.url));

class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** EVALSHA, and EVAL when Redis does not know the script (first use, or after a restart). */
  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

const take = new Script(TAKE);
const open = new Script(OPEN);
const release = new Script(RELEASE);
const remaining = new Script(REMAINING);

export class ClaimGate {
  /** Units written this turn, per offer, whose pending entries go in one ZREM. */
  readonly #settling = new TurnBatch<string>(async (offerId, members) => {
    await this.redis.zrem(keysOf(offerId)[4]!, ...members);
  });

  constructor(private readonly redis: Redis) {}

  async take(offerId: string, viewerId: string, claimId: string, idempotencyKey: string | undefined, now = Date.now()): Promise<GateDecision> {
    const reply = (await take.run(this.redis, keysOf(offerId), [viewerId, idempotencyKey ?? '', claimId, now])) as string[];
    switch (reply[0]) {
      case 'reserved':
        return { kind: 'reserved', unit: Number(reply[1]), remaining: Number(reply[2]) };
      case 'held':
        return { kind: 'held', claimId: reply[1]!, by: reply[2] === 'key' ? 'key' : 'viewer' };
      case 'not_started':
        return { kind: 'not_started', opensAtMs: Number(reply[1]) };
      case 'ended':
      case 'sold_out':
      case 'missing':
        return { kind: reply[0] };
      default:
        throw new Error(`claim gate answered ${String(reply[0])}`);
    }
  }

  /** Opens the gate from the database's state unless it is open already (another node was first). */
  async open(offerId: string, snapshot: GateSnapshot, now = Date.now()): Promise<boolean> {
    // Kept a while after the offer's end (repeats still answer from Redis), a day when it has none; then opened again.
    const expiresAt = Math.max(snapshot.endsAtMs ?? 0, now) + (snapshot.endsAtMs ? GATE_KEPT_AFTER_END_MS : GATE_KEPT_OPEN_MS);
    const args: (string | number)[] = [snapshot.quantity, snapshot.closed ? 1 : 0, snapshot.endsAtMs ?? 0, expiresAt, snapshot.opensAtMs];
    for (const live of snapshot.live) args.push(live.unit, live.viewerId, live.claimId);
    return (await open.run(this.redis, keysOf(offerId), args)) === 1;
  }

  /** The claim is in the database: the unit is no longer pending. Claims settled in the same turn go in one command. */
  settle(offerId: string, claimId: string, unit: number, viewerId: string): Promise<void> {
    return this.#settling.add(offerId, `${claimId}|${unit}|${viewerId}`);
  }

  /**
   * Lets go of a claim's unit: `giveBack` puts the unit on offer again (a cancelled, expired or failed claim;
   * not a unit the database says someone else holds), `forgetKey` drops its idempotency key (a claim never written).
   */
  async release(offerId: string, claim: LiveUnit & { idempotencyKey?: string | null }, options: { giveBack: boolean; forgetKey: boolean }): Promise<void> {
    await release.run(this.redis, keysOf(offerId), [
      claim.claimId,
      claim.unit,
      claim.viewerId,
      claim.idempotencyKey ?? '',
      options.giveBack ? 1 : 0,
      options.forgetKey ? 1 : 0,
    ]);
  }

  /** No more claims (offer.end). */
  async close(offerId: string): Promise<void> {
    const stock = keysOf(offerId)[0]!;
    // Only an open gate is marked: a missing one is opened from the database, which knows the offer ended.
    await this.redis.eval(`if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'closed', 1) end return 1`, 1, stock);
  }

  /** Units the gate would still hand out, or undefined when it is not open. */
  async remaining(offerId: string): Promise<number | undefined> {
    const value = Number(await remaining.run(this.redis, keysOf(offerId), []));
    return value < 0 ? undefined : value;
  }

  /** Units handed out before `beforeMs` that were neither written nor given back (their node may have died). */
  async stale(offerId: string, beforeMs: number): Promise<PendingUnit[]> {
    const entries = await this.redis.zrangebyscore(keysOf(offerId)[4]!, '-inf', `(${beforeMs}`, 'WITHSCORES');
    const pending: PendingUnit[] = [];
    for (let i = 0; i < entries.length; i += 2) {
      const [claimId, unit, ...viewer] = entries[i]!.split('|');
      pending.push({ claimId: claimId!, unit: Number(unit), viewerId: viewer.join('|'), takenAtMs: Number(entries[i + 1]) });
    }
    return pending;
  }

  /** How many units are pending (handed out, not yet written). */
  async pendingCount(offerId: string): Promise<number> {
    return this.redis.zcard(keysOf(offerId)[4]!);
  }

  /** Drops the gate's state; the next claim opens it again from the database. */
  async reset(offerId: string): Promise<void> {
    await this.redis.del(...keysOf(offerId));
  }
}

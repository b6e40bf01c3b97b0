// The Redis gate in front of an offer's units: one Lua script per claim checks the viewer's and the
// idempotency key's earlier claim and hands out a unit number, so sold-out and repeats are decided in
// Redis without touching PostgreSQL. The database stays the record and the final guard (a live claim
// per unit), so a gate that lost its state (Redis restarted or flushed) can cost retries, never an
// oversell; a missing gate is opened again from the database.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TurnBatch } from '../turn-batch.ts';

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

const TAKE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local viewer, key, claimId, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if key ~= '' then
  local byKey = redis.call('HGET', KEYS[4], key)
  if byKey then return {'held', byKey, 'key'} end
end
local byViewer = redis.call('HGET', KEYS[3], viewer)
if byViewer then return {'held', byViewer, 'viewer'} end
local stock = redis.call('HMGET', KEYS[1], 'quantity', 'issued', 'closed', 'endsAt', 'expiresAt', 'opensAt')
local endsAt = tonumber(stock[4])
if stock[3] == '1' or (endsAt > 0 and endsAt <= now) then return {'ended'} end
local opensAt = tonumber(stock[6]) or 0
if opensAt > now then return {'not_started', tostring(opensAt)} end
local quantity, issued = tonumber(stock[1]), tonumber(stock[2])
local unit = redis.call('SPOP', KEYS[2])
if not unit then
  if issued >= quantity then return {'sold_out'} end
  issued = issued + 1
  unit = issued
  redis.call('HSET', KEYS[1], 'issued', issued)
end
redis.call('HSET', KEYS[3], viewer, claimId)
if key ~= '' then redis.call('HSET', KEYS[4], key, claimId) end
redis.call('ZADD', KEYS[5], now, claimId .. '|' .. unit .. '|' .. viewer)
for i = 3, 5 do redis.call('PEXPIREAT', KEYS[i], stock[5]) end
return {'reserved', tostring(unit), tostring(quantity - issued + redis.call('SCARD', KEYS[2]))}
`;

// ARGV: quantity, closed, endsAt, expiresAt, opensAt (epoch ms), then unit, viewer, claim id of every live claim.
const OPEN = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local held, top = {}, 0
for i = 6, #ARGV, 3 do
  local unit = tonumber(ARGV[i])
  held[unit] = true
  if unit > top then top = unit end
  redis.call('HSET', KEYS[3], ARGV[i + 1], ARGV[i + 2])
end
for unit = 1, top do
  if not held[unit] then redis.call('SADD', KEYS[2], unit) end
end
redis.call('HSET', KEYS[1], 'quantity', ARGV[1], 'issued', top, 'closed', ARGV[2], 'endsAt', ARGV[3], 'expiresAt', ARGV[4], 'opensAt', ARGV[5])
for i = 1, 3 do redis.call('PEXPIREAT', KEYS[i], ARGV[4]) end
return 1
`;

// ARGV: claim id, unit, viewer, idempotency key, give the unit back (1/0), forget the key (1/0).
const RELEASE = `
local claimId, unit, viewer, key = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
redis.call('ZREM', KEYS[5], claimId .. '|' .. ARGV[2] .. '|' .. viewer)
if redis.call('HGET', KEYS[3], viewer) == claimId then redis.call('HDEL', KEYS[3], viewer) end
if ARGV[6] == '1' and key ~= '' and redis.call('HGET', KEYS[4], key) == claimId then redis.call('HDEL', KEYS[4], key) end
if ARGV[5] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then
  -- Units above issued are still in the counter's range: free already.
  local stock = redis.call('HMGET', KEYS[1], 'issued', 'expiresAt')
  if unit <= tonumber(stock[1]) then
    redis.call('SADD', KEYS[2], unit)
    redis.call('PEXPIREAT', KEYS[2], stock[2])
  end
end
return 1
`;

const REMAINING = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local stock = redis.call('HMGET', KEYS[1], 'quantity', 'issued')
return tonumber(stock[1]) - tonumber(stock[2]) + redis.call('SCARD', KEYS[2])
`;

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

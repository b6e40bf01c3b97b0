// Token buckets keyed by anything (a stream, a client address): a steady rate with room for bursts.
export class RateLimiter {
  #buckets = new Map<string, { tokens: number; at: number }>();
  #sweepAt = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** 0 when allowed; otherwise the milliseconds until one more is allowed. */
  take(key: string, now = Date.now()): number {
    this.#sweep(now);
    const bucket = this.#buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) return Math.ceil(((1 - bucket.tokens) / this.perSecond) * 1000);
    bucket.tokens -= 1;
    return 0;
  }

  /** Full buckets carry no information: dropping them keeps memory bounded by active clients. */
  #sweep(now: number): void {
    if (now < this.#sweepAt) return;
    this.#sweepAt = now + 60_000;
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond >= this.burst) this.#buckets.delete(key);
    }
  }
}

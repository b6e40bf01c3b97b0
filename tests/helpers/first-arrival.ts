// When something first arrived (a peer's first decoded frame), and a wait for it that gives up after a timeout.

export class FirstArrival {
  /** Date.now() of the first arrival. */
  at?: number;
  #waiters: (() => void)[] = [];

  /** Records the first arrival; later ones are ignored. */
  mark(at = Date.now()): void {
    if (this.at !== undefined) return;
    this.at = at;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Resolves with the first arrival's time, or undefined after `timeoutMs`. */
  wait(timeoutMs: number): Promise<number | undefined> {
    if (this.at !== undefined) return Promise.resolve(this.at);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.#waiters.push(() => (clearTimeout(timer), resolve(this.at)));
    });
  }
}

// Work that many callers ask for within one turn of the event loop, done once per key at its end: a
// flash sale's winners each settle their gate entry, count their claim and queue their webhooks, and
// one Redis command per key and turn serves them all.

export class TurnBatch<T> {
  readonly #open = new Map<string, { items: T[]; done: Promise<void> }>();

  /** `flush` gets each key's items of the turn once; every `add` of them resolves (or rejects) with it. */
  constructor(private readonly flush: (key: string, items: T[]) => Promise<void>) {}

  add(key: string, item: T): Promise<void> {
    let batch = this.#open.get(key);
    if (!batch) {
      const items: T[] = [];
      const done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.#open.delete(key);
        return this.flush(key, items);
      });
      this.#open.set(key, (batch = { items, done }));
    }
    batch.items.push(item);
    return batch.done;
  }
}

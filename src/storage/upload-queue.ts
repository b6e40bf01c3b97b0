// Uploads objects one at a time in enqueue order, retrying through store outages from a bounded in-memory spool.
import { assertSafeKey, type ObjectStore, type PutOptions } from './object-store.ts';

export interface UploadQueueLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface UploadQueueOptions {
  store: ObjectStore;
  /** Most body bytes held while waiting (including the one in flight). */
  maxSpoolBytes: number;
  /** After a successful put; seconds is the duration of that (last) attempt. */
  onUploaded?: (key: string, bytes: number, seconds: number) => void;
  /** For an object that will never reach the store: spool full, or queue closed before it landed. */
  onFailure?: (key: string, error: Error) => void;
  /** After each failed attempt that will be retried. */
  onRetry?: (key: string, error: Error, attempt: number) => void;
  logger?: UploadQueueLogger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

interface Item {
  key: string;
  body: Buffer;
  options: PutOptions;
  waiters: Waiter[];
}

export class UploadQueue {
  readonly #store: ObjectStore;
  readonly #maxSpoolBytes: number;
  readonly #onUploaded: UploadQueueOptions['onUploaded'];
  readonly #onFailure: UploadQueueOptions['onFailure'];
  readonly #onRetry: UploadQueueOptions['onRetry'];
  readonly #logger: UploadQueueLogger | undefined;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;

  readonly #waiting: Item[] = [];
  #inFlight: Item | undefined;
  #pendingBytes = 0;
  #pumping = false;
  #closed = false;
  #cancelBackoff: (() => void) | undefined;
  readonly #idleListeners = new Set<(uploaded: boolean) => void>();

  constructor(options: UploadQueueOptions) {
    this.#store = options.store;
    this.#maxSpoolBytes = options.maxSpoolBytes;
    this.#onUploaded = options.onUploaded;
    this.#onFailure = options.onFailure;
    this.#onRetry = options.onRetry;
    this.#logger = options.logger;
    this.#minBackoffMs = options.minBackoffMs ?? 200;
    this.#maxBackoffMs = Math.max(options.maxBackoffMs ?? 5000, this.#minBackoffMs);
  }

  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  get pendingCount(): number {
    return this.#waiting.length + (this.#inFlight ? 1 : 0);
  }

  /** Resolves once this object is in the store; objects land strictly in enqueue order. */
  enqueue(key: string, body: Buffer, options: PutOptions): Promise<void> {
    return this.#add(key, body, options, undefined);
  }

  /**
   * Like enqueue, but an upload of the same key that has not started yet is dropped in favour of this one
   * (every caller's promise then resolves when this newest body lands). For playlists rewritten every segment.
   */
  enqueueReplace(key: string, body: Buffer, options: PutOptions): Promise<void> {
    let index = this.#waiting.length - 1;
    while (index >= 0 && this.#waiting[index]?.key !== key) index -= 1;
    return this.#add(key, body, options, index === -1 ? undefined : index);
  }

  /** true once everything enqueued has landed; false on timeout or close. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.pendingCount === 0) return Promise.resolve(!this.#closed);
    return new Promise((resolve) => {
      const done = (uploaded: boolean) => {
        clearTimeout(timer);
        this.#idleListeners.delete(done);
        resolve(uploaded);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#idleListeners.add(done);
    });
  }

  /** Stops retrying and rejects everything not yet confirmed, including an upload in flight. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelBackoff?.();
    const left = this.#inFlight ? [this.#inFlight, ...this.#waiting] : [...this.#waiting];
    this.#waiting.length = 0;
    this.#inFlight = undefined;
    this.#pendingBytes = 0;
    if (left.length > 0) this.#logger?.error({ objects: left.length }, 'upload queue closed with objects not uploaded');
    for (const item of left) this.#fail(item, new Error('upload queue closed'));
    this.#notifyIdle(false);
  }

  #add(key: string, body: Buffer, options: PutOptions, replaceIndex: number | undefined): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('upload queue closed'));
    try {
      // A key the store would refuse would otherwise be retried forever and block everything behind it.
      assertSafeKey(key);
    } catch (error) {
      return Promise.reject(error);
    }
    const replaced = replaceIndex === undefined ? undefined : this.#waiting[replaceIndex];
    const freed = replaced?.body.length ?? 0;
    if (this.#pendingBytes - freed + body.length > this.#maxSpoolBytes) {
      const error = new Error('upload spool full');
      this.#logger?.error({ key, bytes: body.length, pendingBytes: this.#pendingBytes }, 'upload spool full, object dropped');
      this.#callback(() => this.#onFailure?.(key, error));
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = { resolve, reject };
      // The replacement goes to the back: it may reference objects enqueued after the body it replaces.
      if (replaced && replaceIndex !== undefined) this.#waiting.splice(replaceIndex, 1);
      this.#waiting.push({ key, body, options, waiters: [...(replaced?.waiters ?? []), waiter] });
      this.#pendingBytes += body.length - freed;
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (let item = this.#waiting.shift(); item && !this.#closed; item = this.#waiting.shift()) {
        this.#inFlight = item;
        if (!(await this.#upload(item))) return;
        this.#inFlight = undefined;
        this.#pendingBytes -= item.body.length;
        for (const waiter of item.waiters) waiter.resolve();
      }
      if (!this.#closed) this.#notifyIdle(true);
    } finally {
      this.#pumping = false;
    }
  }

  /** Retries until the put succeeds (true) or the queue is closed (false). */
  async #upload(item: Item): Promise<boolean> {
    for (let attempt = 0; ; attempt += 1) {
      const started = performance.now();
      try {
        await this.#store.put(item.key, item.body, item.options);
        if (this.#closed) return false;
        const seconds = (performance.now() - started) / 1000;
        this.#callback(() => this.#onUploaded?.(item.key, item.body.length, seconds));
        return true;
      } catch (error) {
        if (this.#closed) return false;
        const delayMs = this.#backoff(attempt);
        this.#logger?.warn({ key: item.key, attempt: attempt + 1, retryInMs: delayMs, err: error }, 'upload failed, will retry');
        this.#callback(() => this.#onRetry?.(item.key, error as Error, attempt + 1));
        await this.#sleep(delayMs);
        if (this.#closed) return false;
      }
    }
  }

  #backoff(attempt: number): number {
    const ceiling = Math.min(this.#maxBackoffMs, this.#minBackoffMs * 2 ** Math.min(attempt, 30));
    // Jitter over the upper half, so many nodes coming back from the same outage don't retry in lockstep.
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        resolve();
      }
      this.#cancelBackoff = finish;
    }).finally(() => {
      this.#cancelBackoff = undefined;
    });
  }

  #fail(item: Item, error: Error): void {
    this.#callback(() => this.#onFailure?.(item.key, error));
    for (const waiter of item.waiters) waiter.reject(error);
  }

  #notifyIdle(uploaded: boolean): void {
    for (const listener of [...this.#idleListeners]) listener(uploaded);
  }

  // A throwing metrics callback must not stall the queue.
  #callback(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.#logger?.error({ err: error }, 'upload queue callback threw');
    }
  }
}

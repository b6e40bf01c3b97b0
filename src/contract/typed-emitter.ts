// A small typed event emitter whose emit isolates listeners: a throwing listener is reported,
// never allowed to break the lifecycle of the object that emitted. It has no dependencies, so the
// server's objects and the pages' (the viewer socket) share it from the contract.

/** A listener may be async: `emitSerial` waits for it, `emit` does not (its rejection is reported either way). */
type Listener<Args extends unknown[]> = (...args: Args) => unknown;

export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  #listeners = new Map<keyof Events, Set<Listener<never[]>>>();
  #onListenerError: (error: unknown, event: keyof Events) => void;

  constructor(onListenerError?: (error: unknown, event: keyof Events) => void) {
    this.#onListenerError = onListenerError ?? ((error, event) => console.error(`listener of "${String(event)}" threw`, error));
  }

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const wrapper = (...args: Events[K]) => {
      this.off(event, wrapper);
      return listener(...args);
    };
    return this.on(event, wrapper);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        const result = (listener as unknown as Listener<Events[K]>)(...args);
        if (result instanceof Promise) result.catch((error: unknown) => this.#onListenerError(error, event));
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
  }

  /** Runs the listeners one after another, waiting for each (what one does may be what the next relies on). */
  protected async emitSerial<K extends keyof Events>(event: K, ...args: Events[K]): Promise<void> {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        await (listener as unknown as Listener<Events[K]>)(...args);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
  }
}

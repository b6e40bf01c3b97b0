// What the composition root closes, and in which order: each part registers how to close it as it is
// built, and they close in reverse order of creation (a part closes before what it uses).
import type { Logger } from '../log.ts';

export class Lifecycle {
  readonly #cleanups: { name: string; close: () => Promise<unknown> }[] = [];
  readonly #stopping: (() => void)[] = [];
  #closing?: Promise<void>;

  constructor(private readonly logger: Logger) {}

  /** Closed when the node stops, before the parts built earlier. */
  onClose(name: string, close: () => Promise<unknown>): void {
    this.#cleanups.push({ name, close });
  }

  /** Told first when the node stops, before anything closes (e.g. the SFU stops replacing workers). */
  onStop(stop: () => void): void {
    this.#stopping.push(stop);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const stop of this.#stopping) stop();
      for (const { name, close } of this.#cleanups.reverse()) {
        this.logger.debug({ part: name }, 'closing');
        await close().catch((error: unknown) => this.logger.error({ err: error, part: name }, 'error while closing'));
      }
    })();
    return this.#closing;
  }
}

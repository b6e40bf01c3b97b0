// Parent side of lib/cue-listeners.ts: forks it (with the same tsx loader) and talks to it over IPC.
import { IpcChild } from './ipc-child.ts';
import type { CollectResult, ListenerReply, ListenerRequest } from './cue-listeners.ts';

export class CueListeners {
  readonly #ipc = new IpcChild<ListenerRequest, ListenerReply>(new URL('./cue-listeners.ts', import.meta.url), 'cue listener process', 'advanced');

  get pid(): number | undefined {
    return this.#ipc.pid;
  }

  sockets(count: number, url: string, concurrency = 50, timeoutMs = 15_000) {
    return this.#ipc.ask<'ready'>({ type: 'ws', count, url, concurrency, timeoutMs });
  }

  viewers(count: number, whepUrl: string, baseUrl: string, concurrency = 5, timeoutMs = 20_000) {
    return this.#ipc.ask<'ready'>({ type: 'dc', count, whepUrl, baseUrl, concurrency, timeoutMs });
  }

  async reset(): Promise<void> {
    await this.#ipc.ask<'reset'>({ type: 'reset' });
  }

  async collect(postedAt: Record<number, number>): Promise<CollectResult> {
    return (await this.#ipc.ask<'collected'>({ type: 'collect', postedAt })).result;
  }

  close(): Promise<void> {
    return this.#ipc.close();
  }
}

// Parent side of a viewer swarm: forks lib/viewer-swarm.ts (with the same tsx loader) and talks to it over IPC.
import { IpcChild } from './ipc-child.ts';
import type { ViewerCounts } from './counting-viewer.ts';
import type { SwarmReply, SwarmRequest } from './viewer-swarm.ts';

export class ViewerSwarm {
  viewers = 0;
  readonly #ipc = new IpcChild<SwarmRequest, SwarmReply>(new URL('./viewer-swarm.ts', import.meta.url), 'viewer swarm');

  get pid(): number | undefined {
    return this.#ipc.pid;
  }

  async add(count: number, whepUrl: string, baseUrl: string, concurrency = 6, timeoutMs = 15_000) {
    const reply = await this.#ipc.ask<'added'>({ type: 'add', count, whepUrl, baseUrl, concurrency, timeoutMs });
    this.viewers += reply.receiving;
    return reply;
  }

  async counts(): Promise<ViewerCounts[]> {
    return (await this.#ipc.ask<'counts'>({ type: 'counts' })).viewers;
  }

  close(): Promise<void> {
    return this.#ipc.close();
  }
}

// Parent side of lib/cue-listeners.ts: forks it (with the same tsx loader) and talks to it over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CollectResult, ListenerReply, ListenerRequest } from './cue-listeners.ts';

type Request = ListenerRequest extends infer R ? (R extends ListenerRequest ? Omit<R, 'id'> : never) : never;

export class CueListeners {
  readonly child: ChildProcess;
  #nextId = 1;
  #waiting = new Map<number, (reply: ListenerReply) => void>();

  constructor() {
    this.child = fork(fileURLToPath(new URL('./cue-listeners.ts', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    this.child.on('message', (reply: ListenerReply) => {
      this.#waiting.get(reply.id)?.(reply);
      this.#waiting.delete(reply.id);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  #ask<T extends ListenerReply['type']>(request: Request): Promise<Extract<ListenerReply, { type: T }>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error('cue listener process exited'));
      this.child.once('exit', onExit);
      this.#waiting.set(id, (reply) => {
        this.child.off('exit', onExit);
        resolve(reply as Extract<ListenerReply, { type: T }>);
      });
      this.child.send({ ...request, id });
    });
  }

  sockets(count: number, url: string, concurrency = 50, timeoutMs = 15_000) {
    return this.#ask<'ready'>({ type: 'ws', count, url, concurrency, timeoutMs });
  }

  viewers(count: number, whepUrl: string, baseUrl: string, concurrency = 5, timeoutMs = 20_000) {
    return this.#ask<'ready'>({ type: 'dc', count, whepUrl, baseUrl, concurrency, timeoutMs });
  }

  async reset(): Promise<void> {
    await this.#ask<'reset'>({ type: 'reset' });
  }

  async collect(postedAt: Record<number, number>): Promise<CollectResult> {
    return (await this.#ask<'collected'>({ type: 'collect', postedAt })).result;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await Promise.race([this.#ask<'closed'>({ type: 'close' }), new Promise((resolve) => setTimeout(resolve, 20_000))]).catch(() => {});
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(kill);
  }
}

// Parent side of a viewer swarm: forks lib/viewer-swarm.ts (with the same tsx loader) and talks to it over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ViewerCounts } from './counting-viewer.ts';
import type { SwarmReply, SwarmRequest } from './viewer-swarm.ts';

type Request = SwarmRequest extends infer R ? (R extends SwarmRequest ? Omit<R, 'id'> : never) : never;

export class ViewerSwarm {
  readonly child: ChildProcess;
  #nextId = 1;
  #waiting = new Map<number, (reply: SwarmReply) => void>();
  viewers = 0;

  constructor() {
    this.child = fork(fileURLToPath(new URL('./viewer-swarm.ts', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (reply: SwarmReply) => {
      this.#waiting.get(reply.id)?.(reply);
      this.#waiting.delete(reply.id);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  #ask<T extends SwarmReply['type']>(request: Request): Promise<Extract<SwarmReply, { type: T }>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error('viewer swarm exited'));
      this.child.once('exit', onExit);
      this.#waiting.set(id, (reply) => {
        this.child.off('exit', onExit);
        resolve(reply as Extract<SwarmReply, { type: T }>);
      });
      this.child.send({ ...request, id });
    });
  }

  async add(count: number, whepUrl: string, baseUrl: string, concurrency = 6, timeoutMs = 15_000) {
    const reply = await this.#ask<'added'>({ type: 'add', count, whepUrl, baseUrl, concurrency, timeoutMs });
    this.viewers += reply.receiving;
    return reply;
  }

  async counts(): Promise<ViewerCounts[]> {
    return (await this.#ask<'counts'>({ type: 'counts' })).viewers;
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

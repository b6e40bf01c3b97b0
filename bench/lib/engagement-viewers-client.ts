// Parent side of lib/engagement-viewers.ts: forks it (with the same tsx loader) and talks to it over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChatCollectResult, ChatSendResult, ChatSlot, ClaimsResult, EngagementReply, EngagementRequest, OfferCollectResult } from './engagement-viewers.ts';

type Request = EngagementRequest extends infer R ? (R extends EngagementRequest ? Omit<R, 'id'> : never) : never;

export class EngagementViewers {
  readonly child: ChildProcess;
  #nextId = 1;
  #waiting = new Map<number, (reply: EngagementReply) => void>();

  constructor() {
    this.child = fork(fileURLToPath(new URL('./engagement-viewers.ts', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    this.child.on('message', (reply: EngagementReply) => {
      this.#waiting.get(reply.id)?.(reply);
      this.#waiting.delete(reply.id);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  #ask<T extends EngagementReply['type']>(request: Request): Promise<Extract<EngagementReply, { type: T }>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error('engagement viewer process exited'));
      this.child.once('exit', onExit);
      this.#waiting.set(id, (reply) => {
        this.child.off('exit', onExit);
        resolve(reply as Extract<EngagementReply, { type: T }>);
      });
      this.child.send({ ...request, id });
    });
  }

  /** Opens `count` sockets on `url` as viewers `<idPrefix>000000`, `<idPrefix>000001`, …; resolves once each got its state message. */
  connect(count: number, url: string, idPrefix: string, concurrency = 50, timeoutMs = 30_000) {
    return this.#ask<'ready'>({ type: 'connect', count, url, idPrefix, concurrency, timeoutMs });
  }

  async chat(slots: ChatSlot[]): Promise<ChatSendResult> {
    return (await this.#ask<'chat-sent'>({ type: 'chat', slots })).result;
  }

  async collectChat(): Promise<ChatCollectResult> {
    return (await this.#ask<'chat-collected'>({ type: 'collect-chat' })).result;
  }

  async collectOffer(): Promise<OfferCollectResult> {
    return (await this.#ask<'offer-collected'>({ type: 'collect-offer' })).result;
  }

  async claims(url: string, total: number, concurrency: number, viewerPrefix: string): Promise<ClaimsResult> {
    return (await this.#ask<'claimed'>({ type: 'claims', url, total, concurrency, viewerPrefix })).result;
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

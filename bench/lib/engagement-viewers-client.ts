// Parent side of lib/engagement-viewers.ts: forks it (with the same tsx loader) and talks to it over IPC.
import { IpcChild } from './ipc-child.ts';
import type {
  ChatCollectResult,
  ChatSendResult,
  ChatSlot,
  ClaimsResult,
  EngagementReply,
  EngagementRequest,
  OfferCollectResult,
} from './engagement-viewers.ts';

export class EngagementViewers {
  readonly #ipc = new IpcChild<EngagementRequest, EngagementReply>(
    new URL('./engagement-viewers.ts', import.meta.url),
    'engagement viewer process',
    'advanced',
  );

  get pid(): number | undefined {
    return this.#ipc.pid;
  }

  /** Opens `count` sockets on `url` as viewers `<idPrefix>000000`, `<idPrefix>000001`, …; resolves once each got its state message. */
  connect(count: number, url: string, idPrefix: string, concurrency = 50, timeoutMs = 30_000) {
    return this.#ipc.ask<'ready'>({ type: 'connect', count, url, idPrefix, concurrency, timeoutMs });
  }

  async chat(slots: ChatSlot[]): Promise<ChatSendResult> {
    return (await this.#ipc.ask<'chat-sent'>({ type: 'chat', slots })).result;
  }

  async collectChat(): Promise<ChatCollectResult> {
    return (await this.#ipc.ask<'chat-collected'>({ type: 'collect-chat' })).result;
  }

  async collectOffer(): Promise<OfferCollectResult> {
    return (await this.#ipc.ask<'offer-collected'>({ type: 'collect-offer' })).result;
  }

  /** `rate` > 0: an open loop at that many claims a second on at most `connections`; else `concurrency` claims in flight. */
  async claims(url: string, total: number, load: { concurrency: number; rate: number; connections: number }, viewerPrefix: string): Promise<ClaimsResult> {
    return (
      await this.#ipc.ask<'claimed'>({
        type: 'claims',
        url,
        total,
        concurrency: load.concurrency,
        rate: load.rate,
        connections: load.connections,
        viewerPrefix,
      })
    ).result;
  }

  /** This process's share of `total` claims sent by its viewers on their sockets at `rate`/s overall from `startAt` (epoch ms). */
  async socketClaims(offerId: string, total: number, rate: number, startAt: number, processes: number, processIndex: number): Promise<ClaimsResult> {
    return (await this.#ipc.ask<'claimed'>({ type: 'socket-claims', offerId, total, rate, startAt, processes, processIndex, timeoutMs: 30_000 })).result;
  }

  close(): Promise<void> {
    return this.#ipc.close();
  }
}

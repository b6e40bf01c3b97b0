// Watches livecue's mediasoup workers from the outside (observer API) to count what the SFU's producers received and lost.
import type { types } from 'mediasoup';

export interface SfuCounters {
  /** Packets the show's video and audio producers received, and those they saw lost (sequence gaps on arrival). */
  producerPackets: number;
  producerLost: number;
  /** Packets the piped producers of the viewer routers received, and saw lost (origin -> viewer router over a PipeTransport). */
  pipedPackets: number;
  pipedLost: number;
  /** Piped producers open on the viewer routers (one per kind and viewer router is expected). */
  pipedProducers: number;
  /** Open consumers (WHEP viewers' audio and video, and the pipes' on the origin). Their stats are not queried:
   * hundreds of getStats requests slow an overloaded worker down further. */
  consumers: number;
  /** Length of the window the deltas cover (it includes the stats queries). */
  seconds?: number;
}

export class SfuWatch {
  readonly consumers = new Set<types.Consumer>();
  /** Producers on PipeTransports: the show piped from its origin router to viewer routers. */
  readonly piped = new Set<types.Producer>();

  constructor(workers: readonly types.Worker[]) {
    for (const worker of workers) {
      worker.observer.on('newrouter', (router) =>
        router.observer.on('newtransport', (transport) => {
          transport.observer.on('newconsumer', (consumer) => {
            this.consumers.add(consumer);
            consumer.observer.once('close', () => this.consumers.delete(consumer));
          });
          transport.observer.on('newproducer', (producer) => {
            if (transport.type !== 'pipe') return;
            this.piped.add(producer);
            producer.observer.once('close', () => this.piped.delete(producer));
          });
        }),
      );
    }
  }

  /** Current totals; producers are the show's (they live on the origin router). */
  async counters(producers: (types.Producer | undefined)[]): Promise<SfuCounters> {
    const inbound = async (list: (types.Producer | undefined)[]) => {
      let packets = 0;
      let lost = 0;
      for (const producer of list) {
        for (const stat of (await producer?.getStats().catch(() => [])) ?? []) {
          packets += stat.packetCount;
          lost += stat.packetsLost;
        }
      }
      return { packets, lost };
    };
    const { packets: producerPackets, lost: producerLost } = await inbound(producers);
    const { packets: pipedPackets, lost: pipedLost } = await inbound([...this.piped]);
    return { producerPackets, producerLost, pipedPackets, pipedLost, pipedProducers: this.piped.size, consumers: this.consumers.size };
  }
}

export function sfuDelta(before: SfuCounters, after: SfuCounters, seconds: number): SfuCounters {
  return {
    seconds,
    producerPackets: after.producerPackets - before.producerPackets,
    producerLost: after.producerLost - before.producerLost,
    pipedPackets: after.pipedPackets - before.pipedPackets,
    pipedLost: after.pipedLost - before.pipedLost,
    pipedProducers: after.pipedProducers,
    consumers: after.consumers,
  };
}

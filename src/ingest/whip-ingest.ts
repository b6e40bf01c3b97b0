// WHIP ingest (RFC 9725): the publisher's WebRTC transport and producers on the show's origin
// router. Media goes straight into the SFU; the session bridges it to the HLS ladder.
import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import type { Logger } from '../log.ts';
import { buildAnswer, producerParameters, SdpError, type AnswerSection, type ParsedOffer } from '../sfu/sdp.ts';
import type { SfuRoom } from '../sfu/sfu-room.ts';
import { answerSections, type IcePatchTarget } from '../sfu/trickle-ice.ts';
import { TypedEmitter } from '../contract/typed-emitter.ts';
import type { IngestConnection, IngestConnectionEvents } from './ingest-connection.ts';

export class WhipIngest extends TypedEmitter<IngestConnectionEvents> implements IngestConnection, IcePatchTarget {
  readonly protocol = 'whip' as const;
  readonly id = randomUUID();
  etag = `"${randomUUID()}"`;
  remoteUfrag: string;
  sections: { mid: string; mline: string }[] = [];
  readonly sourceHint = {};
  #transport?: types.WebRtcTransport;
  #producers: types.Producer[] = [];
  #closed = false;
  /** The transport's received bytes, read from the worker every second (its stats are asynchronous). */
  #bytesReceived = 0;
  #statsTimer?: NodeJS.Timeout;

  constructor(
    readonly remoteAddress: string,
    private readonly offer: ParsedOffer,
    private readonly logger: Logger,
  ) {
    super((error, event) => logger.error({ err: error, event }, 'whip listener threw'));
    this.remoteUfrag = offer.iceParameters.usernameFragment;
  }

  /** The publisher's transport (set once connect() has run). */
  get transport(): types.WebRtcTransport {
    if (!this.#transport) throw new Error('the WHIP session has no transport yet');
    return this.#transport;
  }

  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  get producers(): readonly types.Producer[] {
    return this.#producers;
  }

  /** Creates the transport and producers in the room and returns the SDP answer. */
  async connect(room: SfuRoom): Promise<string> {
    const params = producerParameters(this.offer, room.router.rtpCapabilities);
    const transport = await room.createPublisherTransport();
    this.#transport = transport;
    transport.observer.once('close', () => this.#lost('transport closed'));
    try {
      const sections: AnswerSection[] = [];
      for (const section of this.offer.sections) {
        const accepted = params.find((p) => p.mid === section.mid);
        if (!accepted) {
          sections.push({ mid: section.mid, direction: 'inactive', rejected: true });
          continue;
        }
        const producer = await transport.produce({ kind: accepted.kind, rtpParameters: accepted.rtpParameters });
        this.#producers.push(producer);
        room.setProducer(accepted.kind, producer);
        sections.push({ mid: section.mid, rtpParameters: accepted.rtpParameters, direction: 'recvonly' });
      }
      if (this.#producers.length === 0) throw new SdpError(406, 'no supported codec: send Opus audio and H.264 (packetization-mode=1) or VP8 video');
      await transport.connect({ dtlsParameters: this.offer.dtlsParameters });
      this.#statsTimer = setInterval(() => void this.#readBytesReceived(transport), 1000);
      this.#statsTimer.unref();
      const answer = buildAnswer({
        offer: this.offer,
        iceParameters: transport.iceParameters,
        iceCandidates: transport.iceCandidates,
        dtlsParameters: transport.dtlsParameters,
        sections,
      });
      this.sections = answerSections(answer);
      return answer;
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  disconnect(reason: string): void {
    if (this.#closed) return;
    this.logger.info({ reason }, 'closing whip session');
    this.#transport?.close();
    this.#lost(reason);
  }

  async #readBytesReceived(transport: types.WebRtcTransport): Promise<void> {
    if (transport.closed) return;
    const stats = await transport.getStats().catch(() => []);
    const bytes = stats.reduce((sum, stat) => sum + (stat.bytesReceived ?? 0), 0);
    if (bytes > this.#bytesReceived) this.#bytesReceived = bytes;
  }

  #lost(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#statsTimer);
    this.logger.info({ reason }, 'whip publisher gone');
    this.emit('closed');
  }
}

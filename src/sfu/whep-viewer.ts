// One WHEP viewer: a WebRTC transport with consumers for the show's audio and video, negotiated from
// the viewer's recvonly offer in a single exchange. A new viewer asks the producer for a keyframe at
// once so the first picture arrives without waiting for the next GOP.
import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import { TypedEmitter } from '../contract/typed-emitter.ts';
import { buildAnswer, consumerCapabilities, SdpError, type AnswerSection, type ParsedOffer } from './sdp.ts';
import { viewerMedia } from './codecs.ts';
import { answerSections, type IcePatchTarget } from './trickle-ice.ts';
import type { MediaKind, SfuRoom } from './sfu-room.ts';

export type WhepViewerEvents = { closed: [] };

const NOT_MEDIA = /\/(rtx|red|ulpfec|flexfec-03|cn|telephone-event)$/i;

/** An inactive answer section on the viewer's own first media codec of that section, or undefined when it offered none. */
function idleSection(offer: ParsedOffer, mid: string): AnswerSection | undefined {
  const codec = (consumerCapabilities(offer, mid).codecs ?? []).find((candidate) => !NOT_MEDIA.test(candidate.mimeType));
  if (!codec || codec.preferredPayloadType === undefined) return undefined;
  return {
    mid,
    direction: 'inactive',
    rtpParameters: {
      mid,
      codecs: [
        {
          mimeType: codec.mimeType,
          payloadType: codec.preferredPayloadType,
          clockRate: codec.clockRate,
          ...(codec.channels === undefined ? {} : { channels: codec.channels }),
          parameters: codec.parameters ?? {},
          rtcpFeedback: [],
        },
      ],
      headerExtensions: [],
      encodings: [],
    },
  };
}

export class WhepViewer extends TypedEmitter<WhepViewerEvents> implements IcePatchTarget {
  readonly id = randomUUID();
  etag = `"${randomUUID()}"`;
  remoteUfrag: string;
  readonly sections: { mid: string; mline: string }[];
  #closed = false;

  private constructor(
    readonly transport: types.WebRtcTransport,
    readonly consumers: types.Consumer[],
    readonly answer: string,
    offer: ParsedOffer,
    /** SCTP stream id of the cue channel; the viewer opens it with { negotiated: true, id }. */
    readonly cueStreamId?: number,
  ) {
    super();
    this.remoteUfrag = offer.iceParameters.usernameFragment;
    this.sections = answerSections(answer);
    transport.observer.once('close', () => this.close());
  }

  static async create(room: SfuRoom, offer: ParsedOffer, msidStream: string): Promise<WhepViewer> {
    const wanted = offer.sections
      .filter((section) => (section.kind === 'audio' || section.kind === 'video') && section.direction !== 'sendonly' && section.direction !== 'inactive')
      .map((section) => section.kind as MediaKind);
    if (wanted.length === 0) throw new SdpError(400, 'the offer receives no audio or video: send a recvonly offer');
    const media = viewerMedia(consumerCapabilities(offer), {
      audio: room.producer('audio')?.rtpParameters,
      video: room.producer('video')?.rtpParameters,
    });
    if (media.videoRefusal && wanted.includes('video')) throw new SdpError(406, media.videoRefusal);
    if (media.routerCodecs.length === 0) {
      throw new SdpError(406, 'none of the offered codecs can receive this show (video is H.264 or VP8, audio Opus)');
    }
    const capabilities = media.consumeCapabilities;
    const { transport, router, producerIds } = await room.addViewer(wanted, media.routerCodecs);
    const consumers: types.Consumer[] = [];
    try {
      const sections: AnswerSection[] = [];
      const taken = new Set<MediaKind>();
      for (const section of offer.sections) {
        const kind = section.kind;
        if (kind === 'application') continue;
        if (!section.usable) {
          sections.push({ mid: section.mid, direction: 'inactive', rejected: true });
          continue;
        }
        const producerId = producerIds.get(kind);
        const receives = section.direction !== 'sendonly' && section.direction !== 'inactive';
        if (receives && !producerId && !taken.has(kind)) {
          // The show has no media of this kind (a video-only encoder): the section is accepted
          // inactive rather than rejected, so clients that cannot take a rejected section connect.
          const idle = idleSection(offer, section.mid);
          if (idle) {
            taken.add(kind);
            sections.push(idle);
            continue;
          }
        }
        if (!receives || !producerId || taken.has(kind) || !router.canConsume({ producerId, rtpCapabilities: capabilities })) {
          sections.push({ mid: section.mid, direction: 'inactive', rejected: true });
          continue;
        }
        taken.add(kind);
        // No RTX: mediasoup would pick its payload type itself, outside the viewer's layout.
        const consumer = await transport.consume({ producerId, rtpCapabilities: capabilities, paused: false, mid: section.mid, enableRtx: false });
        consumers.push(consumer);
        // The answer repeats the viewer's own fmtp for the payload type it receives on (strict
        // clients drop answer codecs whose profile is not the one they offered for that number).
        const rtpParameters: types.RtpParameters = {
          ...consumer.rtpParameters,
          codecs: consumer.rtpParameters.codecs.map((codec) =>
            media.answerParameters.has(codec.payloadType) ? { ...codec, parameters: media.answerParameters.get(codec.payloadType) } : codec,
          ),
        };
        sections.push({ mid: section.mid, rtpParameters, direction: 'sendonly', msid: { stream: msidStream, track: consumer.id } });
      }
      if (consumers.length === 0) {
        throw new SdpError(406, 'none of the offered codecs can receive this show (video is H.264 or VP8, audio Opus)');
      }
      await transport.connect({ dtlsParameters: offer.dtlsParameters });
      const application = offer.sections.find((section) => section.kind === 'application' && section.usable);
      let cueStreamId: number | undefined;
      if (application && transport.sctpParameters) {
        const dataProducerId = await room.cueProducerOn(router);
        if (dataProducerId) {
          const dataConsumer = await transport.consumeData({ dataProducerId });
          cueStreamId = dataConsumer.sctpStreamParameters?.streamId;
        }
      }
      const answer = buildAnswer({
        offer,
        iceParameters: transport.iceParameters,
        iceCandidates: transport.iceCandidates,
        dtlsParameters: transport.dtlsParameters,
        sections,
        sctp:
          application && transport.sctpParameters
            ? { port: transport.sctpParameters.port, maxMessageSize: transport.sctpParameters.maxMessageSize }
            : undefined,
      });
      const viewer = new WhepViewer(transport, consumers, answer, offer, cueStreamId);
      transport.on('dtlsstatechange', (state) => {
        if (state === 'connected') for (const consumer of consumers) if (consumer.kind === 'video') void consumer.requestKeyFrame().catch(() => {});
      });
      return viewer;
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.transport.close();
    this.emit('closed');
  }
}

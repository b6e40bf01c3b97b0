// The media codecs of livecue's mediasoup routers, and how a WHEP viewer's offer is matched to the
// show's codecs.
//
// Origin routers (`SFU_MEDIA_CODECS`) take Opus, VP8 and H.264 in every profile a WebRTC source sends
// (constrained baseline, baseline, main, constrained high, high, high 4:4:4 predictive; all with
// packetization-mode=1 and level-asymmetry-allowed): mediasoup pairs an H.264 producer with the router
// codec of the same profile, so a source's own profile-level-id is accepted as it is. mediasoup adds
// an RTX codec for each video codec and assigns the payload types (100, 101, ...) itself.
//
// Viewer routers carry the viewer's own payload types (see `viewerMedia`).
import type { types } from 'mediasoup';
import { decodes, h264Profile, PROFILE_NAMES, PROFILE_ORDER, type H264Profile } from './h264-profile.ts';

const h264 = (profileLevelId: string): types.RouterRtpCodecCapability => ({
  kind: 'video',
  mimeType: 'video/H264',
  clockRate: 90000,
  parameters: { 'packetization-mode': 1, 'profile-level-id': profileLevelId, 'level-asymmetry-allowed': 1 },
});

export const SFU_MEDIA_CODECS: types.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  h264('42e01f'),
  h264('42001f'),
  h264('4d001f'),
  h264('640c1f'),
  h264('64001f'),
  h264('f4001f'),
];

/** How one viewer receives the show: its router's codecs, what to consume with, what to answer. */
export interface ViewerMedia {
  /** Codecs of the viewer's router, each with the viewer's payload type. */
  routerCodecs: types.RouterRtpCodecCapability[];
  /** The viewer's capabilities as mediasoup must see them to consume the show's producers. */
  consumeCapabilities: types.RtpCapabilities;
  /** fmtp to answer per payload type: the viewer's own, as offered (the bitstream may be another profile). */
  answerParameters: Map<number, types.RtpCodecParameters['parameters']>;
  /** Set when the show has video the viewer's offer cannot take: the reason to answer 406 with. */
  videoRefusal?: string;
}

const isH264 = (codec: { mimeType: string }) => codec.mimeType.toLowerCase() === 'video/h264';

/**
 * The H.264 payload type a viewer gets for a source of profile `source`, from the viewer's offered
 * H.264 codecs with packetization-mode=1 (mode 0 cannot carry fragmented frames):
 *   1. one offered with the source's own profile;
 *   2. else one whose decoder the H.264 standard says decodes the source (e.g. High 4:4:4 Predictive
 *      for High, High for Main, anything for Constrained Baseline);
 *   3. else the most capable profile offered: browsers' H.264 decoders (FFmpeg, VideoToolbox,
 *      MediaCodec) decode Main and High whatever profile they offered, and the stream is never
 *      re-encoded for one viewer.
 * Ties go to the viewer's own order of preference.
 */
export function chooseH264(offered: readonly types.RtpCodecCapability[], source: H264Profile): types.RtpCodecCapability | undefined {
  const candidates = offered
    .filter((codec) => isH264(codec) && Number(codec.parameters?.['packetization-mode'] ?? 0) === 1)
    .map((codec, order) => ({ codec, order, profile: h264Profile(codec.parameters?.['profile-level-id']) }))
    .filter((candidate): candidate is typeof candidate & { profile: H264Profile } => candidate.profile !== undefined);
  const score = (profile: H264Profile) =>
    profile === source ? 2000 : decodes(profile, source) ? 1000 - PROFILE_ORDER.indexOf(profile) : PROFILE_ORDER.indexOf(profile);
  candidates.sort((a, b) => score(b.profile) - score(a.profile) || a.order - b.order);
  return candidates[0]?.codec;
}

/**
 * Matches a viewer's receive capabilities (its offer, with its payload types) to the show's producers.
 * mediasoup 3.19 consumers send with their router's payload types, and libwebrtc decodes by the
 * numbers of its own offer, so the viewer's router is created with the viewer's numbers. For H.264,
 * that router holds the source's own profile under the payload type `chooseH264` picked, and the
 * capabilities given to mediasoup say the same, so the stream passes through untouched whatever the
 * viewer offered.
 */
export function viewerMedia(offered: types.RtpCapabilities, producers: { audio?: types.RtpParameters; video?: types.RtpParameters }): ViewerMedia {
  const offeredCodecs = offered.codecs ?? [];
  const routerCodecs: types.RouterRtpCodecCapability[] = [];
  const consumeCodecs = offeredCodecs.map((codec) => ({ ...codec, parameters: { ...codec.parameters } }));
  const answerParameters = new Map<number, types.RtpCodecParameters['parameters']>();
  let videoRefusal: string | undefined;

  const opus = offeredCodecs.find((codec) => codec.mimeType.toLowerCase() === 'audio/opus' && codec.clockRate === 48000);
  if (producers.audio && opus?.preferredPayloadType !== undefined) {
    routerCodecs.push({ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: opus.preferredPayloadType });
  }

  const source = producers.video?.codecs[0];
  const offersVideo = offeredCodecs.some((codec) => codec.kind === 'video');
  if (source && offersVideo) {
    if (isH264(source)) {
      const sourceId = String(source.parameters?.['profile-level-id'] ?? '42e01f');
      const profile = h264Profile(sourceId) ?? 'constrained-baseline';
      const chosen = chooseH264(offeredCodecs, profile);
      if (chosen?.preferredPayloadType === undefined) {
        videoRefusal =
          `this show's video is H.264 ${PROFILE_NAMES[profile]} (profile-level-id ${sourceId}); ` +
          'the offer has no H.264 with packetization-mode=1 to receive it';
      } else {
        const parameters = { 'packetization-mode': 1, 'profile-level-id': sourceId, 'level-asymmetry-allowed': 1 };
        routerCodecs.push({ kind: 'video', mimeType: 'video/H264', clockRate: 90000, parameters, preferredPayloadType: chosen.preferredPayloadType });
        const consumeCodec = consumeCodecs.find((codec) => codec.preferredPayloadType === chosen.preferredPayloadType && isH264(codec))!;
        consumeCodec.parameters = { ...consumeCodec.parameters, 'profile-level-id': sourceId, 'level-asymmetry-allowed': 1 };
        answerParameters.set(chosen.preferredPayloadType, { ...chosen.parameters });
      }
    } else if (source.mimeType.toLowerCase() === 'video/vp8') {
      const vp8 = offeredCodecs.find((codec) => codec.mimeType.toLowerCase() === 'video/vp8');
      if (vp8?.preferredPayloadType === undefined) videoRefusal = "this show's video is VP8; the offer has no VP8 to receive it";
      else routerCodecs.push({ kind: 'video', mimeType: 'video/VP8', clockRate: 90000, preferredPayloadType: vp8.preferredPayloadType });
    }
  }
  return { routerCodecs, consumeCapabilities: { codecs: consumeCodecs, headerExtensions: offered.headerExtensions ?? [] }, answerParameters, videoRefusal };
}

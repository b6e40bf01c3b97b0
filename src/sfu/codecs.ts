// The media codecs every livecue mediasoup router is created with
// (`worker.createRouter({ mediaCodecs: SFU_MEDIA_CODECS })`).
//
// Opus for audio; VP8 and H.264 (packetization-mode=1, constrained baseline 42e01f and main 4d0032,
// level-asymmetry-allowed so encoders may send above the listed level) for video. mediasoup adds an
// RTX codec for each video codec and assigns the payload types (100, 101, ...) itself.
import type { types } from 'mediasoup';

export const SFU_MEDIA_CODECS: types.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '4d0032', 'level-asymmetry-allowed': 1 },
  },
];

const h264ProfileFamily = (profileLevelId: unknown): string => {
  const id = String(profileLevelId ?? '42e01f').toLowerCase();
  // Constrained baseline is 42 with constraint_set1 (e0 or c0); main is 4d; anything else is its own family.
  if (id.startsWith('42e0') || id.startsWith('42c0')) return 'cb';
  return id.slice(0, 2);
};

/**
 * Router codecs whose payload types are the ones a viewer offered. mediasoup 3.19 consumers send
 * with their router's payload types and libwebrtc decodes by the numbers of its own offer, so each
 * payload-type layout gets its own viewer routers (browsers of one kind share one).
 */
export function viewerRouterCodecs(offered: types.RtpCapabilities): types.RouterRtpCodecCapability[] {
  const codecs: types.RouterRtpCodecCapability[] = [];
  for (const codec of SFU_MEDIA_CODECS) {
    const match = (offered.codecs ?? []).find((candidate) => {
      if (candidate.mimeType.toLowerCase() !== codec.mimeType.toLowerCase() || candidate.clockRate !== codec.clockRate) return false;
      if (codec.mimeType !== 'video/H264') return true;
      return (
        Number(candidate.parameters?.['packetization-mode'] ?? 0) === 1 &&
        h264ProfileFamily(candidate.parameters?.['profile-level-id']) === h264ProfileFamily(codec.parameters?.['profile-level-id'])
      );
    });
    if (match && !codecs.some((taken) => taken.preferredPayloadType === match.preferredPayloadType)) {
      codecs.push({ ...codec, preferredPayloadType: match.preferredPayloadType });
    }
  }
  return codecs;
}

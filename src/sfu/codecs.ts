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

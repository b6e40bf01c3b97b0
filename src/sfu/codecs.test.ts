// The viewer's H.264 payload type rule and the profile a passed-through source declares, against the
// offers real clients make (Debian's Chromium, Safari, Firefox, werift, aiortc).
import type { types } from 'mediasoup';
import { describe, expect, it } from 'vitest';
import { chooseH264, viewerMedia } from './codecs.ts';
import { declarableProfileLevelId, decodes, h264Profile, spsProfileLevelId } from './h264-profile.ts';

const h264 = (payloadType: number, profileLevelId: string, mode = 1): types.RtpCodecCapability => ({
  kind: 'video',
  mimeType: 'video/H264',
  clockRate: 90000,
  preferredPayloadType: payloadType,
  parameters: { 'level-asymmetry-allowed': 1, 'packetization-mode': mode, 'profile-level-id': profileLevelId },
});
const opus: types.RtpCodecCapability = { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 111 };
const vp8: types.RtpCodecCapability = { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, preferredPayloadType: 96 };

/** Debian's Chromium 156 recvonly offer: each profile with packetization-mode 1 and 0. */
const CHROMIUM = [
  vp8,
  h264(103, '42001f'),
  h264(104, '42001f', 0),
  h264(107, '42e01f'),
  h264(108, '42e01f', 0),
  h264(109, '4d001f'),
  h264(110, '4d001f', 0),
  h264(116, 'f4001f'),
  h264(117, 'f4001f', 0),
];
const SAFARI = [h264(96, '640c1f'), h264(98, '42e01f'), vp8];
const FIREFOX = [vp8, h264(126, '42e01f'), h264(97, '42001f')];
const WERIFT = [h264(96, '42e01f'), vp8];

const source = (profileLevelId: string): types.RtpParameters => ({
  codecs: [{ mimeType: 'video/H264', payloadType: 102, clockRate: 90000, parameters: { 'packetization-mode': 1, 'profile-level-id': profileLevelId } }],
  encodings: [{ ssrc: 1 }],
});
const pt = (offer: types.RtpCodecCapability[], profileLevelId: string) => chooseH264(offer, h264Profile(profileLevelId)!)?.preferredPayloadType;

describe('the viewer H.264 payload type rule', () => {
  it('takes the offered payload type of the source profile, else a profile that decodes it, else the most capable offered', () => {
    // Chromium: its own profile for CB, baseline and main; High goes to High 4:4:4 Predictive (a High decoder by the standard).
    expect([pt(CHROMIUM, '42e01f'), pt(CHROMIUM, '42c01f'), pt(CHROMIUM, '42001f'), pt(CHROMIUM, '4d401f'), pt(CHROMIUM, '640028')]).toEqual([
      107, 107, 103, 109, 116,
    ]);
    // Safari: constrained high (640c1f) takes High and Main; constrained baseline stays on 42e01f.
    expect([pt(SAFARI, '640028'), pt(SAFARI, '4d001f'), pt(SAFARI, '42e01f')]).toEqual([96, 96, 98]);
    // Firefox and werift offer no Main or High: their most capable profile carries it (decoders take it in practice).
    expect([pt(FIREFOX, '640028'), pt(FIREFOX, '4d0028'), pt(WERIFT, '640028')]).toEqual([97, 97, 96]);
    // packetization-mode=0 only: nothing.
    expect(pt([h264(104, '42001f', 0), h264(112, '640c1f', 0)], '42e01f')).toBeUndefined();
  });

  it('builds the viewer router with the source profile under the chosen payload type and answers with the viewer fmtp', () => {
    const media = viewerMedia({ codecs: [opus, ...CHROMIUM] }, { audio: { codecs: [], encodings: [] }, video: source('64001f') });
    expect(media.videoRefusal).toBeUndefined();
    expect(media.routerCodecs).toEqual([
      { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 111 },
      {
        kind: 'video',
        mimeType: 'video/H264',
        clockRate: 90000,
        preferredPayloadType: 116,
        parameters: { 'packetization-mode': 1, 'profile-level-id': '64001f', 'level-asymmetry-allowed': 1 },
      },
    ]);
    const consumed = media.consumeCapabilities.codecs!.find((codec) => codec.kind === 'video' && codec.preferredPayloadType === 116);
    expect(consumed?.parameters?.['profile-level-id']).toBe('64001f');
    expect(media.answerParameters.get(116)).toEqual({ 'level-asymmetry-allowed': 1, 'packetization-mode': 1, 'profile-level-id': 'f4001f' });
  });

  it('refuses video to an offer with no H.264 (packetization-mode=1) for an H.264 show, with the reason', () => {
    const media = viewerMedia({ codecs: [opus, vp8, h264(104, '42001f', 0)] }, { video: source('640028') });
    expect(media.videoRefusal).toBe(
      "this show's video is H.264 High (profile-level-id 640028); the offer has no H.264 with packetization-mode=1 to receive it",
    );
    // An audio-only offer is no refusal.
    expect(viewerMedia({ codecs: [opus] }, { video: source('640028'), audio: { codecs: [], encodings: [] } }).videoRefusal).toBeUndefined();
  });
});

describe('H.264 profiles', () => {
  it('reads the profile-level-id of an SPS and declares it as mediasoup recognises it', () => {
    // x264 ultrafast (constrained baseline 3.1), main, high 4.0, high 5.1.
    expect(spsProfileLevelId(Buffer.from([0x67, 0x42, 0xc0, 0x1f, 0xda]))).toBe('42c01f');
    expect(spsProfileLevelId(Buffer.from([0x68, 0x42, 0xc0, 0x1f]))).toBeUndefined();
    expect(['42c01f', '42001e', '4d401f', '640028', '640033', '640c2a'].map(declarableProfileLevelId)).toEqual([
      '42c01f',
      '42001e',
      '4d401f',
      '640028',
      '640033',
      '640c2a',
    ]);
    expect(['42c01f', '42001e', '4d401f', '640028', '640c2a'].map(h264Profile)).toEqual([
      'constrained-baseline',
      'baseline',
      'main',
      'high',
      'constrained-high',
    ]);
    // Informative flags mediasoup does not know are dropped; level 6.0 is declared as 5.2; High 10/4:2:2/4:4:4 are not passed through.
    expect(['640828', '4d601f', '64003c', '6e0028', '7a0028', 'f40028'].map(declarableProfileLevelId)).toEqual([
      '640028',
      '4d001f',
      '640034',
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('knows which decoders take which streams', () => {
    expect(decodes('predictive-high-444', 'high')).toBe(true);
    expect(decodes('high', 'main')).toBe(true);
    expect(decodes('main', 'high')).toBe(false);
    expect(decodes('main', 'baseline')).toBe(false);
    expect(decodes('constrained-baseline', 'constrained-baseline')).toBe(true);
  });
});

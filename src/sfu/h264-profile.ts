// H.264 profiles as WebRTC signals them (RFC 6184 profile-level-id) and as the bitstream carries them
// (the SPS): what a source declares to mediasoup, and which decoder profile can play which stream.
// The profile table is the one mediasoup (h264-profile-level-id, from libwebrtc) matches codecs with.

export type H264Profile = 'constrained-baseline' | 'baseline' | 'main' | 'constrained-high' | 'high' | 'predictive-high-444';

/** level_idc values RFC 6184 / mediasoup accept (1b is 11 with constraint_set3, or 9). */
const H264_LEVELS = new Set([9, 10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52]);
const HIGHEST_LEVEL = 52;

/**
 * The profile of an fmtp profile-level-id (6 hex digits), or undefined when mediasoup would not
 * recognise it. A missing value is constrained baseline, as in libwebrtc and mediasoup.
 */
export function h264Profile(profileLevelId: unknown): H264Profile | undefined {
  if (profileLevelId === undefined || profileLevelId === '') return 'constrained-baseline';
  const text = String(profileLevelId);
  if (!/^[0-9a-fA-F]{6}$/.test(text)) return undefined;
  const idc = parseInt(text.slice(0, 2), 16);
  const iop = parseInt(text.slice(2, 4), 16);
  const level = parseInt(text.slice(4, 6), 16);
  if (!H264_LEVELS.has(level)) return undefined;
  const bit = (n: number) => (iop >> n) & 1;
  const lowNibbleClear = (iop & 0x0f) === 0;
  switch (idc) {
    case 0x42:
      if (!lowNibbleClear) return undefined;
      return bit(6) ? 'constrained-baseline' : 'baseline';
    case 0x4d:
      if (!lowNibbleClear) return undefined;
      if (bit(7)) return 'constrained-baseline';
      return bit(5) ? undefined : 'main';
    case 0x58:
      if (!lowNibbleClear || !bit(7)) return undefined;
      return bit(6) ? 'constrained-baseline' : 'baseline';
    case 0x64:
      if (iop === 0x00) return 'high';
      return iop === 0x0c ? 'constrained-high' : undefined;
    case 0xf4:
      return iop === 0x00 ? 'predictive-high-444' : undefined;
    default:
      return undefined;
  }
}

const hex = (value: number) => value.toString(16).padStart(2, '0');

/** profile-level-id of an SPS NAL unit (its first byte is the NAL header): profile_idc, constraint flags, level_idc. */
export function spsProfileLevelId(sps: Buffer): string | undefined {
  if (sps.length < 4 || (sps[0]! & 0x1f) !== 7) return undefined;
  return `${hex(sps[1]!)}${hex(sps[2]!)}${hex(sps[3]!)}`;
}

/**
 * What a passed-through source declares to the SFU: its own profile-level-id where mediasoup
 * recognises it, else the same profile and level with the constraint flags mediasoup knows for it
 * (encoders set informative flags, e.g. constraint_set4 alone on progressive High). Undefined for
 * other profiles (Extended, High 10, High 4:2:2, High 4:4:4), which WebRTC viewers cannot all decode:
 * those sources are encoded once for WebRTC instead.
 */
export function declarableProfileLevelId(profileLevelId: string): string | undefined {
  if (!/^[0-9a-fA-F]{6}$/.test(profileLevelId)) return undefined;
  const id = profileLevelId.toLowerCase();
  const idc = parseInt(id.slice(0, 2), 16);
  if (idc !== 0x42 && idc !== 0x4d && idc !== 0x64) return undefined;
  if (h264Profile(id)) return id;
  const iop = parseInt(id.slice(2, 4), 16);
  let level = parseInt(id.slice(4, 6), 16);
  // Levels above 5.2 (6.x) are declared as 5.2: the router codecs allow level asymmetry anyway.
  if (!H264_LEVELS.has(level)) level = level > HIGHEST_LEVEL ? HIGHEST_LEVEL : 31;
  switch (idc) {
    case 0x42:
      return `42${hex(iop & 0x40 ? 0xe0 : 0x00)}${hex(level)}`;
    case 0x4d:
      return `4d${hex(iop & 0x80 ? 0x80 : 0x00)}${hex(level)}`;
    case 0x64:
      return `64${hex((iop & 0x0c) === 0x0c ? 0x0c : 0x00)}${hex(level)}`;
    default:
      return undefined;
  }
}

/**
 * Whether a decoder of profile `decoder` decodes every bitstream of profile `stream` (H.264 Annex A:
 * Main and High decoders take Constrained Baseline, High decoders take Main, High 4:4:4 Predictive
 * decoders take High; plain Baseline, with FMO and ASO, only Baseline decoders).
 */
export function decodes(decoder: H264Profile, stream: H264Profile): boolean {
  if (decoder === stream) return true;
  switch (stream) {
    case 'constrained-baseline':
      return true;
    case 'baseline':
      return false;
    case 'main':
      return decoder === 'high' || decoder === 'predictive-high-444';
    case 'constrained-high':
      return decoder === 'high' || decoder === 'predictive-high-444';
    case 'high':
      return decoder === 'predictive-high-444';
    case 'predictive-high-444':
      return false;
  }
}

/** Profiles from the least to the most capable decoder, for choosing among offered ones. */
export const PROFILE_ORDER: readonly H264Profile[] = ['constrained-baseline', 'baseline', 'main', 'constrained-high', 'high', 'predictive-high-444'];

export const PROFILE_NAMES: Record<H264Profile, string> = {
  'constrained-baseline': 'Constrained Baseline',
  baseline: 'Baseline',
  main: 'Main',
  'constrained-high': 'Constrained High',
  high: 'High',
  'predictive-high-444': 'High 4:4:4 Predictive',
};

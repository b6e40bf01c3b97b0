// The SDP layer between the WHIP/WHEP HTTP endpoints and mediasoup. Pure functions: no mediasoup object
// is created here, only mediasoup's types are used.
//
// API
//
//   class SdpError extends Error { readonly status: 400 | 406 | 413 | 415 }
//     What is wrong with the client's offer, with the HTTP status to answer: 400 malformed, 406 nothing
//     we can accept (codecs, simulcast flavour), 413 too large, 415 wrong Content-Type.
//
//   assertSdpContentType(contentType: string | undefined): void
//     Throws SdpError(415) unless the media type is application/sdp.
//
//   parseOffer(sdp: unknown, options: { maxBytes: number }): ParsedOffer
//     Validates a WHIP/WHEP offer: v=0, m-lines with a=mid, ICE credentials, a DTLS fingerprint, rtcp-mux on
//     RTP sections, one BUNDLE group over every usable section (mediasoup gives us one transport). The
//     remote DTLS role comes from a=setup (actpass/active/missing -> 'client', passive -> 'server'); pass
//     `dtlsParameters` to `webRtcTransport.connect()`.
//
//   producerParameters(offer: ParsedOffer, routerCapabilities: types.RouterRtpCapabilities): ProducerSection[]
//     WHIP: one `{ mid, kind, rtpParameters }` per sending audio/video section that has a codec the router
//     takes (first offered one wins; plus its RTX). Feed them to `transport.produce()`. Sections missing from
//     the result must be answered rejected (buildAnswer does that for sections it is not given).
//
//   consumerCapabilities(offer: ParsedOffer, mid?: string): types.RtpCapabilities
//     WHEP: the viewer's receive capabilities (all offered codecs with the viewer's payload types and
//     header-extension ids) for `router.canConsume()` / `transport.consume({ rtpCapabilities, mid })`.
//     NOTE: mediasoup ignores `preferredPayloadType` here: the consumer's rtpParameters carry the ROUTER's
//     payload types, and keep only header extensions whose router id equals the viewer's id. The answer
//     built from `consumer.rtpParameters` therefore declares the router's payload types (RFC 3264 only says
//     SHOULD reuse the offer's numbers): see answerPayloadTypeMismatches. Always pass `mid: section.mid` to
//     consume() so the MID header extension mediasoup writes matches the viewer's m-section (buildAnswer
//     throws when the MID extension is negotiated and the mids differ).
//
//   answerPayloadTypeMismatches(offer: ParsedOffer, mid: string, rtpParameters: types.RtpParameters): PayloadTypeMismatch[]
//     WHEP: the codecs of a consumer whose payload type does not denote the same codec in the viewer's
//     offer. libwebrtc demultiplexes received RTP with the payload types of ITS OWN offer and ignores the
//     answer's (verified with @roamhq/wrtc, which embeds the same engine as Chrome/Edge/Safari), so a
//     non-empty result means such a viewer drops or misreads those packets (werift follows the answer).
//     mediasoup 3.19 cannot rewrite payload types per consumer (versatica/mediasoup#1126): the caller must
//     consume from a router whose codec preferredPayloadType values equal the viewer's (e.g. pipeToRouter
//     into a router created for that payload-type layout) and use `enableRtx: false` when the RTX payload
//     type cannot be aligned (mediasoup picks RTX payload types itself).
//
//   buildAnswer(input: BuildAnswerInput): string
//     The SDP answer: mirrors the offer's m-lines in order; accepted sections carry our ICE-lite
//     credentials, host candidates + end-of-candidates, fingerprint, setup (passive unless the offer was
//     passive), rtcp-mux, codecs/extmaps from the given rtpParameters, and for sending sections msid +
//     a=ssrc (+ FID group). Sections not listed in `input.sections` (or listed `rejected`) get port 0.
import { randomInt, randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import sdpTransform from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import { h264Profile } from './h264-profile.ts';

// ---------------------------------------------------------------------------------------------------------
// Public types

export type SdpErrorStatus = 400 | 406 | 413 | 415;

/** A problem with the client's SDP, carrying the HTTP status to reply with. Messages never echo long input. */
export class SdpError extends Error {
  readonly status: SdpErrorStatus;
  constructor(status: SdpErrorStatus, message: string) {
    super(message);
    this.name = 'SdpError';
    this.status = status;
  }
}

export type MediaDirection = 'sendonly' | 'recvonly' | 'sendrecv' | 'inactive';

/** m-line media types; any other type (text, message, image...) makes parseOffer throw 400. */
export type SectionKind = 'audio' | 'video' | 'application';

export interface OfferSection {
  /** Position of the m-line in the offer. */
  index: number;
  mid: string;
  kind: SectionKind;
  /** Media-level direction, else session-level, else sendrecv. */
  direction: MediaDirection;
  port: number;
  /**
   * False when the section cannot be accepted whatever the caller wants: disabled by the offerer (port 0
   * without a=bundle-only) or a data channel that is not UDP/DTLS/SCTP webrtc-datachannel. buildAnswer
   * rejects such sections whatever it is given for them.
   */
  usable: boolean;
  /** The raw sdp-transform media object (codecs, extmaps, ssrcs, ...). */
  media: MediaDescription;
}

export interface ParsedOffer {
  iceParameters: { usernameFragment: string; password: string };
  /** The remote (client) DTLS parameters: pass to `webRtcTransport.connect({ dtlsParameters })`. */
  dtlsParameters: types.DtlsParameters;
  sections: OfferSection[];
  /** True when the usable sections are all in one a=group:BUNDLE. */
  bundle: boolean;
  /** The offer had a=extmap-allow-mixed (session or media level): echoed in the answer. */
  extmapAllowMixed: boolean;
  raw: SessionDescription;
}

export interface ProducerSection {
  mid: string;
  kind: 'audio' | 'video';
  rtpParameters: types.RtpParameters;
}

export interface AnswerSection {
  mid: string;
  /** Accepted RTP section: what we send (WHEP: consumer.rtpParameters) or receive (WHIP: producer rtpParameters). */
  rtpParameters?: types.RtpParameters;
  direction: 'recvonly' | 'sendonly' | 'inactive';
  rejected?: boolean;
  /** For sending sections, the msid stream id and track id (defaults: "livecue" and "<kind>-<mid>"). */
  msid?: { stream: string; track: string };
}

export interface BuildAnswerInput {
  offer: ParsedOffer;
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  /** Local DTLS parameters (transport.dtlsParameters): the sha-256 fingerprint is used when present. */
  dtlsParameters: types.DtlsParameters;
  /** One per accepted offer section, matched by mid; offer sections without an entry are rejected. */
  sections: AnswerSection[];
  /** Accept the offer's m=application (data channel) section with these SCTP parameters; rejected otherwise. */
  sctp?: { port: number; maxMessageSize: number };
  /** mediasoup is ICE-lite; default true. */
  iceLite?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Content type

/** Throws SdpError(415) unless `contentType` is application/sdp (parameters ignored, case-insensitive). */
export function assertSdpContentType(contentType: string | undefined): void {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/sdp') {
    throw new SdpError(415, 'Content-Type must be application/sdp');
  }
}

// ---------------------------------------------------------------------------------------------------------
// Offer parsing

const FINGERPRINT_ALGORITHMS: readonly types.FingerprintAlgorithm[] = ['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512'];
const RTP_PROTOCOL = /^(UDP|TCP)\/(D?TLS)\/RTP\/SAVPF?$/i;
const SCTP_PROTOCOL = /^(UDP|TCP)\/DTLS\/SCTP$/i;
const ICE_CHARS = /^[A-Za-z0-9+/]{1,256}$/;

/** Shortens a client-provided value before it goes into an error message. */
function clip(value: unknown): string {
  const text = String(value).replace(/[^\x20-\x7e]/g, '?');
  return text.length > 32 ? `${text.slice(0, 32)}...` : text;
}

function isDirection(value: unknown): value is MediaDirection {
  return value === 'sendonly' || value === 'recvonly' || value === 'sendrecv' || value === 'inactive';
}

function isFingerprintAlgorithm(value: string): value is types.FingerprintAlgorithm {
  return (FINGERPRINT_ALGORITHMS as readonly string[]).includes(value);
}

/**
 * sdp-transform keeps a single a=fingerprint per level (the last one), so fingerprints are read from the
 * raw lines: index 0 is the session level, index i + 1 the i-th m-section. Unknown hash functions are
 * counted (to tell "missing" from "unsupported") but not returned.
 */
function scanFingerprints(text: string): { fingerprints: types.DtlsFingerprint[][]; unsupported: number } {
  const fingerprints: types.DtlsFingerprint[][] = [[]];
  let unsupported = 0;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line.startsWith('m=')) {
      fingerprints.push([]);
      continue;
    }
    const match = /^a=fingerprint:\s*(\S+)\s+([0-9A-Fa-f:]+)\s*$/.exec(line);
    if (!match) continue;
    const algorithm = (match[1] ?? '').toLowerCase();
    const value = (match[2] ?? '').toUpperCase();
    if (!isFingerprintAlgorithm(algorithm)) {
      unsupported++;
      continue;
    }
    fingerprints[fingerprints.length - 1]?.push({ algorithm, value });
  }
  return { fingerprints, unsupported };
}

/**
 * Parses and validates a WHIP/WHEP SDP offer. Throws SdpError: 413 when larger than `options.maxBytes`
 * (UTF-8 bytes), 400 for anything malformed or not usable over a single bundled mediasoup transport.
 */
export function parseOffer(sdp: unknown, options: { maxBytes: number }): ParsedOffer {
  if (typeof sdp !== 'string') throw new SdpError(400, 'the SDP offer must be a string');
  if (sdp.length > options.maxBytes || Buffer.byteLength(sdp, 'utf8') > options.maxBytes) {
    throw new SdpError(413, `the SDP offer is larger than ${options.maxBytes} bytes`);
  }
  const text = sdp.replace(/^\uFEFF/, '').trimStart();
  if (text.trim() === '') throw new SdpError(400, 'the SDP offer is empty');
  if (!/^v=0[ \t]*(\r\n|\r|\n)/.test(text)) throw new SdpError(400, 'not an SDP offer: it must start with "v=0"');

  let raw: SessionDescription;
  try {
    raw = sdpTransform.parse(text);
  } catch {
    throw new SdpError(400, 'not an SDP offer: it could not be parsed');
  }
  if (!Array.isArray(raw.media) || raw.media.length === 0) {
    throw new SdpError(400, 'the SDP offer has no media sections (m= lines)');
  }

  const sections: OfferSection[] = [];
  const seenMids = new Set<string>();
  for (const [index, media] of raw.media.entries()) {
    const port = Number(media.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535 || typeof media.protocol !== 'string') {
      throw new SdpError(400, `m-section ${index} has a malformed m= line`);
    }
    // sdp-transform turns numeric-looking values (a=mid:0) into numbers.
    const mid = media.mid === undefined ? '' : String(media.mid);
    if (mid === '') throw new SdpError(400, `m-section ${index} has no a=mid`);
    if (mid.length > 64) throw new SdpError(400, `m-section ${index} has an a=mid longer than 64 characters`);
    if (seenMids.has(mid)) throw new SdpError(400, `duplicate a=mid "${clip(mid)}"`);
    seenMids.add(mid);

    const type = String(media.type);
    if (type !== 'audio' && type !== 'video' && type !== 'application') {
      throw new SdpError(400, `m-section "${clip(mid)}" has unsupported media type "${clip(type)}"`);
    }
    const kind: SectionKind = type;
    const mediaDirection = media.direction ?? raw.direction;
    const direction: MediaDirection = isDirection(mediaDirection) ? mediaDirection : 'sendrecv';
    let usable = port !== 0 || media.bundleOnly !== undefined;

    if (kind === 'audio' || kind === 'video') {
      if (usable && !RTP_PROTOCOL.test(media.protocol)) {
        throw new SdpError(400, `m-section "${clip(mid)}" uses transport "${clip(media.protocol)}": WebRTC needs UDP/TLS/RTP/SAVPF`);
      }
      if (usable && media.rtcpMux === undefined) {
        throw new SdpError(400, `m-section "${clip(mid)}" lacks a=rtcp-mux (RTP and RTCP must share one port)`);
      }
    } else if (!SCTP_PROTOCOL.test(media.protocol) || String(media.payloads ?? '') !== 'webrtc-datachannel') {
      usable = false;
    }
    sections.push({ index, mid, kind, direction, port, usable, media });
  }

  const usableSections = sections.filter((section) => section.usable);
  const first = usableSections[0];
  if (!first) throw new SdpError(400, 'every m-section of the SDP offer is disabled or unsupported');

  const bundleGroup = (raw.groups ?? []).find((group) => String(group.type).toUpperCase() === 'BUNDLE');
  const bundleMids = bundleGroup ? String(bundleGroup.mids).split(/\s+/).filter(Boolean) : [];
  const bundle = bundleGroup !== undefined && usableSections.every((section) => bundleMids.includes(section.mid));
  if (usableSections.length > 1 && !bundle) {
    throw new SdpError(400, 'the SDP offer must put all its m-sections in one a=group:BUNDLE (separate transports are not supported)');
  }

  // The transport's ICE/DTLS parameters come from the BUNDLE-tagged section (the first usable mid listed).
  const tag = bundle ? (bundleMids.map((mid) => usableSections.find((section) => section.mid === mid)).find((section) => section) ?? first) : first;

  const ufrag = tag.media.iceUfrag ?? raw.iceUfrag;
  const pwd = tag.media.icePwd ?? raw.icePwd;
  if (ufrag === undefined || pwd === undefined || String(ufrag) === '' || String(pwd) === '') {
    throw new SdpError(400, 'the SDP offer lacks a=ice-ufrag / a=ice-pwd');
  }
  const usernameFragment = String(ufrag);
  const password = String(pwd);
  if (!ICE_CHARS.test(usernameFragment) || !ICE_CHARS.test(password)) {
    throw new SdpError(400, 'the SDP offer has an invalid a=ice-ufrag / a=ice-pwd');
  }

  const scanned = scanFingerprints(text);
  const mediaFingerprints = scanned.fingerprints[tag.index + 1] ?? [];
  const fingerprints = mediaFingerprints.length > 0 ? mediaFingerprints : (scanned.fingerprints[0] ?? []);
  if (fingerprints.length === 0) {
    throw new SdpError(
      400,
      scanned.unsupported > 0
        ? 'the SDP offer has no a=fingerprint with a supported hash (sha-1, sha-224, sha-256, sha-384, sha-512)'
        : 'the SDP offer lacks a=fingerprint (DTLS-SRTP is required)',
    );
  }

  const setup = String(tag.media.setup ?? raw.setup ?? 'actpass').toLowerCase();
  let role: types.DtlsRole;
  if (setup === 'actpass' || setup === 'active') role = 'client';
  else if (setup === 'passive') role = 'server';
  else throw new SdpError(400, `unsupported a=setup:${clip(setup)}`);

  const extmapAllowMixed = raw.extmapAllowMixed !== undefined || usableSections.some((section) => section.media.extmapAllowMixed !== undefined);

  return {
    iceParameters: { usernameFragment, password },
    dtlsParameters: { role, fingerprints },
    sections,
    bundle,
    extmapAllowMixed,
    raw,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Codecs

interface OfferedCodec {
  payloadType: number;
  mimeType: string;
  clockRate: number;
  channels?: number;
  parameters: Record<string, string | number>;
  rtcpFeedback: types.RtcpFeedback[];
}

/** fmtp keys whose values must stay strings even when they look numeric (mediasoup's H.264 code needs it). */
const STRING_FMTP_KEYS = new Set(['profile-level-id']);

/** Parses an a=fmtp config ("a=1;b=x") into mediasoup codec parameters (integers become numbers). */
function parseFmtp(config: string): Record<string, string | number> {
  const parameters: Record<string, string | number> = {};
  for (const part of config.split(';')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const key = (eq === -1 ? item : item.slice(0, eq)).trim().toLowerCase();
    const value = eq === -1 ? '' : item.slice(eq + 1).trim();
    if (key === '') continue;
    parameters[key] = /^\d{1,15}$/.test(value) && !STRING_FMTP_KEYS.has(key) ? Number(value) : value;
  }
  return parameters;
}

function payloadOrder(media: MediaDescription): number[] {
  return String(media.payloads ?? '')
    .split(/\s+/)
    .filter((token) => /^\d+$/.test(token))
    .map(Number);
}

function isRtxMime(mimeType: string): boolean {
  return /\/rtx$/i.test(mimeType);
}

/** The section's codecs (m-line order, only payload types with an a=rtpmap), as mediasoup codec parameters. */
function offeredCodecs(section: OfferSection): OfferedCodec[] {
  const { media } = section;
  const codecs: OfferedCodec[] = [];
  for (const payloadType of payloadOrder(media)) {
    const rtpmap = media.rtp.find((entry) => Number(entry.payload) === payloadType);
    if (!rtpmap || rtpmap.rate === undefined) continue;
    const clockRate = Number(rtpmap.rate);
    if (!Number.isInteger(clockRate) || clockRate <= 0) continue;
    const name = String(rtpmap.codec);
    const mimeType = `${section.kind}/${name}`;
    let channels: number | undefined;
    if (section.kind === 'audio') {
      // RFC 7587: Opus is always signalled as opus/48000/2.
      channels = name.toLowerCase() === 'opus' ? 2 : Number(rtpmap.encoding ?? 1) || 1;
    }
    const fmtp = media.fmtp.filter((entry) => Number(entry.payload) === payloadType);
    const parameters = fmtp.reduce<Record<string, string | number>>((acc, entry) => Object.assign(acc, parseFmtp(String(entry.config))), {});
    const rtcpFeedback: types.RtcpFeedback[] = [];
    for (const fb of media.rtcpFb ?? []) {
      if (String(fb.payload) !== '*' && Number(fb.payload) !== payloadType) continue;
      const feedback: types.RtcpFeedback = fb.subtype ? { type: fb.type, parameter: fb.subtype } : { type: fb.type };
      if (!rtcpFeedback.some((known) => sameFeedback(known, feedback))) rtcpFeedback.push(feedback);
    }
    codecs.push({
      payloadType,
      mimeType,
      clockRate,
      ...(channels === undefined ? {} : { channels }),
      parameters,
      rtcpFeedback,
    });
  }
  return codecs;
}

function sameFeedback(a: types.RtcpFeedback, b: types.RtcpFeedback): boolean {
  return a.type === b.type && (a.parameter ?? '') === (b.parameter ?? '');
}

/** Whether mediasoup's strict codec match would pair the offered codec with this router codec. */
function matchesRouterCodec(codec: OfferedCodec, cap: types.RouterRtpCodecCapability): boolean {
  const mime = codec.mimeType.toLowerCase();
  if (mime !== cap.mimeType.toLowerCase() || codec.clockRate !== cap.clockRate) return false;
  if (mime.startsWith('audio/') && codec.channels !== (cap.channels ?? 1)) return false;
  const capParameters = cap.parameters ?? {};
  if (mime === 'video/h264') {
    const mode = Number(codec.parameters['packetization-mode'] ?? 0);
    if (mode !== Number(capParameters['packetization-mode'] ?? 0)) return false;
    const profile = h264Profile(codec.parameters['profile-level-id']);
    return profile !== undefined && profile === h264Profile(capParameters['profile-level-id']);
  }
  if (mime === 'video/vp9') {
    return Number(codec.parameters['profile-id'] ?? 0) === Number(capParameters['profile-id'] ?? 0);
  }
  if (mime === 'audio/multiopus') {
    return codec.parameters['num_streams'] === capParameters['num_streams'] && codec.parameters['coupled_streams'] === capParameters['coupled_streams'];
  }
  return true;
}

const NOT_MEDIA_CODECS = new Set(['rtx', 'red', 'ulpfec', 'flexfec-03', 'cn', 'telephone-event']);

// ---------------------------------------------------------------------------------------------------------
// WHIP: producer parameters

/** Every header extension URI mediasoup knows (its `RtpHeaderExtensionUri` type). */
const MEDIASOUP_HEADER_EXTENSION_URIS: readonly types.RtpHeaderExtensionUri[] = [
  'urn:ietf:params:rtp-hdrext:sdes:mid',
  'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'urn:3gpp:video-orientation',
  'urn:ietf:params:rtp-hdrext:toffset',
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time',
  'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
  'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension',
];

function isMediasoupHeaderExtension(uri: string): uri is types.RtpHeaderExtensionUri {
  return (MEDIASOUP_HEADER_EXTENSION_URIS as readonly string[]).includes(uri);
}

const MID_URI: types.RtpHeaderExtensionUri = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const RID_URI: types.RtpHeaderExtensionUri = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';

/** The offered extmaps the offerer may send, as header extension parameters (unencrypted only). */
function offeredHeaderExtensions(section: OfferSection): { uri: types.RtpHeaderExtensionUri; id: number }[] {
  const result: { uri: types.RtpHeaderExtensionUri; id: number }[] = [];
  for (const ext of section.media.ext ?? []) {
    const id = Number(ext.value);
    if (!Number.isInteger(id) || id < 1 || id > 255) continue;
    if (ext['encrypt-uri'] !== undefined || ext.direction === 'recvonly' || ext.direction === 'inactive') continue;
    const uri = String(ext.uri);
    if (!isMediasoupHeaderExtension(uri)) continue;
    if (result.some((known) => known.uri === uri || known.id === id)) continue;
    result.push({ uri, id });
  }
  return result;
}

/** Reads "a=simulcast:send" (RFC 8853) into rid-based encodings; undefined when the section has no send simulcast. */
function simulcastEncodings(section: OfferSection): types.RtpEncodingParameters[] | undefined {
  const { media } = section;
  if (media.simulcast_03 !== undefined) {
    throw new SdpError(406, 'simulcast is only supported in the RFC 8853 form (a=simulcast:send with a=rid)');
  }
  const simulcast = media.simulcast;
  if (!simulcast) return undefined;
  const list = simulcast.dir1 === 'send' ? simulcast.list1 : simulcast.dir2 === 'send' ? simulcast.list2 : undefined;
  if (list === undefined) return undefined;
  // "h;~m;l,l2": ';' separates streams, ',' alternatives (first one taken), '~' marks a paused stream.
  const rids = String(list)
    .split(';')
    .map((stream) => (stream.split(',')[0] ?? '').trim().replace(/^~/, ''))
    .filter((rid) => rid !== '');
  if (rids.length === 0) return undefined;
  if (new Set(rids).size !== rids.length || rids.some((rid) => !/^[A-Za-z0-9_-]{1,16}$/.test(rid))) {
    throw new SdpError(400, `m-section "${clip(section.mid)}" has an invalid a=simulcast list`);
  }
  // mediasoup treats encodings[0] as the lowest spatial layer: sort by the a=rid max-height / max-width
  // restrictions when every stream has one, else keep the offer's order.
  const sizeOf = (rid: string): number | undefined => {
    const line = (media.rids ?? []).find((entry) => String(entry.id) === rid && entry.direction === 'send');
    if (!line?.params) return undefined;
    const params = Object.fromEntries(
      String(line.params)
        .split(';')
        .map((pair) => pair.split('=').map((part) => part.trim())),
    ) as Record<string, string | undefined>;
    const size = Number(params['max-height'] ?? params['max-width']);
    return Number.isFinite(size) && size > 0 ? size : undefined;
  };
  const sizes = rids.map(sizeOf);
  const ordered = sizes.every((size) => size !== undefined)
    ? rids
        .map((rid, i) => ({ rid, size: sizes[i] ?? 0 }))
        .sort((a, b) => a.size - b.size)
        .map((entry) => entry.rid)
    : rids;
  return ordered.map((rid) => ({ rid }));
}

/** SSRC-signalled encodings: a=ssrc-group:SIM (legacy simulcast) or the first primary a=ssrc, with FID RTX. */
function ssrcEncodings(section: OfferSection, withRtx: boolean): types.RtpEncodingParameters[] {
  const { media } = section;
  const groups = (media.ssrcGroups ?? []).map((group) => ({
    semantics: String(group.semantics).toUpperCase(),
    ssrcs: String(group.ssrcs).split(/\s+/).filter(Boolean).map(Number),
  }));
  const rtxFor = (ssrc: number): number | undefined => groups.find((group) => group.semantics === 'FID' && group.ssrcs[0] === ssrc)?.ssrcs[1];
  const secondary = new Set(groups.filter((group) => group.semantics === 'FID' || group.semantics === 'FEC-FR').flatMap((g) => g.ssrcs.slice(1)));
  const sim = groups.find((group) => group.semantics === 'SIM');
  const primaries = sim ? sim.ssrcs : [...new Set((media.ssrcs ?? []).map((line) => Number(line.id)))].filter((ssrc) => !secondary.has(ssrc)).slice(0, 1);
  return primaries
    .filter((ssrc) => Number.isInteger(ssrc) && ssrc > 0 && ssrc <= 0xffffffff)
    .map((ssrc) => {
      const rtx = withRtx ? rtxFor(ssrc) : undefined;
      return rtx !== undefined && Number.isInteger(rtx) && rtx > 0 ? { ssrc, rtx: { ssrc: rtx } } : { ssrc };
    });
}

function cnameOf(section: OfferSection, ssrc: number | undefined): string | undefined {
  const lines = (section.media.ssrcs ?? []).filter((line) => line.attribute === 'cname' && line.value);
  const own = ssrc === undefined ? undefined : lines.find((line) => Number(line.id) === ssrc);
  const value = (own ?? lines[0])?.value;
  return value === undefined ? undefined : String(value);
}

/**
 * WHIP: mediasoup producer RtpParameters for each usable sendonly/sendrecv audio/video section. Per section
 * the first offered codec the router supports is taken, with its RTX when offered; rtcp-fb is the offer's,
 * limited to what the router codec supports; header extensions are the offer's ids for the URIs the router
 * receives. Encodings: RFC 8853 rid simulcast, else a=ssrc (SIM group / FID RTX), else one MID-matched
 * encoding (needs the sdes:mid extension). Sections without an acceptable codec are left out (answer them
 * rejected); throws SdpError(406) when none is acceptable, 400 when the offer sends nothing.
 */
export function producerParameters(offer: ParsedOffer, routerCapabilities: types.RouterRtpCapabilities): ProducerSection[] {
  const sending = offer.sections.filter(
    (section) =>
      section.usable && (section.kind === 'audio' || section.kind === 'video') && (section.direction === 'sendonly' || section.direction === 'sendrecv'),
  );
  if (sending.length === 0) {
    throw new SdpError(400, 'the SDP offer sends no audio or video (WHIP needs sendonly m-sections)');
  }
  const routerCodecs = routerCapabilities.codecs ?? [];
  const routerExtensions = routerCapabilities.headerExtensions ?? [];
  const result: ProducerSection[] = [];

  for (const section of sending) {
    const kind = section.kind === 'audio' ? 'audio' : 'video';
    const codecs = offeredCodecs(section);
    let chosen: { codec: OfferedCodec; cap: types.RouterRtpCodecCapability } | undefined;
    for (const codec of codecs) {
      const name = codec.mimeType.slice(codec.mimeType.indexOf('/') + 1).toLowerCase();
      if (NOT_MEDIA_CODECS.has(name)) continue;
      const cap = routerCodecs.find((candidate) => candidate.kind === kind && matchesRouterCodec(codec, candidate));
      if (cap) {
        chosen = { codec, cap };
        break;
      }
    }
    if (!chosen) continue;

    const { codec, cap } = chosen;
    const capFeedback = cap.rtcpFeedback ?? [];
    const rtpCodecs: types.RtpCodecParameters[] = [
      {
        mimeType: codec.mimeType,
        payloadType: codec.payloadType,
        clockRate: codec.clockRate,
        ...(codec.channels === undefined ? {} : { channels: codec.channels }),
        parameters: { ...codec.parameters },
        rtcpFeedback: codec.rtcpFeedback.filter((fb) => capFeedback.some((known) => sameFeedback(known, fb))),
      },
    ];
    const routerHasRtx = routerCodecs.some(
      (candidate) => isRtxMime(candidate.mimeType) && cap.preferredPayloadType !== undefined && candidate.parameters?.['apt'] === cap.preferredPayloadType,
    );
    const rtx = routerHasRtx ? codecs.find((candidate) => isRtxMime(candidate.mimeType) && candidate.parameters['apt'] === codec.payloadType) : undefined;
    if (rtx) {
      rtpCodecs.push({
        mimeType: rtx.mimeType,
        payloadType: rtx.payloadType,
        clockRate: rtx.clockRate,
        parameters: { apt: codec.payloadType },
        rtcpFeedback: [],
      });
    }

    const headerExtensions: types.RtpHeaderExtensionParameters[] = offeredHeaderExtensions(section)
      .filter((ext) =>
        routerExtensions.some(
          (known) =>
            known.kind === kind && known.uri === ext.uri && (known.direction === undefined || known.direction === 'sendrecv' || known.direction === 'recvonly'),
        ),
      )
      .map((ext) => ({ uri: ext.uri, id: ext.id }));

    let encodings = simulcastEncodings(section);
    if (encodings && !headerExtensions.some((ext) => ext.uri === RID_URI)) {
      throw new SdpError(406, 'simulcast needs the urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id header extension');
    }
    encodings ??= ssrcEncodings(section, rtx !== undefined);
    if (encodings.length === 0) {
      // No SSRC signalled: mediasoup matches the stream by its MID header extension.
      if (!headerExtensions.some((ext) => ext.uri === MID_URI)) {
        throw new SdpError(400, `m-section "${clip(section.mid)}" has neither a=ssrc nor the sdes:mid header extension: its RTP stream cannot be identified`);
      }
      encodings = [{}];
    }

    const cname = cnameOf(section, encodings[0]?.ssrc) ?? randomUUID().slice(0, 8);
    result.push({
      mid: section.mid,
      kind,
      rtpParameters: {
        mid: section.mid,
        codecs: rtpCodecs,
        headerExtensions,
        encodings,
        rtcp: { cname, reducedSize: section.media.rtcpRsize !== undefined },
      },
    });
  }

  if (result.length === 0) {
    throw new SdpError(406, 'no supported codec: send Opus audio and H.264 (packetization-mode=1) or VP8 video');
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// WHEP: consumer capabilities

/**
 * WHEP: the viewer's RtpCapabilities from its recvonly/sendrecv audio/video sections (only section `mid`
 * when given): every offered codec (incl. RTX with numeric apt) with the viewer's payload type as
 * preferredPayloadType and its fmtp/rtcp-fb, and every unencrypted extmap mediasoup knows with the
 * viewer's id. Throws SdpError(400) when the offer receives nothing.
 */
export function consumerCapabilities(offer: ParsedOffer, mid?: string): types.RtpCapabilities {
  if (mid !== undefined && !offer.sections.some((section) => section.mid === mid)) {
    throw new Error(`consumerCapabilities: the offer has no m-section with mid "${mid}"`);
  }
  const receiving = offer.sections.filter(
    (section) =>
      section.usable &&
      (section.kind === 'audio' || section.kind === 'video') &&
      (section.direction === 'recvonly' || section.direction === 'sendrecv') &&
      (mid === undefined || section.mid === mid),
  );
  if (receiving.length === 0) {
    throw new SdpError(400, 'the SDP offer receives no audio or video (WHEP needs recvonly m-sections)');
  }
  const codecs: types.RtpCodecCapability[] = [];
  const headerExtensions: types.RtpHeaderExtension[] = [];
  for (const section of receiving) {
    const kind = section.kind === 'audio' ? 'audio' : 'video';
    for (const codec of offeredCodecs(section)) {
      if (isRtxMime(codec.mimeType) && typeof codec.parameters['apt'] !== 'number') continue;
      const duplicate = codecs.some(
        (known) => known.kind === kind && known.preferredPayloadType === codec.payloadType && known.mimeType.toLowerCase() === codec.mimeType.toLowerCase(),
      );
      if (duplicate) continue;
      codecs.push({
        kind,
        mimeType: codec.mimeType,
        preferredPayloadType: codec.payloadType,
        clockRate: codec.clockRate,
        ...(codec.channels === undefined ? {} : { channels: codec.channels }),
        parameters: { ...codec.parameters },
        rtcpFeedback: codec.rtcpFeedback.map((fb) => ({ ...fb })),
      });
    }
    for (const ext of offeredHeaderExtensionsForReceiving(section)) {
      if (headerExtensions.some((known) => known.kind === kind && known.uri === ext.uri)) continue;
      headerExtensions.push({ kind, uri: ext.uri, preferredId: ext.id, preferredEncrypt: false, direction: 'sendrecv' });
    }
  }
  return { codecs, headerExtensions };
}

/** Extmaps usable towards a receiving viewer (anything but sendonly/inactive from its side, unencrypted). */
function offeredHeaderExtensionsForReceiving(section: OfferSection): { uri: types.RtpHeaderExtensionUri; id: number }[] {
  const result: { uri: types.RtpHeaderExtensionUri; id: number }[] = [];
  for (const ext of section.media.ext ?? []) {
    const id = Number(ext.value);
    if (!Number.isInteger(id) || id < 1 || id > 255) continue;
    if (ext['encrypt-uri'] !== undefined || ext.direction === 'sendonly' || ext.direction === 'inactive') continue;
    const uri = String(ext.uri);
    if (!isMediasoupHeaderExtension(uri)) continue;
    if (result.some((known) => known.uri === uri || known.id === id)) continue;
    result.push({ uri, id });
  }
  return result;
}

export interface PayloadTypeMismatch {
  payloadType: number;
  /** The codec we send with this payload type. */
  mimeType: string;
  /** What the viewer's offer maps this payload type to (undefined: not offered). */
  offered?: string;
}

/** See the header: consumer codecs whose payload type means something else (or nothing) in the viewer's offer. */
export function answerPayloadTypeMismatches(offer: ParsedOffer, mid: string, rtpParameters: types.RtpParameters): PayloadTypeMismatch[] {
  const section = offer.sections.find((candidate) => candidate.mid === mid);
  if (!section) throw new Error(`answerPayloadTypeMismatches: the offer has no m-section with mid "${mid}"`);
  const offered = offeredCodecs(section);
  const mismatches: PayloadTypeMismatch[] = [];
  for (const codec of rtpParameters.codecs) {
    const match = offered.find((candidate) => candidate.payloadType === codec.payloadType);
    const same =
      match !== undefined &&
      match.mimeType.toLowerCase() === codec.mimeType.toLowerCase() &&
      match.clockRate === codec.clockRate &&
      (!isRtxMime(codec.mimeType) || match.parameters['apt'] === codec.parameters?.['apt']);
    if (!same) {
      mismatches.push({
        payloadType: codec.payloadType,
        mimeType: codec.mimeType,
        ...(match ? { offered: match.mimeType } : {}),
      });
    }
  }
  return mismatches;
}

// ---------------------------------------------------------------------------------------------------------
// Answer

type SdpMedia = MediaDescription;

function formatFmtp(parameters: Record<string, unknown> | undefined): string {
  return Object.entries(parameters ?? {})
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => (value === '' ? key : `${key}=${String(value)}`))
    .join(';');
}

function allowedAnswerDirections(offered: MediaDirection): readonly string[] {
  switch (offered) {
    case 'sendonly':
      return ['recvonly', 'inactive'];
    case 'recvonly':
      return ['sendonly', 'inactive'];
    case 'sendrecv':
      return ['recvonly', 'sendonly', 'inactive'];
    case 'inactive':
      return ['inactive'];
  }
}

function sessionId(): string {
  // Up to 2^53: fits the o= line's numeric session id and JavaScript numbers.
  return String(randomInt(1, 2 ** 47) * 64 + randomInt(0, 64));
}

/** The transport half of every accepted m-section: ICE, DTLS and our candidates (all of them: ICE-lite). */
type RtpParameters = types.RtpParameters;

interface AnswerTransport {
  port: number;
  connection: { version: number; ip: string };
  attributes: () => Partial<SdpMedia>;
}

function answerTransport(input: BuildAnswerInput): AnswerTransport {
  const fingerprint = input.dtlsParameters.fingerprints.find((fp) => fp.algorithm === 'sha-256') ?? input.dtlsParameters.fingerprints[0];
  if (!fingerprint) throw new Error('buildAnswer: the local DTLS parameters have no fingerprint');
  // The remote role decides ours: the client (actpass/active) gets a passive (DTLS server) answer.
  const setup = input.offer.dtlsParameters.role === 'server' ? 'active' : 'passive';
  const candidates = input.iceCandidates.map((candidate, i) => ({
    foundation: candidate.foundation || `c${i}`,
    component: 1,
    transport: candidate.protocol,
    priority: candidate.priority,
    ip: candidate.address || candidate.ip,
    port: candidate.port,
    type: candidate.type,
    ...(candidate.protocol === 'tcp' ? { tcptype: candidate.tcpType ?? 'passive' } : {}),
  }));
  const defaultCandidate = candidates.find((candidate) => candidate.transport === 'udp') ?? candidates[0];
  return {
    port: defaultCandidate?.port ?? 9,
    connection: defaultCandidate ? { version: defaultCandidate.ip.includes(':') ? 6 : 4, ip: defaultCandidate.ip } : { version: 4, ip: '0.0.0.0' },
    attributes: () => ({
      iceUfrag: input.iceParameters.usernameFragment,
      icePwd: input.iceParameters.password,
      fingerprint: { type: fingerprint.algorithm, hash: fingerprint.value },
      setup,
      candidates: candidates.map((candidate) => ({ ...candidate })),
      endOfCandidates: 'end-of-candidates',
    }),
  };
}

function rejectedSection(offered: OfferSection): SdpMedia {
  return {
    type: offered.media.type,
    port: 0,
    protocol: offered.media.protocol,
    payloads: String(offered.media.payloads ?? (offered.kind === 'application' ? 'webrtc-datachannel' : '0')),
    connection: { version: 4, ip: '0.0.0.0' },
    mid: offered.mid,
    rtp: [],
    fmtp: [],
  };
}

function dataSection(offered: OfferSection, transport: AnswerTransport, sctp: NonNullable<BuildAnswerInput['sctp']>): SdpMedia {
  return {
    type: 'application',
    port: transport.port,
    protocol: offered.media.protocol,
    payloads: 'webrtc-datachannel',
    connection: transport.connection,
    mid: offered.mid,
    ...transport.attributes(),
    sctpPort: sctp.port,
    maxMessageSize: sctp.maxMessageSize,
    rtp: [],
    fmtp: [],
  };
}

/** The checks that catch a programming mistake in what the SFU answers for an m-section. */
function checkAnswerSection(offered: OfferSection, answer: AnswerSection): RtpParameters {
  if (!allowedAnswerDirections(offered.direction).includes(answer.direction)) {
    throw new Error(`buildAnswer: m-section "${offered.mid}" was offered ${offered.direction}; it cannot be answered ${answer.direction}`);
  }
  const rtp = answer.rtpParameters;
  if (!rtp || rtp.codecs.length === 0) throw new Error(`buildAnswer: accepted m-section "${offered.mid}" needs rtpParameters with codecs`);
  if (rtp.mid !== undefined && rtp.mid !== offered.mid && (rtp.headerExtensions ?? []).some((ext) => ext.uri === MID_URI)) {
    throw new Error(`buildAnswer: rtpParameters.mid "${rtp.mid}" differs from the offer's mid "${offered.mid}": pass { mid } to transport.consume()`);
  }
  return rtp;
}

function addCodecs(section: SdpMedia, rtp: RtpParameters): void {
  for (const codec of rtp.codecs) {
    const slash = codec.mimeType.indexOf('/');
    section.rtp.push({
      payload: codec.payloadType,
      codec: codec.mimeType.slice(slash + 1),
      rate: codec.clockRate,
      ...(codec.channels !== undefined && codec.channels > 1 ? { encoding: codec.channels } : {}),
    });
    const config = formatFmtp(codec.parameters);
    if (config !== '') section.fmtp.push({ payload: codec.payloadType, config });
    for (const fb of codec.rtcpFeedback ?? []) {
      section.rtcpFb?.push({ payload: codec.payloadType, type: fb.type, ...(fb.parameter ? { subtype: fb.parameter } : {}) });
    }
  }
}

/** What we send: our stream and track ids, and each encoding's SSRC (with its RTX pair). */
function addSendStreams(section: SdpMedia, offered: OfferSection, answer: AnswerSection, rtp: RtpParameters): void {
  const msid = answer.msid ?? { stream: 'livecue', track: `${offered.kind}-${offered.mid}` };
  section.msid = [{ id: msid.stream, appdata: msid.track }];
  const cname = rtp.rtcp?.cname ?? 'livecue';
  const ssrcs: NonNullable<SdpMedia['ssrcs']> = [];
  const ssrcGroups: NonNullable<SdpMedia['ssrcGroups']> = [];
  for (const encoding of rtp.encodings ?? []) {
    if (encoding.ssrc === undefined) continue;
    ssrcs.push({ id: encoding.ssrc, attribute: 'cname', value: cname });
    if (encoding.rtx) {
      ssrcs.push({ id: encoding.rtx.ssrc, attribute: 'cname', value: cname });
      ssrcGroups.push({ semantics: 'FID', ssrcs: `${encoding.ssrc} ${encoding.rtx.ssrc}` });
    }
  }
  if (ssrcs.length > 0) section.ssrcs = ssrcs;
  if (ssrcGroups.length > 0) section.ssrcGroups = ssrcGroups;
}

/** Receiving rid simulcast: mirror the offer's stream order with the rids we accepted (RFC 8853). */
function addReceivedSimulcast(section: SdpMedia, offered: OfferSection, rtp: RtpParameters): void {
  const rids = new Set((rtp.encodings ?? []).map((encoding) => encoding.rid).filter((rid) => rid !== undefined));
  const sim = offered.media.simulcast;
  const sendList = sim?.dir1 === 'send' ? sim.list1 : sim?.dir2 === 'send' ? sim.list2 : undefined;
  if (rids.size === 0 || sendList === undefined) return;
  const order = String(sendList)
    .split(';')
    .map((stream) => (stream.split(',')[0] ?? '').trim().replace(/^~/, ''))
    .filter((rid) => rids.has(rid));
  section.rids = order.map((rid) => ({ id: rid, direction: 'recv' }));
  section.simulcast = { dir1: 'recv', list1: order.join(';') };
}

function rtpSection(offered: OfferSection, answer: AnswerSection, input: BuildAnswerInput, transport: AnswerTransport): SdpMedia {
  const rtp = checkAnswerSection(offered, answer);
  const section: SdpMedia = {
    type: offered.media.type,
    port: transport.port,
    protocol: offered.media.protocol,
    payloads: rtp.codecs.map((codec) => codec.payloadType).join(' '),
    connection: transport.connection,
    mid: offered.mid,
    direction: answer.direction,
    ...transport.attributes(),
    rtcpMux: 'rtcp-mux',
    ...(offered.media.rtcpRsize !== undefined ? { rtcpRsize: 'rtcp-rsize' as const } : {}),
    ...(input.offer.extmapAllowMixed ? { extmapAllowMixed: 'extmap-allow-mixed' as const } : {}),
    ext: (rtp.headerExtensions ?? []).map((ext) => ({ value: ext.id, uri: ext.uri })),
    rtp: [],
    fmtp: [],
    rtcpFb: [],
  };
  addCodecs(section, rtp);
  if (answer.direction === 'sendonly') addSendStreams(section, offered, answer, rtp);
  else if (answer.direction === 'recvonly') addReceivedSimulcast(section, offered, rtp);
  return section;
}

/**
 * Builds the SDP answer. Throws a plain Error for programming mistakes (an answer section whose mid is not
 * in the offer, an accepted RTP section without rtpParameters, a direction the offer does not allow, a
 * consumer created without `mid: section.mid`).
 */
export function buildAnswer(input: BuildAnswerInput): string {
  const { offer } = input;
  const byMid = new Map<string, AnswerSection>();
  for (const section of input.sections) {
    if (!offer.sections.some((offered) => offered.mid === section.mid)) {
      throw new Error(`buildAnswer: the offer has no m-section with mid "${section.mid}"`);
    }
    byMid.set(section.mid, section);
  }
  const transport = answerTransport(input);
  const media: SdpMedia[] = [];
  const acceptedMids: string[] = [];
  for (const offered of offer.sections) {
    const answer = byMid.get(offered.mid);
    const accepted = offered.kind === 'application' ? offered.usable && input.sctp && !answer?.rejected : answer && !answer.rejected && offered.usable;
    if (!accepted) {
      media.push(rejectedSection(offered));
      continue;
    }
    media.push(offered.kind === 'application' ? dataSection(offered, transport, input.sctp!) : rtpSection(offered, answer!, input, transport));
    acceptedMids.push(offered.mid);
  }

  const session: SessionDescription = {
    version: 0,
    origin: { username: '-', sessionId: sessionId(), sessionVersion: 2, netType: 'IN', ipVer: 4, address: '127.0.0.1' },
    name: '-',
    timing: { start: 0, stop: 0 },
    ...(input.iceLite === false ? {} : { icelite: 'ice-lite' as const }),
    ...(acceptedMids.length > 0 ? { groups: [{ type: 'BUNDLE', mids: acceptedMids.join(' ') }] } : {}),
    ...(offer.extmapAllowMixed ? { extmapAllowMixed: 'extmap-allow-mixed' as const } : {}),
    msidSemantic: { semantic: 'WMS', token: '*' },
    media,
  };
  return sdpTransform.write(session);
}

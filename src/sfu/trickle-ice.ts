// Trickle ICE and ICE restarts for WHIP/WHEP sessions (RFC 9725 section 4.3): a PATCH carries an SDP
// fragment (RFC 8840, application/trickle-ice-sdpfrag) guarded by If-Match. mediasoup is ICE-lite:
// it learns the client's addresses from its connectivity checks, so trickled candidates are checked
// and acknowledged (204) but not needed; new credentials restart ICE, answered with ours (200).
import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import { LivecueError } from '../errors.ts';

export const TRICKLE_ICE_TYPE = 'application/trickle-ice-sdpfrag';

/** What a WHIP/WHEP session exposes to be patched. */
export interface IcePatchTarget {
  readonly transport: types.WebRtcTransport;
  /** The session's entity-tag; an ICE restart gives it a new one. */
  etag: string;
  /** The client's ICE username fragment (from its offer, or its last restart). */
  remoteUfrag: string;
  /** The m-sections of the session, as the answer has them (mid and m= line), for the restart's fragment. */
  readonly sections: readonly { mid: string; mline: string }[];
}

export interface IceFragment {
  ufrag?: string;
  pwd?: string;
  candidates: string[];
  mids: string[];
}

const ICE_CHARS = /^[A-Za-z0-9+/]{1,256}$/;

/** Parses an SDP fragment; 400 for anything that is not one. */
export function parseIceFragment(text: string): IceFragment {
  const fragment: IceFragment = { candidates: [], mids: [] };
  const lines = text.split(/\r\n|\r|\n/).filter((line) => line.trim() !== '');
  if (lines.length === 0) throw new LivecueError('bad_request', 'the SDP fragment is empty');
  for (const line of lines) {
    const match = /^([a-z])=(.*)$/.exec(line);
    if (!match) throw new LivecueError('bad_request', 'not an SDP fragment: every line must be <type>=<value>');
    const [, type, value] = match as unknown as [string, string, string];
    if (type === 'm' || type === 'c') continue;
    if (type !== 'a') throw new LivecueError('bad_request', `an SDP fragment carries no "${type}=" lines`);
    const colon = value.indexOf(':');
    const name = colon === -1 ? value : value.slice(0, colon);
    const content = colon === -1 ? '' : value.slice(colon + 1).trim();
    if (name === 'ice-ufrag') fragment.ufrag = content;
    else if (name === 'ice-pwd') fragment.pwd = content;
    else if (name === 'mid') fragment.mids.push(content);
    else if (name === 'candidate') {
      // foundation component transport priority address port "typ" type ...
      const fields = content.split(/\s+/);
      if (fields.length < 8 || fields[6] !== 'typ' || !/^\d+$/.test(fields[5] ?? '')) throw new LivecueError('bad_request', 'a malformed a=candidate line');
      fragment.candidates.push(content);
    }
  }
  for (const value of [fragment.ufrag, fragment.pwd]) {
    if (value !== undefined && !ICE_CHARS.test(value)) throw new LivecueError('bad_request', 'an invalid a=ice-ufrag / a=ice-pwd');
  }
  if (fragment.pwd !== undefined && fragment.ufrag === undefined) throw new LivecueError('bad_request', 'a=ice-pwd without a=ice-ufrag');
  return fragment;
}

/** The accepted m-sections of an answer (m= line, mid), which an ICE restart's fragment lists. */
export function answerSections(answer: string): { mid: string; mline: string }[] {
  const sections: { mid: string; mline: string }[] = [];
  let mline: string | undefined;
  for (const line of answer.split(/\r\n|\r|\n/)) {
    // Rejected sections (port 0) take no part in ICE; the others are listed with the placeholder port 9.
    if (line.startsWith('m=')) mline = line.split(' ')[1] === '0' ? undefined : line.replace(/^(m=\S+) \d+/, '$1 9');
    else if (line.startsWith('a=mid:') && mline) {
      sections.push({ mid: line.slice('a=mid:'.length), mline });
      mline = undefined;
    }
  }
  return sections;
}

export type IcePatchResult = { status: 204 } | { status: 200; fragment: string; etag: string };

/**
 * Applies a PATCH to a session. If-Match must name the session's entity-tag (or "*"): 428 without
 * it, 412 when it is stale. Same credentials (or none): trickled candidates, 204. New credentials: an
 * ICE restart, 200 with our new credentials and candidates, and a new entity-tag.
 */
export async function applyIcePatch(target: IcePatchTarget, body: string, ifMatch: string | undefined): Promise<IcePatchResult> {
  if (ifMatch === undefined || ifMatch.trim() === '') {
    throw new LivecueError('precondition_required', 'send If-Match with the session\'s ETag (or "*" for an ICE restart)');
  }
  const tags = ifMatch.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  const fragment = parseIceFragment(body);
  const restart = fragment.ufrag !== undefined && fragment.ufrag !== target.remoteUfrag;
  if (!tags.includes('*') && !tags.includes(target.etag)) {
    throw new LivecueError('precondition_failed', "If-Match does not match the session's current ETag");
  }
  if (!restart) return { status: 204 };
  if (fragment.pwd === undefined) throw new LivecueError('bad_request', 'an ICE restart needs a=ice-pwd with the new a=ice-ufrag');
  const ice = await target.transport.restartIce();
  target.remoteUfrag = fragment.ufrag!;
  target.etag = `"${randomUUID()}"`;
  const lines = ['a=ice-lite', `a=ice-ufrag:${ice.usernameFragment}`, `a=ice-pwd:${ice.password}`];
  for (const section of target.sections) {
    lines.push(section.mline, `a=mid:${section.mid}`);
    target.transport.iceCandidates.forEach((candidate, index) => {
      const tcp = candidate.protocol === 'tcp' ? ` tcptype ${candidate.tcpType ?? 'passive'}` : '';
      lines.push(
        `a=candidate:${candidate.foundation || `c${index}`} 1 ${candidate.protocol} ${candidate.priority} ${candidate.address ?? candidate.ip} ${candidate.port} typ ${candidate.type}${tcp}`,
      );
    });
    lines.push('a=end-of-candidates');
  }
  return { status: 200, fragment: `${lines.join('\r\n')}\r\n`, etag: target.etag };
}

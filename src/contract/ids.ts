// The ids the API hands out and takes in its paths: one pattern each, shared by validation and the OpenAPI document.
import { z } from 'zod';

export const STREAM_ID = /^str_[A-Za-z0-9]{16}$/;
export const PRODUCT_ID = /^prd_[A-Za-z0-9]{16}$/;
/** An offer's id is its offer.start cue's. */
export const CUE_ID = /^cue_[A-Za-z0-9]{16}$/;
export const CLAIM_ID = /^clm_[A-Za-z0-9]{16}$/;
export const RECORDING_ID = /^rec_[A-Za-z0-9]{16}$/;
export const CLIP_ID = /^clp_[A-Za-z0-9]{16}$/;
export const RESTREAM_ID = /^rst_[A-Za-z0-9]{16}$/;
export const PLAYBACK_ID = /^[A-Za-z0-9]{8,64}$/;
export const MESSAGE_ID = /^msg_[A-Za-z0-9]{12}$/;
export const POLL_ID = /^[A-Za-z0-9_-]{1,64}$/;

export const streamId = z.string().regex(STREAM_ID, 'a stream id (str_...)');
export const productId = z.string().regex(PRODUCT_ID, 'a product id (prd_...)');
export const cueId = z.string().regex(CUE_ID, 'a cue id (cue_...)');
export const claimId = z.string().regex(CLAIM_ID, 'a claim id (clm_...)');
export const recordingId = z.string().regex(RECORDING_ID, 'a recording id (rec_...)');
export const clipId = z.string().regex(CLIP_ID, 'a clip id (clp_...)');
export const restreamId = z.string().regex(RESTREAM_ID, 'a restream target id (rst_...)');
export const playbackId = z.string().regex(PLAYBACK_ID, 'a playback id (8-64 letters or digits)');
export const messageId = z.string().regex(MESSAGE_ID, 'a chat message id (msg_...)');
export const pollId = z.string().regex(POLL_ID, 'a poll id (1-64 letters, digits, _ or -)');

/** An instant as the API writes it (Date#toISOString). */
export const instant = z.iso.datetime({ offset: true });

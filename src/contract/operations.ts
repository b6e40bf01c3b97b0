// Every operation of the HTTP API, area by area: what the OpenAPI document is generated from.
import type { z } from 'zod';
import { analyticsOperations, streamAnalytics } from './analytics.ts';
import { cueBody, cueMessage, cueOperations, cueState } from './cues.ts';
import { engagementOperations } from './engagement.ts';
import { mediaOperations } from './media.ts';
import { clipOperations, clipView, publicClip } from './clips.ts';
import { claimView, offerOperations, offerView, placedClaim } from './offers.ts';
import type { Operation } from './operation.ts';
import { createProductBody, productCard, productOperations, productView, updateProductBody } from './products.ts';
import { recordingOperations, recordingView, replay } from './recordings.ts';
import { createRestreamBody, restreamOperations, restreamView, updateRestreamBody } from './restreams.ts';
import { serviceOperations } from './service.ts';
import { publicShow, showOperations } from './shows.ts';
import { createdStream, createStreamBody, playbackToken, streamOperations, streamView, updateStreamBody } from './streams.ts';
import { tokenOperations, tokenView } from './tokens.ts';
import { webhookOperations, webhookView } from './webhooks.ts';

export const API_OPERATIONS: readonly Operation[] = [
  ...streamOperations,
  ...cueOperations,
  ...productOperations,
  ...offerOperations,
  ...engagementOperations,
  ...analyticsOperations,
  ...recordingOperations,
  ...clipOperations,
  ...webhookOperations,
  ...restreamOperations,
  ...tokenOperations,
  ...mediaOperations,
  ...serviceOperations,
  ...showOperations,
];

/** The schemas the document names (components/schemas) instead of repeating them where they are used. */
export const NAMED_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  Stream: streamView,
  CreatedStream: createdStream,
  CreateStream: createStreamBody,
  UpdateStream: updateStreamBody,
  PlaybackToken: playbackToken,
  CueRequest: cueBody,
  Cue: cueMessage,
  CueState: cueState,
  Product: productView,
  ProductCard: productCard,
  CreateProduct: createProductBody,
  UpdateProduct: updateProductBody,
  Offer: offerView,
  Claim: claimView,
  PlacedClaim: placedClaim,
  Recording: recordingView,
  Replay: replay,
  Clip: clipView,
  PublicClip: publicClip,
  Restream: restreamView,
  CreateRestream: createRestreamBody,
  UpdateRestream: updateRestreamBody,
  StreamAnalytics: streamAnalytics,
  Webhook: webhookView,
  ApiToken: tokenView,
  Show: publicShow,
};

// Every operation of the HTTP API, area by area: what the OpenAPI document is generated from.
import { analyticsOperations } from './analytics.ts';
import { cueOperations } from './cues.ts';
import { engagementOperations } from './engagement.ts';
import { mediaOperations } from './media.ts';
import { offerOperations } from './offers.ts';
import type { Operation } from './operation.ts';
import { productOperations } from './products.ts';
import { recordingOperations } from './recordings.ts';
import { restreamOperations } from './restreams.ts';
import { serviceOperations } from './service.ts';
import { streamOperations } from './streams.ts';
import { tokenOperations } from './tokens.ts';
import { webhookOperations } from './webhooks.ts';

export const API_OPERATIONS: readonly Operation[] = [
  ...streamOperations,
  ...cueOperations,
  ...productOperations,
  ...offerOperations,
  ...engagementOperations,
  ...analyticsOperations,
  ...recordingOperations,
  ...webhookOperations,
  ...restreamOperations,
  ...tokenOperations,
  ...mediaOperations,
  ...serviceOperations,
];

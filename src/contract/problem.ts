// Every error the API answers: application/problem+json (RFC 9457) with livecue's stable `code`.
import { z } from 'zod';

export const problem = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int().min(400).max(599),
  detail: z.string().describe('What was wrong, for a person'),
  code: z.string().optional().describe('Stable machine-readable code, e.g. validation_failed, not_found'),
});

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

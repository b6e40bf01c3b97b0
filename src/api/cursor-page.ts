// Where a page of a list starts: the position a ?cursor= names (a 400 for one this API did not answer) and its size.
import { badRequest } from '../errors.ts';
import { decodeCursor } from '../shows/show-store.ts';

export function pageOf(query: { cursor?: string; limit?: number }, defaultLimit: number): { after?: { key: Date; id: string }; limit: number } {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  if (query.cursor !== undefined && !after) throw badRequest('invalid request: cursor: not a cursor this API answered (pass nextCursor as it is)');
  return { after, limit: query.limit ?? defaultLimit };
}

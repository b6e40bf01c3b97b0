// Scoped API tokens for the operator's systems: `read`, `write` (everything but token management) and
// `cues` (place cues, nothing else: for the shop's backend). Stored as SHA-256 hashes.
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { apiTokens } from '../db/schema.ts';
import { hashSecret, randomBase62 } from '../streams/stream-keys.ts';
import type { Scope } from '../contract/tokens.ts';

export type { Scope };

export type ApiTokenRow = typeof apiTokens.$inferSelect;

export const tokenView = (row: ApiTokenRow) => ({
  id: row.id,
  name: row.name,
  scopes: row.scopes as Scope[],
  createdAt: row.createdAt.toISOString(),
  revokedAt: row.revokedAt?.toISOString() ?? null,
});

export class ApiTokenStore {
  constructor(private readonly db: Db) {}

  async create(name: string, scopes: Scope[]): Promise<{ row: ApiTokenRow; token: string }> {
    const token = `lct_${randomBase62(40)}`;
    const [row] = await this.db
      .insert(apiTokens)
      .values({ id: `tok_${randomBase62(16)}`, name, tokenHash: hashSecret(token), scopes: [...new Set(scopes)] })
      .returning();
    return { row: row!, token };
  }

  list(): Promise<ApiTokenRow[]> {
    return this.db.select().from(apiTokens).orderBy(desc(apiTokens.createdAt));
  }

  async revoke(id: string): Promise<boolean> {
    const rows = await this.db
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id });
    return rows.length > 0;
  }

  /** The scopes of an active token; lookup by hash (tokens carry 238 bits, so no timing leak to fear). */
  async scopesOf(token: string): Promise<Scope[] | undefined> {
    if (!/^lct_[A-Za-z0-9]{40}$/.test(token)) return undefined;
    const [row] = await this.db
      .select()
      .from(apiTokens)
      .where(and(eq(apiTokens.tokenHash, hashSecret(token)), isNull(apiTokens.revokedAt)));
    return row ? (row.scopes as Scope[]) : undefined;
  }
}

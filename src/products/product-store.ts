// The operator's product catalogue in the database.
import { desc, eq } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { products } from '../db/schema.ts';
import { conflict } from '../errors.ts';
import { randomBase62 } from '../streams/stream-keys.ts';
import type { ProductInput } from '../contract/products.ts';

export type ProductRow = typeof products.$inferSelect;

const toMinor = (price: number) => Math.round(price * 100);

export function productView(row: ProductRow) {
  return {
    id: row.id,
    sku: row.sku,
    title: row.title,
    price: row.priceMinor / 100,
    currency: row.currency,
    imageUrl: row.imageUrl,
    productUrl: row.productUrl,
    inventory: row.inventory,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export class ProductStore {
  constructor(private readonly db: Db) {}

  async create(input: ProductInput): Promise<ProductRow> {
    const [row] = await this.db
      .insert(products)
      .values({
        id: `prd_${randomBase62(16)}`,
        sku: input.sku,
        title: input.title,
        priceMinor: toMinor(input.price),
        currency: input.currency,
        imageUrl: input.imageUrl ?? null,
        productUrl: input.productUrl ?? null,
        inventory: input.inventory ?? null,
      })
      .onConflictDoNothing({ target: products.sku })
      .returning();
    if (!row) throw conflict(`a product with sku "${input.sku}" exists already`);
    return row;
  }

  async list(): Promise<ProductRow[]> {
    return this.db.select().from(products).orderBy(desc(products.createdAt));
  }

  async get(id: string): Promise<ProductRow | undefined> {
    const [row] = await this.db.select().from(products).where(eq(products.id, id));
    return row;
  }

  async update(id: string, input: Partial<ProductInput>): Promise<ProductRow | undefined> {
    const { price, ...rest } = input;
    try {
      const [row] = await this.db
        .update(products)
        .set({ ...rest, ...(price !== undefined && { priceMinor: toMinor(price) }), updatedAt: new Date() })
        .where(eq(products.id, id))
        .returning();
      return row;
    } catch (error) {
      if ((error as { code?: string; cause?: { code?: string } }).code === '23505' || (error as { cause?: { code?: string } }).cause?.code === '23505') {
        throw conflict(`a product with sku "${input.sku}" exists already`);
      }
      throw error;
    }
  }

  async delete(id: string): Promise<boolean> {
    return (await this.db.delete(products).where(eq(products.id, id)).returning({ id: products.id })).length > 0;
  }
}

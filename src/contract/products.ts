// The product catalogue cues refer to, and the public product card a viewer page shows.
import { z } from 'zod';
import { instant, playbackId, productId } from './ids.ts';
import { API_PROBLEMS, type Operation } from './operation.ts';
import { playbackTokenQuery } from './cues.ts';

const url = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2048);

export const productFields = {
  sku: z.string().trim().min(1).max(64),
  title: z.string().trim().min(1).max(200),
  price: z.number().nonnegative().max(10_000_000).describe('Price in major units, e.g. 19.99'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR or USD'),
  imageUrl: url.nullable().optional(),
  productUrl: url.nullable().optional(),
  inventory: z.number().int().nonnegative().nullable().optional(),
};

export const createProductBody = z.strictObject(productFields);
export const updateProductBody = z.strictObject(productFields).partial();

export type ProductInput = z.infer<typeof createProductBody>;

export const productCard = z.object({
  id: productId,
  sku: z.string(),
  title: z.string(),
  price: z.number(),
  currency: z.string(),
  imageUrl: z.string().nullable(),
  productUrl: z.string().nullable(),
  inventory: z.number().int().nullable(),
});
export const productView = productCard.extend({ createdAt: instant, updatedAt: instant });
export const productList = z.object({ products: z.array(productView) });

const byId = { id: productId };

export const productOperations: Operation[] = [
  {
    method: 'post',
    path: '/v1/products',
    summary: 'Add a product to the catalogue',
    access: 'write',
    body: createProductBody,
    answers: { 201: { description: 'Created', schema: productView } },
    problems: [...API_PROBLEMS, 400, 409, 413, 415],
  },
  {
    method: 'get',
    path: '/v1/products',
    summary: 'List products',
    access: 'read',
    answers: { 200: { description: 'Products', schema: productList } },
    problems: API_PROBLEMS,
  },
  {
    method: 'get',
    path: '/v1/products/{id}',
    summary: 'Read a product',
    access: 'read',
    params: byId,
    answers: { 200: { description: 'The product', schema: productView } },
    problems: [...API_PROBLEMS, 400, 404],
  },
  {
    method: 'patch',
    path: '/v1/products/{id}',
    summary: 'Change a product',
    access: 'write',
    params: byId,
    body: updateProductBody,
    answers: { 200: { description: 'Changed', schema: productView } },
    problems: [...API_PROBLEMS, 400, 404, 409, 413, 415],
  },
  {
    method: 'delete',
    path: '/v1/products/{id}',
    summary: 'Remove a product',
    access: 'write',
    params: byId,
    answers: { 204: { description: 'Removed' } },
    problems: [...API_PROBLEMS, 400, 404],
  },
  {
    method: 'get',
    path: '/live/{playbackId}/products/{productId}',
    summary: 'Public: a product card',
    access: 'public',
    params: { playbackId, productId },
    query: playbackTokenQuery,
    answers: { 200: { description: 'Product', schema: productCard } },
    problems: [403, 404],
  },
];

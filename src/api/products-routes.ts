// /v1/products: the catalogue cues refer to.
import { Router, type Request } from 'express';
import { badRequest, LivecueError, notFound } from '../errors.ts';
import { productView, type ProductStore } from '../products/product-store.ts';
import { createProductBody, updateProductBody } from '../contract/products.ts';

const PRODUCT_ID = /^prd_[A-Za-z0-9]{16}$/;

export function productsRouter(products: ProductStore): Router {
  const router = Router();
  const idOf = (req: Request) => {
    const id = String(req.params.id);
    if (!PRODUCT_ID.test(id)) throw badRequest(`"${id.slice(0, 40)}" is not a product id (prd_ followed by 16 letters or digits)`);
    return id;
  };
  const json = (req: Request) => {
    if (!req.is('application/json')) throw new LivecueError('unsupported_media_type', 'send the body as application/json');
    return req.body ?? {};
  };

  router.post('/', async (req, res) => {
    const row = await products.create(createProductBody.parse(json(req)));
    res.status(201).location(`/v1/products/${row.id}`).json(productView(row));
  });
  router.get('/', async (_req, res) => {
    res.json({ products: (await products.list()).map(productView) });
  });
  router.get('/:id', async (req, res) => {
    const row = await products.get(idOf(req));
    if (!row) throw notFound(`product ${req.params.id}`);
    res.json(productView(row));
  });
  router.patch('/:id', async (req, res) => {
    const id = idOf(req);
    const row = await products.update(id, updateProductBody.parse(json(req)));
    if (!row) throw notFound(`product ${id}`);
    res.json(productView(row));
  });
  router.delete('/:id', async (req, res) => {
    const id = idOf(req);
    if (!(await products.delete(id))) throw notFound(`product ${id}`);
    res.status(204).end();
  });
  return router;
}

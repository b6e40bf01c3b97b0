// A catalogue product as livecue's API returns it (GET /v1/products, GET /live/<playbackId>/products/<id>):
// the viewer page's cards and the console's catalogue read the same shape.
export interface Product {
  id: string;
  sku: string;
  title: string;
  price: number;
  currency: string;
  imageUrl?: string | null;
  productUrl?: string | null;
  inventory?: number | null;
}

// Every route the HTTP app serves, read from Express's own router: the abuse suite sends hostile input
// to each of them, so a route added later is covered without anyone listing it.
import type { Express } from 'express';

export interface RouteEntry {
  method: string;
  /** Express path syntax, e.g. /v1/streams/:id/cues. */
  path: string;
}

interface RouterLayer {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
}

const joined = (prefix: string, path: string) => `${prefix}/${path}`.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');

function walk(stack: RouterLayer[], prefix: string, into: RouteEntry[]): void {
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const path of paths) {
        if (typeof path !== 'string') continue;
        for (const method of Object.keys(layer.route.methods)) if (method !== '_all') into.push({ method: method.toUpperCase(), path: joined(prefix, path) });
      }
    } else if (layer.handle?.stack && typeof layer.rawPath === 'string') {
      walk(layer.handle.stack, joined(prefix, layer.rawPath), into);
    }
  }
}

export function routeTable(app: Express): RouteEntry[] {
  const routes: RouteEntry[] = [];
  walk((app as unknown as { router: { stack: RouterLayer[] } }).router.stack, '', routes);
  const seen = new Set<string>();
  return routes.filter((route) => {
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

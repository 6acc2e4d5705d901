/**
 * After every router: a path some route knows but not with this method is 405 with an
 * `Allow` header (OPTIONS lists the methods); anything else is 404 `not_found`.
 * koa-router's own allowedMethods cannot be used for this: it decides after `next()`
 * and so never sees a 404 thrown further down.
 */
import type { Middleware } from 'koa';
import { AppError, notFound } from '../../errors.js';

interface Layer {
  methods: string[];
}

export const fallthrough: Middleware = async (ctx) => {
  const layers = ((ctx as { matched?: Layer[] }).matched ?? []).filter((l) => l.methods.length > 0);
  if (layers.length === 0) throw notFound();
  const allow = [...new Set(layers.flatMap((l) => l.methods))].join(', ');
  if (ctx.method === 'OPTIONS') {
    ctx.set('Allow', allow);
    ctx.status = 204;
    return;
  }
  throw new AppError(405, 'method_not_allowed', 'Method not allowed.', { headers: { Allow: allow } });
};

/** What the JSON routes share: the JSON body step and the session's JSON shape. */
import type { Context, Middleware } from 'koa';
import { isoTime as iso } from '../../iso-time.js';
import type { SessionInfo } from '../../sessions/types.js';
import { readJsonBody } from '../body.js';

export const sessionJson = (s: SessionInfo) => ({
  handle: s.handle,
  createdAt: iso(s.createdAt),
  lastActiveAt: iso(s.lastActiveAt),
  idleExpiresAt: iso(s.idleExpiresAt),
  absoluteExpiresAt: iso(s.absoluteExpiresAt),
  authenticatedAt: iso(s.authAt),
  refreshable: s.refreshable,
  /** Bound to a device key (DBSC): a copy of its cookie stops working within the bound lifetime. */
  bound: s.boundAt !== undefined,
  ...(s.boundAt === undefined ? {} : { provedAt: iso(s.boundAt) }),
});

/** The parsed JSON body (after `jsonBody`). */
export const body = (ctx: Context): Record<string, unknown> => ctx.state.body as Record<string, unknown>;

export const jsonBody: Middleware = async (ctx, next) => {
  ctx.state.body = await readJsonBody(ctx);
  await next();
};

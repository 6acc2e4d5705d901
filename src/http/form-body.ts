/**
 * HTML form bodies (application/x-www-form-urlencoded) for the page routes, with the
 * JSON routes' limits (docs/security.md, "Request limits"): over 16 KiB → 413 before
 * reading when declared, and by counting otherwise; another content type → 415. The
 * first value of a field wins.
 */
import type { Context } from 'koa';
import { AppError } from '../errors.js';
import { BODY_LIMIT, readText } from './body.js';

export type FormFields = ReadonlyMap<string, string>;

const notAForm = () =>
  new AppError(415, 'unsupported_media_type', 'Send the form as application/x-www-form-urlencoded.');

export async function readFormBody(ctx: Context, limit = BODY_LIMIT): Promise<FormFields> {
  if (ctx.request.type !== 'application/x-www-form-urlencoded') throw notAForm();
  const text = await readText(ctx, limit);
  const fields = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(text)) if (!fields.has(k)) fields.set(k, v);
  return fields;
}

/**
 * HTML form bodies (application/x-www-form-urlencoded) for the page routes, with the
 * JSON routes' limits (DESIGN §9): over 16 KiB → 413 before reading when declared, and
 * by counting otherwise; another content type → 415. The first value of a field wins.
 */
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { AppError, badRequest, payloadTooLarge } from '../errors.js';
import { BODY_LIMIT } from './body.js';

export type FormFields = ReadonlyMap<string, string>;

const notAForm = () =>
  new AppError(415, 'unsupported_media_type', 'Send the form as application/x-www-form-urlencoded.');

export async function readFormBody(ctx: Context, limit = BODY_LIMIT): Promise<FormFields> {
  if (ctx.request.type !== 'application/x-www-form-urlencoded') throw notAForm();
  const declared = ctx.request.length;
  if (declared !== undefined && declared > limit) {
    ctx.set('Connection', 'close');
    throw payloadTooLarge();
  }
  let text: string;
  try {
    text = await getRawBody(ctx.req, { length: declared, limit, encoding: 'utf8' });
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large') {
      ctx.set('Connection', 'close');
      throw payloadTooLarge();
    }
    if (err instanceof AppError) throw err;
    throw badRequest('The form could not be read.');
  }
  const fields = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(text)) if (!fields.has(k)) fields.set(k, v);
  return fields;
}

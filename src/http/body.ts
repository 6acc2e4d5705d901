/**
 * JSON request bodies: `Content-Type: application/json` (UTF-8) or 415;
 * more than 16 KiB → 413, decided from Content-Length before reading when it is
 * declared, and by counting otherwise; malformed JSON or anything but an object → 400.
 * An empty body is `{}` (POST /auth/logout needs none); a DELETE without body and
 * Content-Type is `{}` too. Form posts (the pages) use the
 * same limit (form-body.ts).
 */
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { AppError, badRequest, payloadTooLarge, unsupportedMediaType } from '../errors.js';

export const BODY_LIMIT = 16 * 1024;

/** True when the request declares JSON in UTF-8 (the only charset JSON allows, RFC 8259). */
function isJsonRequest(ctx: Context): boolean {
  if (ctx.request.type !== 'application/json') return false;
  const charset = ctx.request.charset;
  return !charset || charset.toLowerCase() === 'utf-8';
}

/** True when the request carries a body: Content-Length above 0, or chunked. */
function hasBody(ctx: Context): boolean {
  return (ctx.request.length ?? 0) > 0 || ctx.get('Transfer-Encoding') !== '';
}

export async function readJsonBody(ctx: Context, limit = BODY_LIMIT): Promise<Record<string, unknown>> {
  // `fetch(url, { method: 'DELETE' })` and `curl -X DELETE` send neither body nor type.
  // A DELETE cannot leave a browser cross-site without a preflight, so the JSON type
  // defends nothing there; a POST without a body can (a no-cors fetch), so it still
  // needs the type. A declared type is checked in every case.
  if (ctx.method === 'DELETE' && !hasBody(ctx) && !ctx.get('Content-Type')) return {};
  if (!isJsonRequest(ctx)) throw unsupportedMediaType();
  const text = await readText(ctx, limit);
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/** Reads a body as text under `limit` bytes: 413 before reading when declared, by counting otherwise. */
export async function readText(ctx: Context, limit: number): Promise<string> {
  const declared = ctx.request.length;
  if (declared !== undefined && declared > limit) {
    // Don't read what we refuse: the connection closes after the answer.
    ctx.set('Connection', 'close');
    throw payloadTooLarge();
  }
  let text: string;
  try {
    text = await getRawBody(ctx.req, { length: declared, limit, encoding: 'utf8' });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') {
      ctx.set('Connection', 'close');
      throw payloadTooLarge();
    }
    if (err instanceof AppError) throw err;
    throw badRequest('The request body could not be read.');
  }
  return text;
}

/**
 * The one place errors become responses. An AppError is rendered as
 * `{"error","message"}` with its status and headers; an error from a library that
 * carries an HTTP status (raw-body, koa) is mapped onto our codes; anything else is a
 * bug: 500 `internal_error`, logged with its stack, and the body says nothing more.
 * Headers set before the error (security headers, a rotated session's cookie) stay.
 *
 * JSON or HTML is decided here too: with `pages` on, an error on any path but the JSON
 * API's and the ops endpoints' is an HTML error page for a browser (by Accept), JSON for
 * anything that prefers it. A route may still set `ctx.state.renderError` to render
 * its errors itself.
 */
import type { Context, Middleware } from 'koa';
import { AppError, type ErrorCode, StoreFullError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { errorPage } from '../../views/error.js';
import { sendPage } from '../send-page.js';

export type ErrorRenderer = (ctx: Context, err: AppError) => void;

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'bad_request',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { status?: unknown; statusCode?: unknown; expose?: unknown };
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code = CODE_BY_STATUS[status] ?? 'bad_request';
    return new AppError(status === 404 || status === 405 || status === 413 || status === 415 ? status : 400, code, defaultMessage(code), { cause: err });
  }
  return new AppError(500, 'internal_error', 'Internal error.', { cause: err });
}

const defaultMessage = (code: ErrorCode): string =>
  ({
    not_found: 'Not found.',
    method_not_allowed: 'Method not allowed.',
    payload_too_large: 'The request body is too large.',
    unsupported_media_type: 'Send Content-Type: application/json.',
  })[code as string] ?? 'Bad request.';

export interface ErrorHandlerOptions {
  /** Every error rendered (the app counts store refusals by cause). */
  onError?: (err: AppError) => void;
  /** The server renders pages: errors off the API paths may be HTML. */
  pages?: boolean;
}

/** Paths that always answer JSON: the JSON API and the ops endpoints. */
const JSON_ONLY = /^\/(?:auth|api)(?:\/|$)|^\/(?:healthz|readyz|metrics)$/;

function renderPageError(ctx: Context, err: AppError): void {
  if (ctx.accepts('json', 'html') !== 'html') {
    ctx.body = err.toJSON();
    return;
  }
  sendPage(ctx, errorPage({ status: err.status, message: err.expose ? err.message : undefined }), err.status);
}

export function errorHandler(log: Logger, opts: ErrorHandlerOptions = {}): Middleware {
  return async function handleErrors(ctx, next) {
    try {
      await next();
    } catch (thrown) {
      const err = toAppError(thrown);
      opts.onError?.(err);
      if (err.code === 'internal_error') {
        log.error({ err: thrown, method: ctx.method, path: ctx.path }, 'request failed');
      } else if (err instanceof StoreFullError) {
        // A full Redis is logged once per episode (src/ops/store-full.ts), not per request.
        log.debug({ event: 'store.refused', cause: 'oom', method: ctx.method, path: ctx.path }, 'refused: store full');
      } else if (err.code === 'store_unavailable') {
        const cause = err.cause instanceof Error ? err.cause.message : undefined;
        log.warn({ event: 'store.unavailable', method: ctx.method, path: ctx.path, cause }, 'store unavailable');
      }
      if (ctx.headerSent) return;
      ctx.status = err.status;
      for (const [name, value] of Object.entries(err.headers)) ctx.set(name, value);
      const render = (ctx.state.renderError as ErrorRenderer | undefined) ??
        (opts.pages && !JSON_ONLY.test(ctx.path) ? renderPageError : undefined);
      if (render) render(ctx, err);
      else ctx.body = err.toJSON();
    }
  };
}

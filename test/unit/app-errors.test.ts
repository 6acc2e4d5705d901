/**
 * An app raises its own errors through the one error model: `new AppError(403,
 * 'forbidden', …)` compiles (the built-in codes stay a closed, checked union for the
 * package's own code) and the error handler renders it exactly like a built-in one.
 */
import test from 'ava';
import { AppError } from '../../src/errors.js';
import { errorHandler } from '../../src/http/middleware/error-handler.js';
import { createLogger } from '../../src/log.js';
import { contextFor } from '../helpers/koa-context.js';

const log = createLogger({ level: 'silent' });

async function render(err: unknown) {
  const ctx = contextFor({ method: 'GET', headers: { accept: 'application/json' } });
  await errorHandler(log)(ctx, async () => {
    throw err;
  });
  return { status: ctx.status, body: ctx.body, retryAfter: ctx.response.get('Retry-After') };
}

test("an app's own error code is rendered as {error, message} with its status and headers", async (t) => {
  const own = new AppError(403, 'forbidden', 'This cart belongs to someone else.', { headers: { 'Retry-After': '7' } });
  // The code keeps the literal the app wrote, so apps can switch on it.
  const code: 'forbidden' | (string & {}) = own.code;
  t.is(code, 'forbidden');
  t.deepEqual(await render(own), {
    status: 403,
    body: { error: 'forbidden', message: 'This cart belongs to someone else.' },
    retryAfter: '7',
  });
});

test('a built-in code renders the same way', async (t) => {
  t.deepEqual(await render(new AppError(401, 'login_required', 'Please sign in.')), {
    status: 401,
    body: { error: 'login_required', message: 'Please sign in.' },
    retryAfter: undefined,
  });
});

test("an app's 5xx keeps its code but not its message, like the built-in ones", async (t) => {
  t.deepEqual(await render(new AppError(502, 'upstream_down', 'db01.internal refused 10.0.0.7')), {
    status: 502,
    body: { error: 'upstream_down', message: 'Internal error' },
    retryAfter: undefined,
  });
});

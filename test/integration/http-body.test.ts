/** Request bodies (DESIGN §9): JSON and form posts share the 16 KiB cap and the error codes. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import Koa from 'koa';
import { readFormBody, readJsonBody } from '../../src/http/body.js';
import { errorHandler } from '../../src/http/middleware/error-handler.js';
import { createLogger } from '../../src/log.js';
import { client } from '../helpers/http.js';

async function echo(t: import('ava').ExecutionContext) {
  const app = new Koa();
  app.use(errorHandler(createLogger({ level: 'silent' })));
  app.use(async (ctx) => {
    const fields = ctx.path === '/form' ? await readFormBody(ctx) : await readJsonBody(ctx);
    ctx.body = { fields: { ...fields }, keys: Object.keys(fields) };
  });
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(client(url), { url });
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

test('form posts: fields parsed, first value wins, prototype names are plain fields', async (t) => {
  const req = await echo(t);
  const r = await req('POST', '/form', { body: 'username=al%C3%AFce&remember=on&username=x&__proto__=p&constructor=c', headers: FORM });
  t.is(r.status, 200);
  t.deepEqual(r.body!.keys, ['username', 'remember', '__proto__', 'constructor']);
  t.is((r.body!.fields as Record<string, string>).username, 'alïce');
});

test('form posts over 16 KiB are 413, other types 415', async (t) => {
  const req = await echo(t);
  t.is((await req('POST', '/form', { body: `a=${'x'.repeat(16 * 1024)}`, headers: FORM })).body!.error, 'payload_too_large');
  t.is((await req('POST', '/form', { body: `a=${'x'.repeat(16 * 1024 - 3)}`, headers: FORM })).status, 200, 'exactly 16 KiB is fine');
  t.is((await req('POST', '/form', { json: { a: 1 } })).body!.error, 'unsupported_media_type');
});

test('JSON: an empty body is {}, the cap is 16 KiB, chunked bodies are counted too', async (t) => {
  const req = await echo(t);
  t.deepEqual((await req('POST', '/json', { body: '', headers: { 'content-type': 'application/json' } })).body!.fields, {});
  const big = JSON.stringify({ a: 'x'.repeat(16 * 1024) });
  t.is((await req('POST', '/json', { body: big, headers: { 'content-type': 'application/json' } })).status, 413);
  // No Content-Length (chunked): raw-body counts while reading.
  const chunked = (body: string) =>
    fetch(`${req.url}/json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(body));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
  t.is((await chunked(big)).status, 413);
  t.is((await chunked('{"a":1}')).status, 200);
});

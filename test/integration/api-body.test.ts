/** JSON request bodies (docs/security.md, "Request limits"): 16 KiB cap, declared or counted; empty is {}. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import Koa from 'koa';
import { readJsonBody } from '../../src/http/body.js';
import { errorHandler } from '../../src/http/middleware/error-handler.js';
import { createLogger } from '../../src/log.js';
import { client } from '../helpers/http.js';

async function echo(t: import('ava').ExecutionContext) {
  const app = new Koa();
  app.use(errorHandler(createLogger({ level: 'silent' })));
  app.use(async (ctx) => {
    const fields = await readJsonBody(ctx);
    ctx.body = { fields: { ...fields }, keys: Object.keys(fields) };
  });
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(client(url), { url });
}

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

/**
 * `DELETE /auth/sessions/:handle` as plain clients send it: `fetch(url, { method: 'DELETE' })`
 * and `curl -X DELETE` carry no body and no Content-Type. A DELETE cannot leave a
 * browser cross-site without a CORS preflight, so there is nothing for the JSON content
 * type to defend there; a body, when one is sent, must still be JSON, and the Origin /
 * Sec-Fetch-Site refusal is unchanged.
 */
import { request as httpRequest } from 'node:http';
import test from 'ava';
import { client } from '../helpers/http.js';
import { PASSWORD, login } from '../helpers/login.js';
import { startServer } from '../helpers/server.js';


/** A raw request: exactly the headers given, nothing added. */
function raw(url: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'DELETE', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

test('a body-less DELETE without Content-Type revokes the session; a body must still be JSON; cross-site is still refused', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  await srv.addUser('alice', PASSWORD);
  const req = client(srv.url);
  const signIn = async () => (await login(req, 'alice')).token;
  const me = await signIn();
  const others = [await signIn(), await signIn(), await signIn()];
  const handles = async () => {
    const list = (await req('GET', '/auth/sessions', { cookie: me })).body!.sessions as Array<{ handle: string; current: boolean }>;
    return list.filter((s) => !s.current).map((s) => s.handle);
  };
  const [h1, h2, h3] = await handles();
  const cookie = `sid=${me}`;
  const url = (h: string | undefined) => `${srv.url}/auth/sessions/${h}`;

  // Refused whatever the body: a foreign Origin, a cross-site fetch.
  t.is((await raw(url(h1), { cookie, origin: 'https://evil.example' })).status, 403);
  t.is((await raw(url(h1), { cookie, 'sec-fetch-site': 'cross-site' })).status, 403);
  // A body is sent: it must be declared JSON.
  const untyped = await raw(url(h1), { cookie, 'content-length': '2' }, '{}');
  t.is(untyped.status, 415, untyped.text);
  t.is(JSON.parse(untyped.text).error, 'unsupported_media_type');
  t.is((await raw(url(h1), { cookie, 'transfer-encoding': 'chunked' }, '{}')).status, 415);
  // A declared type is checked even without a body; a body-less POST still needs JSON
  // (a no-cors fetch can send one cross-site without a preflight).
  t.is((await raw(url(h1), { cookie, 'content-type': 'text/plain', 'content-length': '0' })).status, 415);
  const post = await fetch(`${srv.url}/auth/logout`, { method: 'POST', headers: { cookie } });
  t.is(post.status, 415);
  t.deepEqual((await handles()).length, 3, 'nothing was revoked by a refused request');

  // fetch(url, { method: 'DELETE' }) as a browser page or a script writes it.
  t.is((await fetch(url(h1), { method: 'DELETE', headers: { cookie } })).status, 204);
  // curl -X DELETE: no Content-Length, no Content-Type.
  t.is((await raw(url(h2), { cookie })).status, 204);
  // Content-Length: 0 is no body either.
  t.is((await raw(url(h3), { cookie, 'content-length': '0' })).status, 204);
  t.deepEqual(await handles(), []);
  for (const other of others) t.is((await req('GET', '/api/me', { cookie: other })).status, 401);
  t.is((await req('GET', '/api/me', { cookie: me })).status, 200);
});

/**
 * COOKIE_SECURE and PUBLIC_ORIGIN (docs/configuration.md; docs/security.md): behind TLS the
 * cookie is `__Host-sid` with Secure, HSTS is sent, and only the https origin passes
 * the cross-site check.
 */
import test from 'ava';
import { client } from '../helpers/http.js';
import { startServer } from '../helpers/server.js';
import { PASSWORD } from '../helpers/login.js';

test('COOKIE_SECURE: __Host-sid with Secure, HttpOnly, SameSite=Lax, Path=/ and no Domain; HSTS', async (t) => {
  const srv = await startServer({ env: { COOKIE_SECURE: 'on' } });
  t.teardown(() => srv.close());
  await srv.addUser('alice', PASSWORD);
  const req = client(srv.url, '__Host-sid');
  const login = await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } });
  t.is(login.status, 200);
  const [set] = login.setCookies;
  t.regex(set!, /^__Host-sid=[A-Za-z0-9]{12}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure; Expires=/);
  t.false(/Domain=/i.test(set!));
  t.is(login.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains');
  const token = login.cookie()!;
  t.is((await req('GET', '/api/me', { cookie: token })).status, 200);
  t.is((await req('GET', '/api/me', { cookie: `sid=${token}` })).status, 401, 'the unprefixed name is not the session cookie');
  t.is((await req('GET', '/api/me', { cookie: `__host-sid=${token}` })).status, 401, 'names match case-sensitively');

  const host = new URL(srv.url).host;
  const plain = await req('POST', '/auth/refresh', { cookie: token, headers: { origin: `http://${host}` } });
  t.is(plain.status, 403, 'an http origin is foreign to an https site');
  const tls = await req('POST', '/auth/refresh', { cookie: token, headers: { origin: `https://${host}` } });
  t.is(tls.status, 200);
  t.regex(tls.setCookies[0]!, /; Secure/);
  const out = await req('POST', '/auth/logout', { cookie: tls.cookie() });
  t.is(out.status, 204);
  t.regex(out.setCookies[0]!, /^__Host-sid=; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=0; /);
});

test('PUBLIC_ORIGIN is the only origin accepted on unsafe requests', async (t) => {
  const srv = await startServer({ env: { PUBLIC_ORIGIN: 'https://app.example.org' } });
  t.teardown(() => srv.close());
  await srv.addUser('alice', PASSWORD);
  const req = client(srv.url);
  const body = { json: { username: 'alice', password: PASSWORD } };
  t.is((await req('POST', '/auth/login', { ...body, headers: { origin: 'https://app.example.org' } })).status, 200);
  t.is((await req('POST', '/auth/login', { ...body, headers: { origin: srv.url } })).status, 403);
  t.is((await req('POST', '/auth/login', { ...body, headers: { origin: 'https://app.example.org.evil.test' } })).status, 403);
});

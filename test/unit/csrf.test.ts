/**
 * The cross-site refusal on its own (src/http/middleware/csrf.ts): which requests count
 * as coming from this site, from Sec-Fetch-Site, Origin, Host, PUBLIC_ORIGIN and https.
 */
import test from 'ava';
import { AppError } from '../../src/errors.js';
import { csrfProtection, expectedOrigins, isSameOriginRequest, isUnsafeMethod } from '../../src/http/middleware/csrf.js';
import { contextFor } from '../helpers/koa-context.js';

const HOST = 'app.example:3000';
const plain = { secure: false };
const same = (headers: Record<string, string>, policy: { secure: boolean; publicOrigin?: string } = plain, encrypted = false) =>
  isSameOriginRequest(contextFor({ headers: { host: HOST, ...headers }, encrypted }), policy);

test('no Origin and no Sec-Fetch-Site: allowed (not a browser page: browsers send Origin on cross-site unsafe requests)', (t) => {
  t.true(same({}));
});

test('Sec-Fetch-Site: cross-site and same-site are refused whatever the Origin; same-origin and none are not', (t) => {
  t.false(same({ 'sec-fetch-site': 'cross-site' }));
  t.false(same({ 'sec-fetch-site': 'same-site' }), 'a sibling subdomain is another site for a session');
  t.false(same({ 'sec-fetch-site': 'Cross-Site' }), 'case does not matter');
  t.false(same({ 'sec-fetch-site': 'cross-site', origin: `http://${HOST}` }), 'a matching Origin does not rescue it');
  t.true(same({ 'sec-fetch-site': 'same-origin', origin: `http://${HOST}` }));
  t.true(same({ 'sec-fetch-site': 'none' }), 'typed in the address bar');
});

test('Origin: this site (any case) passes; another site, another port, another scheme on https, and "null" are refused', (t) => {
  t.true(same({ origin: `http://${HOST}` }));
  t.true(same({ origin: `HTTPS://APP.EXAMPLE:3000` }), 'https is accepted behind a TLS proxy');
  t.false(same({ origin: 'http://evil.example' }));
  t.false(same({ origin: 'http://app.example:3001' }));
  t.false(same({ origin: 'http://app.example' }));
  t.false(same({ origin: 'null' }), 'sandboxed iframes and some redirects send Origin: null');
  t.false(same({ origin: `http://${HOST}.evil.example` }));
  t.false(same({ origin: `http://${HOST}`, 'sec-fetch-site': 'same-site' }));
});

test('COOKIE_SECURE or a TLS socket: only https of this host', (t) => {
  t.false(same({ origin: `http://${HOST}` }, { secure: true }));
  t.true(same({ origin: `https://${HOST}` }, { secure: true }));
  t.false(same({ origin: `http://${HOST}` }, plain, true));
  t.deepEqual(expectedOrigins(contextFor({ headers: { host: 'A.Example' } }), plain), ['https://a.example', 'http://a.example']);
});

test('PUBLIC_ORIGIN: the only origin accepted, whatever the Host header says', (t) => {
  const policy = { secure: true, publicOrigin: 'https://sessions.example' };
  t.true(same({ origin: 'https://sessions.example' }, policy));
  t.false(same({ origin: `https://${HOST}` }, policy), 'a forged Host does not add an origin');
  t.false(same({ origin: 'https://evil.example', host: 'evil.example' }, policy));
});

test('no Host and no PUBLIC_ORIGIN: any Origin is refused', (t) => {
  t.deepEqual(expectedOrigins(contextFor({ headers: {} }), plain), []);
  t.false(isSameOriginRequest(contextFor({ headers: { origin: 'http://a.example' } }), plain));
});

test('the middleware: safe methods pass untouched; an unsafe cross-site one is 403 csrf; the token check runs after the origin check', async (t) => {
  t.false(isUnsafeMethod('GET'));
  t.false(isUnsafeMethod('HEAD'));
  t.false(isUnsafeMethod('OPTIONS'));
  for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'post']) t.true(isUnsafeMethod(m), m);

  let reached = 0;
  const next = async () => {
    reached++;
  };
  const mw = csrfProtection(plain);
  await mw(contextFor({ method: 'GET', headers: { host: HOST, 'sec-fetch-site': 'cross-site' } }), next);
  t.is(reached, 1, 'a cross-site GET is not refused (it changes nothing)');

  const refused = contextFor({ method: 'POST', headers: { host: HOST, origin: 'http://evil.example' } });
  const err = await t.throwsAsync(mw(refused, next));
  t.true(err instanceof AppError);
  t.like(err, { status: 403, code: 'csrf' });
  t.is(reached, 1);
  t.regex(String(refused.response.get('Vary')), /Origin.*Sec-Fetch-Site/);

  let tokenChecks = 0;
  const withToken = csrfProtection(plain, { verifyToken: () => ++tokenChecks > 1 });
  await t.throwsAsync(withToken(contextFor({ method: 'POST', headers: { host: HOST, origin: 'http://evil.example' } }), next));
  t.is(tokenChecks, 0, 'a cross-site request is refused before its token is looked at');
  await t.throwsAsync(withToken(contextFor({ method: 'POST', headers: { host: HOST } }), next), { instanceOf: AppError, message: 'Cross-site request refused.' });
  await withToken(contextFor({ method: 'POST', headers: { host: HOST, origin: `http://${HOST}` } }), next);
  t.is(reached, 2);
});

/**
 * Bounds on what one request may cost (docs/security.md, "Request limits"): argon2 work is
 * queued with a bound (overflow → 429 with Retry-After: 1, not an ever-growing queue),
 * headers over Node's 16 KiB limit are 431, conflicting Content-Length headers are 400.
 */
import { connect } from 'node:net';
import test from 'ava';
import { client } from '../helpers/http.js';
import { startServer } from '../helpers/server.js';
import { PASSWORD } from '../helpers/login.js';

function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    let out = '';
    socket.on('data', (d) => {
      out += d;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
  });
}

test('a login flood beyond the hashing queue gets 429 too_many_attempts with Retry-After: 1', async (t) => {
  const srv = await startServer({ env: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '1', LOGIN_MAX_FAILURES_PER_IP: '1000' } });
  t.teardown(() => srv.close());
  await srv.addUser('alice', PASSWORD);
  const req = client(srv.url);
  const replies = await Promise.all(
    Array.from({ length: 8 }, () => req('POST', '/auth/login', { json: { username: 'alice', password: 'wrong password' } })),
  );
  const busy = replies.filter((r) => r.status === 429);
  t.true(busy.length >= 1, replies.map((r) => r.status).join(','));
  for (const r of busy) {
    t.is(r.body!.error, 'too_many_attempts');
    t.is(r.headers.get('retry-after'), '1');
  }
  t.true(replies.every((r) => r.status === 401 || r.status === 429));
  t.deepEqual(srv.hasher.load, { running: 0, waiting: 0 });
  t.is((await req('POST', '/auth/login', { json: { username: 'alice', password: PASSWORD } })).status, 200);
});

test('a 20 KB Cookie header is 431 and conflicting Content-Length headers are 400, never 500', async (t) => {
  const srv = await startServer();
  t.teardown(() => srv.close());
  const big = await raw(srv.port, `GET /api/me HTTP/1.1\r\nHost: x\r\nCookie: sid=${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`);
  t.regex(big, /^HTTP\/1\.1 431 /);
  const dup = await raw(
    srv.port,
    'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{}',
  );
  t.regex(dup, /^HTTP\/1\.1 400 /);
});

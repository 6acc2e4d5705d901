/**
 * Smoke test of the fault-injection proxy itself, against a real redis-server: each
 * mode does what the fault tests rely on.
 */
import { once } from 'node:events';
import { createConnection } from 'node:net';
import test from 'ava';
import { Redis } from 'ioredis';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type TcpProxy, startTcpProxy } from '../helpers/tcp-proxy.js';

let redis: RedisProcess;
let proxy: TcpProxy;

test.before(async () => {
  redis = await startRedis();
  proxy = await startTcpProxy({ port: redis.port });
});
test.after.always(async () => {
  await proxy?.close();
  await redis?.stop();
});

const viaProxy = async (commandTimeout: number) => {
  const c = new Redis({
    host: '127.0.0.1',
    port: proxy.port,
    commandTimeout,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => 50,
  });
  c.on('error', () => {});
  await once(c, 'ready');
  return c;
};

test.serial('pass forwards commands both ways', async (t) => {
  proxy.setMode({ kind: 'pass' });
  const c = await viaProxy(2000);
  await c.set('k:pass', 'v');
  t.is(await c.get('k:pass'), 'v');
  t.true(proxy.connectionCount() >= 1);
  c.disconnect();
});

test.serial('delay holds replies past a short command timeout, in order', async (t) => {
  proxy.setMode({ kind: 'pass' });
  const c = await viaProxy(100);
  await c.ping();
  proxy.setMode({ kind: 'delay', ms: 1500 });
  await t.throwsAsync(c.incr('k:delay'), { message: /timed out/i });
  proxy.setMode({ kind: 'pass' });
  const direct = redis.client();
  // The command the client gave up on still reaches Redis, late and in order.
  for (let i = 0; i < 100 && (await direct.get('k:delay')) !== '1'; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  t.is(await direct.get('k:delay'), '1');
  c.disconnect();
});

test.serial('blackhole answers nothing, closes nothing, and delivers late on heal', async (t) => {
  proxy.setMode({ kind: 'pass' });
  const c = await viaProxy(150);
  await c.ping();
  let closed = false;
  c.on('close', () => { closed = true; });
  proxy.setMode({ kind: 'blackhole' });
  await t.throwsAsync(c.set('k:hole', 'late'), { message: /timed out/i });
  await t.throwsAsync(c.ping(), { message: /timed out/i });
  const direct = redis.client();
  t.is(await direct.get('k:hole'), null, 'nothing crossed the blackhole');
  t.false(closed, 'no FIN or RST reached the client');
  proxy.setMode({ kind: 'pass' });
  for (let i = 0; i < 100 && (await direct.get('k:hole')) === null; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  t.is(await direct.get('k:hole'), 'late', 'held bytes are delivered after the heal');
  c.disconnect();
});

test.serial('a connection opened during a blackhole is accepted but never answered', async (t) => {
  proxy.setMode({ kind: 'blackhole' });
  const before = proxy.acceptedCount();
  const sock = createConnection({ host: '127.0.0.1', port: proxy.port });
  await once(sock, 'connect');
  let received = 0;
  let closed = false;
  sock.on('data', (d: Buffer) => { received += d.length; });
  sock.on('close', () => { closed = true; });
  sock.write('PING\r\n');
  await new Promise((r) => setTimeout(r, 300));
  t.is(proxy.acceptedCount(), before + 1);
  t.is(received, 0);
  t.false(closed);
  proxy.setMode({ kind: 'pass' });
  await once(sock, 'data');
  t.true(received > 0, 'the held PING is answered after the heal');
  sock.destroy();
});

test.serial('reset kills open connections and refuses new ones with an RST', async (t) => {
  proxy.setMode({ kind: 'pass' });
  const open = createConnection({ host: '127.0.0.1', port: proxy.port });
  await once(open, 'connect');
  const openErr = once(open, 'error');
  proxy.setMode({ kind: 'reset' });
  const [e1] = (await openErr) as [NodeJS.ErrnoException];
  t.is(e1.code, 'ECONNRESET');

  const fresh = createConnection({ host: '127.0.0.1', port: proxy.port });
  fresh.on('connect', () => fresh.write('PING\r\n'));
  const [e2] = (await once(fresh, 'error')) as [NodeJS.ErrnoException];
  t.regex(String(e2.code), /ECONNRESET|EPIPE/);
  proxy.setMode({ kind: 'pass' });
});

/**
 * Two real app processes behind HAProxy running deploy/haproxy.cfg (the file
 * docker-compose.yml mounts), one Redis: sessions outlive the node that issued them, a
 * rolling restart under load fails no request, and behind the proxy (TRUST_PROXY=1)
 * the client IP is the one HAProxy appends, not one the client claims.
 */
import { request as httpRequest } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { RedisUserStore } from '../../src/users/redis-user-store.js';
import { PasswordHasher } from '../../src/users/password.js';
import { type HaproxyProcess, startHaproxy } from '../helpers/haproxy.js';
import { type RedisProcess, startRedis } from '../helpers/redis-server.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';

const PASSWORD = 'correct horse battery staple';
// The client loop signs alice in ~130 times: above the default per-user cap (100), which would
// end the looping browsers' own sessions; this test is about restarts.
const APP_ENV = { TRUST_PROXY: '1', SHUTDOWN_DRAIN: '2s', SHUTDOWN_TIMEOUT: '5s', SESSION_MAX_PER_USER: '1000' };

interface Deployment {
  redis: RedisProcess;
  apps: [AppProcess, AppProcess];
  lb: HaproxyProcess;
  env: Record<string, string>;
  /** Restarts node i (0/1) on its port, waits until it is ready and HAProxy has it UP. */
  restart(i: 0 | 1): Promise<AppProcess>;
}

async function deploy(t: ExecutionContext): Promise<Deployment> {
  const redis = await startRedis({ args: ['--maxmemory-policy', 'noeviction'] });
  const env = { ...APP_ENV, REDIS_URL: redis.url };
  const users = new RedisUserStore(redis.client());
  await users.create('alice', await new PasswordHasher({ concurrency: 1, queueLimit: 1 }).hash(PASSWORD));
  const apps = (await Promise.all([startApp({ env }), startApp({ env })])) as [AppProcess, AppProcess];
  const lb = await startHaproxy({ app1: apps[0].addr, app2: apps[1].addr });
  const d: Deployment = {
    redis,
    apps,
    lb,
    env,
    async restart(i) {
      d.apps[i] = await startApp({ env, port: d.apps[i].port });
      await lb.waitFor(`app${i + 1}`, 'UP');
      return d.apps[i];
    },
  };
  t.teardown(async () => {
    await lb.stop();
    await Promise.all(d.apps.map((a) => a.stop('SIGKILL')));
    await redis.stop();
  });
  await lb.waitFor('app1', 'UP');
  await lb.waitFor('app2', 'UP');
  return d;
}

/** A browser-like client: keeps the sid and SRV cookies it is given. */
function browser(base: string) {
  const jar = new Map<string, string>();
  const send = async (method: string, path: string, json?: unknown) => {
    const headers: Record<string, string> = {};
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    const text = await res.text();
    return { status: res.status, text, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };
  return { send, jar, login: () => send('POST', '/auth/login', { username: 'alice', password: PASSWORD }) };
}

test.serial('a session created through one node keeps working when that node is SIGKILLed', async (t) => {
  const d = await deploy(t);
  const b = browser(d.lb.url);
  t.is((await b.login()).status, 200);
  const node = b.jar.get('SRV');
  t.true(node === 'app1' || node === 'app2', 'HAProxy pinned the browser to a node');
  const sid = b.jar.get('sid');
  for (let i = 0; i < 3; i++) t.is((await b.send('GET', '/api/me')).status, 200);
  t.is(b.jar.get('SRV'), node, 'sticky while the node is up');

  const victim = d.apps[node === 'app1' ? 0 : 1];
  t.is(await victim.stop('SIGKILL'), null);
  // Before and after HAProxy notices: a refused connection is redispatched, and the
  // other node validates the same cookie against the shared Redis.
  for (let i = 0; i < 10; i++) {
    const me = await b.send('GET', '/api/me');
    t.is(me.status, 200, me.text);
  }
  t.is(b.jar.get('sid'), sid, 'same session, no re-login');
  await d.lb.waitFor(node!, 'DOWN');
  t.not(b.jar.get('SRV'), node, 'HAProxy re-pinned the browser to the surviving node');
  t.is((await b.send('GET', '/api/me')).status, 200);
});

test.serial('a rolling restart under a client loop fails zero requests', async (t) => {
  const d = await deploy(t);
  const clients = await Promise.all(
    [0, 1, 2, 3].map(async () => {
      const b = browser(d.lb.url);
      t.is((await b.login()).status, 200);
      return b;
    }),
  );
  const failures: string[] = [];
  const count = { requests: 0, perNode: new Map<string, number>() };
  let running = true;
  const loop = async (b: ReturnType<typeof browser>, i: number) => {
    while (running) {
      try {
        // Mostly reads, and now and then a write path: a login of a new session.
        const r = count.requests % 25 === i ? await browser(d.lb.url).login() : await b.send('GET', '/api/me');
        count.requests++;
        if (r.status !== 200) failures.push(`${r.status} ${r.text.slice(0, 100)}`);
        const srv = b.jar.get('SRV') ?? '?';
        count.perNode.set(srv, (count.perNode.get(srv) ?? 0) + 1);
      } catch (err) {
        failures.push(String(err));
      }
    }
  };
  const loops = clients.map((b, i) => loop(b, i));

  for (const i of [0, 1] as const) {
    const before = count.requests;
    const code = await d.apps[i].stop('SIGTERM');
    t.is(code, 0, `node ${i + 1} drained and exited 0`);
    await d.lb.waitFor(`app${i + 1}`, 'DOWN');
    await d.restart(i);
    t.true(count.requests > before, 'requests kept flowing during the restart');
  }
  // Let traffic reach the restarted second node too.
  const settle = count.requests + 40;
  while (count.requests < settle) await new Promise((r) => setTimeout(r, 20));
  running = false;
  await Promise.all(loops);

  t.deepEqual(failures, [], `${failures.length} of ${count.requests} requests failed`);
  t.true(count.requests > 100, `${count.requests} requests`);
  t.log(`${count.requests} requests across the rolling restart, 0 failed`);
});

/** GET through HAProxy from a chosen loopback source address, with extra headers. */
function getFrom(localAddress: string, url: string, headers: Record<string, string>) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(url, { localAddress, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test.serial('with TRUST_PROXY=1 the client IP is the one HAProxy appends, not the one the client forges', async (t) => {
  const d = await deploy(t);
  // Log in from 127.0.0.2 (a loopback alias), claiming to be 203.0.113.66.
  const login = await new Promise<{ status: number; cookie: string }>((resolve, reject) => {
    const body = JSON.stringify({ username: 'alice', password: PASSWORD });
    const req = httpRequest(
      `${d.lb.url}/auth/login`,
      {
        method: 'POST',
        localAddress: '127.0.0.2',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.66' },
      },
      (res) => {
        res.resume();
        const sid = (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).find((c) => c.startsWith('sid='));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, cookie: sid ?? '' }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  t.is(login.status, 200);
  const list = await getFrom('127.0.0.2', `${d.lb.url}/auth/sessions`, { cookie: login.cookie, 'x-forwarded-for': '198.51.100.1' });
  t.is(list.status, 200);
  const sessions = (JSON.parse(list.body) as { sessions: { ip: string; current: boolean }[] }).sessions;
  t.is(sessions.length, 1);
  t.is(sessions[0]!.ip, '127.0.0.2', 'the address HAProxy saw, appended as the last X-Forwarded-For hop');
});

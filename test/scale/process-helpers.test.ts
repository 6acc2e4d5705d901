/**
 * Smoke tests of the scale-out process helpers: a real Redis Cluster, a real Sentinel
 * deployment and HAProxy running deploy/haproxy.cfg, all on loopback.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { startHaproxy } from '../helpers/haproxy.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { startRedisSentinel } from '../helpers/redis-sentinel.js';

test('a 3-master cluster reports ok, routes keys by slot and CLUSTER KEYSLOT honours hash tags', async (t) => {
  const cluster = await startRedisCluster();
  t.teardown(() => cluster.stop());
  const node = cluster.nodeClient(0);
  t.regex(await node.cluster('INFO'), /cluster_state:ok/);
  t.is(await node.cluster('KEYSLOT', 'ss:{abc}:s:x'), await node.cluster('KEYSLOT', 'ss:{abc}:u'));
  const c = cluster.client();
  await c.set('ss:{abc}:probe', '1');
  await c.set('ss:{xyz}:probe', '2');
  t.deepEqual(await c.mget('ss:{abc}:probe', 'ss:{abc}:missing'), ['1', null]);
  t.is(c.nodes('master').length, 3);
});

test('sentinels agree on the master and its replica', async (t) => {
  const s = await startRedisSentinel();
  t.teardown(() => s.stop());
  const master = await s.master();
  t.is(master.port, s.servers[0]!.port);
  const c = s.client();
  await c.set('probe', 'x');
  t.is(await c.get('probe'), 'x');
  const replicas = (await s.sentinelClient(1).call('SENTINEL', 'REPLICAS', s.name)) as string[][];
  t.is(replicas.length, 1);
});

/** A trivial backend: names itself, /readyz answers with a switchable status. */
async function backend(name: string) {
  let ready = 200;
  const srv: Server = createServer((req, res) => {
    if (req.url === '/readyz') {
      res.writeHead(ready).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(name);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    addr: `127.0.0.1:${(srv.address() as AddressInfo).port}`,
    setReady: (s: number) => {
      ready = s;
    },
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

test('haproxy balances two backends, sticks by cookie and drops a backend whose /readyz fails', async (t) => {
  const a = await backend('a');
  const b = await backend('b');
  const lb = await startHaproxy({ app1: a.addr, app2: b.addr });
  t.teardown(async () => {
    await lb.stop();
    await a.close();
    await b.close();
  });
  await lb.waitFor('app1', 'UP');
  await lb.waitFor('app2', 'UP');

  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) seen.add(await (await fetch(lb.url)).text());
  t.deepEqual([...seen].sort(), ['a', 'b']);

  const first = await fetch(lb.url);
  const who = await first.text();
  const srv = /SRV=(\w+)/.exec(first.headers.get('set-cookie') ?? '')?.[1];
  t.truthy(srv);
  for (let i = 0; i < 4; i++) {
    t.is(await (await fetch(lb.url, { headers: { cookie: `SRV=${srv}` } })).text(), who);
  }

  (who === 'a' ? a : b).setReady(503);
  const name = who === 'a' ? 'app1' : 'app2';
  await lb.waitFor(name, 'DOWN');
  t.not(await (await fetch(lb.url, { headers: { cookie: `SRV=${srv}` } })).text(), who);
});

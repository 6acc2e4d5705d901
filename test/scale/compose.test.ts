/**
 * Docker cannot run on the CI machines, so the deployment files are checked as data:
 * the compose file must mount the HAProxy config the HAProxy tests run, give Redis AOF
 * and noeviction, run two app replicas configured for the proxy, and the Dockerfile
 * must be multi-stage, non-root and production-only.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { HAPROXY_CFG } from '../helpers/haproxy.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const compose = parse(readFileSync(resolve(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
};
const haproxyCfg = readFileSync(HAPROXY_CFG, 'utf8');
const dockerfile = readFileSync(resolve(root, 'Dockerfile'), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  stop_grace_period?: string;
  profiles?: string[];
}

const services = compose.services;
const appServices = Object.entries(services).filter(
  ([, s]) => s.environment?.REDIS_URL && !s.profiles && s.build === '.',
);
/** `presetenv NAME value` defaults of deploy/haproxy.cfg: what compose runs with. */
const presets = Object.fromEntries(
  [...haproxyCfg.matchAll(/^\s*presetenv\s+(\S+)\s+(\S+)/gm)].map((m) => [m[1]!, m[2]!]),
);
const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)?.[1] ?? Number.NaN);

test('the HAProxy service mounts deploy/haproxy.cfg, the file the HAProxy tests run', (t) => {
  const lb = Object.values(services).find((s) => s.image?.startsWith('haproxy'));
  t.truthy(lb);
  const mount = lb!.volumes?.map((v) => v.split(':')).find(([, target]) => target === '/usr/local/etc/haproxy/haproxy.cfg');
  t.truthy(mount, 'haproxy.cfg is mounted at the image’s config path');
  t.is(resolve(root, mount![0]!), HAPROXY_CFG);
  t.true(lb!.ports?.some((p) => p.endsWith(`:${presets['HAPROXY_BIND']?.split(':').pop()}`)), 'the bind port is published');
});

test('Redis runs with AOF persistence and the noeviction policy', (t) => {
  const redis = services['redis'];
  t.truthy(redis);
  const cmd = Array.isArray(redis!.command) ? redis!.command.join(' ') : String(redis!.command);
  t.regex(cmd, /--appendonly yes\b/);
  t.regex(cmd, /--maxmemory-policy noeviction\b/);
  t.regex(cmd, /--appendfsync (always|everysec)\b/);
  t.true(redis!.volumes?.some((v) => v.endsWith(':/data')), 'the AOF lives on a volume');
});

test('two app replicas are exactly the servers HAProxy balances, and their config loads', (t) => {
  t.is(appServices.length, 2);
  t.deepEqual(appServices[0]![1].environment, appServices[1]![1].environment, 'both replicas share one configuration');
  // The nodes share the form CSRF key through Redis; an empty FORM_CSRF_KEY would read
  // as "configured" to an operator while meaning "unset".
  t.false('FORM_CSRF_KEY' in appServices[0]![1].environment!, 'no FORM_CSRF_KEY: the key comes from Redis');
  const lbServers = [presets['APP1_ADDR'], presets['APP2_ADDR']];
  for (const [name, s] of appServices) {
    const env = s.environment!;
    t.true(lbServers.includes(`${name}:${env.PORT}`), `${name}:${env.PORT} is a backend of deploy/haproxy.cfg`);
    t.is(env.HOST, '0.0.0.0');
    t.is(env.TRUST_PROXY, '1', 'one proxy hop: HAProxy');
    t.regex(env.REDIS_URL!, /^redis:\/\/redis:6379$/);
    // Compose substitutes ${COOKIE_SECURE:-on}; the default is what loadConfig sees.
    const resolved = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, v.replace(/\$\{\w+:-([^}]*)\}/g, '$1')]),
    );
    const config = loadConfig(resolved);
    t.is(config.trustProxy, 1);
    t.true(
      seconds(s.stop_grace_period ?? '10s') * 1000 > config.shutdownDrainMs + config.shutdownTimeoutMs,
      'docker waits out the drain before SIGKILL',
    );
  }
});

test('HAProxy sticks by cookie and checks /readyz within the shutdown drain', (t) => {
  t.regex(haproxyCfg, /^\s*cookie SRV insert indirect nocache\b/m);
  t.regex(haproxyCfg, /^\s*http-check send meth GET uri \/readyz\b/m);
  t.regex(haproxyCfg, /^\s*option forwardfor\b/m);
  const inter = Number(/\binter (\d+)ms\b/.exec(haproxyCfg)?.[1]);
  const fall = Number(/\bfall (\d+)\b/.exec(haproxyCfg)?.[1]);
  const drainMs = loadConfig({}).shutdownDrainMs;
  t.true(inter * (fall + 1) < drainMs, `a draining node leaves the pool (${inter}ms × ${fall + 1}) before the ${drainMs}ms drain ends`);
});

test('the Dockerfile is multi-stage, installs production dependencies only and runs as non-root with a /healthz check', (t) => {
  t.true((dockerfile.match(/^FROM /gm) ?? []).length >= 2);
  t.regex(dockerfile, /npm ci --omit=dev/);
  t.regex(dockerfile, /COPY --from=build \/app\/dist/);
  const user = /^USER (\S+)/m.exec(dockerfile)?.[1];
  t.truthy(user);
  t.not(user, 'root');
  t.regex(dockerfile, /^HEALTHCHECK .*\n?.*\/healthz/m);
  // The compiled command runs the server (node stays PID 1), as it runs the admin CLI.
  t.regex(dockerfile, /^CMD \["node", "dist\/src\/bin\.js", "serve"\]/m);
  const ignore = readFileSync(resolve(root, '.dockerignore'), 'utf8').split('\n');
  for (const p of ['node_modules', '.git', 'dist']) t.true(ignore.includes(p), `.dockerignore lists ${p}`);
});

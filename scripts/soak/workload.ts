/**
 * The mixed workload: "devices", each belonging to a user and holding at most one
 * session at a time, loop over weighted actions — requests, idle pauses long enough for
 * the idle window to lapse (so refreshes happen), refreshes, listing, logout, logout
 * everywhere, killing another device, password changes, and deliberate replays of
 * rotated-away IDs past their grace. Every answer goes through the model.
 *
 * One device acts on its own session sequentially; revocations by other devices, the
 * CLI and replays hit it concurrently, which is the race the checker is for.
 */
import type { SessionUser } from './users.js';
import type { SoakHttp } from './http.js';
import type { Family, SoakModel } from './model.js';

export interface WorkloadOptions {
  idleMs: number;
  graceMs: number;
  /** Extra wait past the grace before a replay is injected. */
  replayMarginMs: number;
  stop: () => boolean;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rnd = (a: number, b: number) => a + Math.floor(Math.random() * (b - a));

type Action = 'me' | 'idle' | 'refresh' | 'list' | 'logout' | 'logoutAll' | 'killOther' | 'password' | 'replay';
const WEIGHTS: Array<[Action, number]> = [
  ['me', 55], ['idle', 6], ['refresh', 8], ['list', 6], ['logout', 4], ['logoutAll', 1],
  ['killOther', 2], ['password', 1], ['replay', 6],
];
const TOTAL = WEIGHTS.reduce((n, [, w]) => n + w, 0);
function pick(): Action {
  let x = Math.random() * TOTAL;
  for (const [a, w] of WEIGHTS) {
    x -= w;
    if (x < 0) return a;
  }
  return 'me';
}

export async function runDevice(user: SessionUser, http: SoakHttp, model: SoakModel, o: WorkloadOptions): Promise<void> {
  let fam: Family | undefined;
  const lost = () => { fam = undefined; };
  while (!o.stop()) {
    await pause(rnd(10, 120));
    try {
      // A device learns that its session ended only from answers, never from the model:
      // it keeps using a session another device or the CLI revoked, which is the race.
      if (!fam) {
        fam = await login(user, http, model);
        continue;
      }
      const token = fam.current;
      switch (pick()) {
        case 'me': {
          const c = await http.call('GET', '/api/me', token);
          if (c.code === 'refresh_required' && !(await refresh(fam, http, model))) lost();
          else if (c.code === 'login_required') lost();
          break;
        }
        case 'idle':
          await pause(rnd(o.idleMs, o.idleMs * 1.5));
          break;
        case 'refresh':
          if (!(await refresh(fam, http, model))) lost();
          break;
        case 'list': {
          const c = await http.call('GET', '/auth/sessions', token);
          if (c.code === 'login_required') lost();
          break;
        }
        case 'logout': {
          const c = await http.call('POST', '/auth/logout', token);
          if (c.reply.status === 204) model.revoked([fam.handle], 'logout', c.obs.end);
          lost();
          break;
        }
        case 'logoutAll': {
          const start = performance.now();
          const victims = model.familiesOf(user.name, start);
          const c = await http.call('POST', '/auth/logout-all', token);
          if (c.reply.status === 204) model.revoked(victims, 'logout-all', c.obs.end);
          if (c.reply.status !== 503) lost();
          break;
        }
        case 'killOther': {
          const other = [...model.families.values()].find((f) => f.user === user.name && f !== fam && f.revokedAck === undefined);
          if (!other) break;
          const c = await http.call('DELETE', `/auth/sessions/${other.handle}`, token);
          if (c.reply.status === 204) model.revoked([other.handle], 'device-kill', c.obs.end);
          else if (c.code === 'login_required') lost();
          break;
        }
        case 'password':
          if (!(await changePassword(user, fam, http, model))) lost();
          break;
        case 'replay': {
          const f = fam;
          const old = model.replayCandidates(performance.now(), o.replayMarginMs).filter((t) => model.familyOf(t) === f);
          if (old.length === 0) break;
          const replayed = await http.call('GET', '/api/me', old[0], undefined, false);
          const successor = await http.call('GET', '/api/me', f.current, undefined, false);
          model.replay(replayed.obs, successor.obs);
          lost();
          break;
        }
      }
    } catch {
      // A transport error (counted by SoakHttp); start over with a fresh session.
      lost();
      await pause(200);
    }
  }
}

async function login(user: SessionUser, http: SoakHttp, model: SoakModel): Promise<Family | undefined> {
  return user.lock(async () => {
    const c = await http.call('POST', '/auth/login', undefined, { username: user.name, password: user.password });
    const token = c.reply.cookie();
    const handle = (c.reply.body?.session as { handle?: string } | undefined)?.handle;
    if (c.reply.status !== 200 || !token || !handle) return undefined;
    return model.login(user.name, handle, token, c.obs.end);
  });
}

async function refresh(fam: Family, http: SoakHttp, model: SoakModel): Promise<boolean> {
  const old = fam.current;
  const c = await http.call('POST', '/auth/refresh', old);
  const next = c.reply.cookie();
  if (c.reply.status === 200 && next) {
    model.rotated(old, next, c.obs.end);
    return true;
  }
  return c.reply.status === 503;
}

async function changePassword(user: SessionUser, fam: Family, http: SoakHttp, model: SoakModel): Promise<boolean> {
  return user.lock(async () => {
    const old = fam.current;
    const next = `${user.name}-pw-${Math.random().toString(36).slice(2)}-long-enough`;
    const start = performance.now();
    const others = model.familiesOf(user.name, start, fam.handle);
    const c = await http.call('POST', '/auth/password', old, { currentPassword: user.password, newPassword: next });
    if (c.reply.status !== 204) return c.reply.status === 503;
    user.password = next;
    const rotated = c.reply.cookie();
    if (rotated) model.rotated(old, rotated, c.obs.end, { noGrace: true });
    model.revoked(others, 'password-change', c.obs.end);
    return rotated !== undefined;
  });
}

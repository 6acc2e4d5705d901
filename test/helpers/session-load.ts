/**
 * Steady load on a session store while Redis changes shape, and what the maintenance
 * tests judge afterwards (docs/design.md, invariant 12). Several clients validate,
 * refresh, log in, log out, log out everywhere, revoke a device by handle and list
 * devices; every outcome is tallied per kind (a 503 is a failure, any other error fails
 * the test), with its latency. A model remembers what each acknowledged answer promised,
 * so `check()` can tell afterwards that every live session is still valid, listed and
 * revocable, and that every revoked one stays refused.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutionContext } from 'ava';
import { StoreUnavailableError } from '../../src/errors.js';
import { newTag } from '../../src/sessions/token.js';
import type { SessionStore } from '../../src/sessions/types.js';

/** Outcomes of one kind of request: answered (with latency) or 503, only while `counting()`. */
export class Tally {
  ok = 0;
  failed = 0;
  readonly ms: number[] = [];
  readonly causes = new Map<string, number>();

  constructor(readonly counting: () => boolean = () => true) {}

  /** Runs `op`; a 503 is tallied and answers undefined, any other error is thrown. */
  async run<T>(op: () => Promise<T>): Promise<T | undefined> {
    const counted = this.counting();
    const started = performance.now();
    try {
      const v = await op();
      if (counted) this.record(performance.now() - started);
      return v;
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      if (counted) this.record(performance.now() - started, String((err.cause as Error | undefined)?.message ?? err.message));
      return undefined;
    }
  }

  /** One outcome: answered in `ms`, or failed for `cause`. */
  record(ms: number, cause?: string): void {
    if (cause === undefined) {
      this.ok++;
      this.ms.push(ms);
      return;
    }
    this.failed++;
    const c = cause.slice(0, 60);
    this.causes.set(c, (this.causes.get(c) ?? 0) + 1);
  }

  /** The q-quantile of the answered requests' latency, in ms. */
  quantile(q: number): number {
    const sorted = [...this.ms].sort((x, y) => x - y);
    return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  }

  toString() {
    const causes = [...this.causes].map(([c, n]) => `${n}× ${c}`).join('; ');
    return `${this.ok} ok (p50 ${this.quantile(0.5)} ms, p99 ${this.quantile(0.99)} ms, max ${this.quantile(1)} ms), ${this.failed} failed${causes ? ` (${causes})` : ''}`;
  }
}

type Kind = 'validate' | 'refresh' | 'login' | 'logout' | 'logoutAll' | 'revoke' | 'list';

/** One session as its client knows it: the newest cookie, and what was acknowledged. */
interface Known {
  tag: string;
  handle: string;
  token: string;
  /** Every cookie it ever had (a rotated-away one must die with it). */
  tokens: string[];
  /** 'live' until a revocation of it was acknowledged; 'unsure' after a 503 on one. */
  state: 'live' | 'revoked' | 'unsure';
  /** Who may change it: one worker per session, so the model never races itself. */
  role: 'read' | 'refresh' | 'logout' | 'kill' | 'all';
  /** When its login was sent (performance.now()). */
  at: number;
  /** When its latest write (login or rotation) was acknowledged (performance.now()). */
  ackedAt: number;
}

/**
 * A master killed at `at` (performance.now()): Redis replicates after it acknowledges, so
 * a write acknowledged in the last `windowMs` may not have reached the replica elected in
 * its place. A session whose latest write is that recent and that is then not as
 * acknowledged is reported (t.log), not failed: its client's newest cookie names an ID
 * the new master never had (a lost rotation even looks like a replay of the family).
 * REDIS_WAIT_REPLICAS closes the window (docs/reliability.md).
 */
export interface UnreplicatedWindow {
  at: number;
  windowMs: number;
}

export interface LoadOptions {
  /** Users the sessions belong to (default 4); logout-all uses one more of its own. */
  users?: number;
  /** Tags to use (e.g. chosen to land on one Cluster master); default fresh ones. */
  tags?: string[];
  /** Pause of each validating client between requests (default 2 ms). */
  validateEveryMs?: number;
}

export class SessionLoad {
  /** Only requests sent while this is true are counted (the event's window). */
  counting = false;
  readonly tally: Record<Kind, Tally>;
  /** Validations of a session the model holds live that answered "signed out". */
  readonly wronglyRefused: string[] = [];
  readonly #store: SessionStore;
  readonly #tags: string[];
  readonly #allTag: string;
  readonly #sessions: Known[] = [];
  /** Sessions of the logout-all user, and the moment its last logout-all was sent. */
  #allCutoff = -1;
  #running = false;
  readonly #workers: Promise<void>[] = [];
  readonly #validateEveryMs: number;
  readonly #t0 = performance.now();
  readonly marks: string[] = [];

  constructor(store: SessionStore, opts: LoadOptions = {}) {
    this.#store = store;
    const tags = opts.tags ?? Array.from({ length: (opts.users ?? 4) + 1 }, () => newTag());
    this.#allTag = tags.at(-1)!;
    this.#tags = tags.slice(0, -1);
    this.#validateEveryMs = opts.validateEveryMs ?? 2;
    const counting = () => this.counting;
    this.tally = {
      validate: new Tally(counting), refresh: new Tally(counting), login: new Tally(counting), logout: new Tally(counting),
      logoutAll: new Tally(counting), revoke: new Tally(counting), list: new Tally(counting),
    };
  }

  /** Logs in a first set of sessions (before any event), then starts the clients. */
  async start(): Promise<void> {
    const roles: Known['role'][] = ['read', 'read', 'refresh', 'logout', 'kill'];
    for (const tag of this.#tags) for (const role of roles) await this.#login(tag, role, false);
    for (let i = 0; i < 3; i++) await this.#login(this.#allTag, 'all', false);
    this.#running = true;
    for (let c = 0; c < 4; c++) this.#loop(this.#validateEveryMs, () => this.#validateOne());
    this.#loop(40, () => this.#refreshOne());
    this.#loop(60, async () => {
      const tag = this.#tags[Math.floor(Math.random() * this.#tags.length)]!;
      await this.#login(tag, pick(roles), true);
    });
    this.#loop(50, () => this.#logoutOne());
    this.#loop(70, () => this.#killOne());
    this.#loop(30, async () => {
      await this.tally.list.run(() => this.#store.list(pick(this.#tags)));
    });
    this.#loop(150, () => this.#logoutAll());
  }

  /** Stops the clients and waits for their last requests. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#workers);
  }

  /** Requests answered and failed while counting, over every kind. */
  totals(): { ok: number; failed: number } {
    const all = Object.values(this.tally);
    return { ok: all.reduce((n, t) => n + t.ok, 0), failed: all.reduce((n, t) => n + t.failed, 0) };
  }

  /** All latencies while counting, every kind together. */
  overall(): Tally {
    const t = new Tally();
    for (const k of Object.values(this.tally)) {
      t.ok += k.ok;
      t.failed += k.failed;
      t.ms.push(...k.ms);
    }
    return t;
  }

  report(t: ExecutionContext, event: string): void {
    for (const [kind, tl] of Object.entries(this.tally)) t.log(`${event} · ${kind}: ${tl}`);
    const all = this.overall();
    t.log(`${event} · all: ${all.ok + all.failed} requests, ${all.failed} failed, p50 ${all.quantile(0.5)} ms, p99 ${all.quantile(0.99)} ms, max ${all.quantile(1)} ms`);
  }

  /**
   * After the event, on a settled Redis: every session held live answers, is listed
   * and can be revoked (then is refused); every revoked one, and every session of the
   * logout-all user from before its last logout-all, is refused under each of its cookies.
   */
  async check(t: ExecutionContext, unreplicated?: UnreplicatedWindow): Promise<void> {
    const s = this.#store;
    const listed = new Map<string, Set<string>>();
    for (const tag of [...this.#tags, this.#allTag]) listed.set(tag, new Set((await s.list(tag)).map((x) => x.handle)));
    const wrong: string[] = [];
    const when = (k: Known) => `${k.role} session logged in at ${Math.round(k.at - this.#t0)} ms`;
    let live = 0;
    let refused = 0;
    const lost = new Set<string>();
    const unsent = (k: Known) =>
      unreplicated !== undefined && k.ackedAt <= unreplicated.at && unreplicated.at - k.ackedAt <= unreplicated.windowMs;
    for (const k of this.#sessions) {
      if (k.state === 'unsure') continue;
      const endedByAll = k.role === 'all' && this.#loggedInBefore(k);
      if (k.state === 'live' && !endedByAll) {
        live++;
        const problems: string[] = [];
        const v = await s.validate(k.token);
        if (v.state !== 'active' && v.state !== 'stale') problems.push(`live but ${v.reason}: ${when(k)}`);
        if (!listed.get(k.tag)!.has(k.handle)) problems.push(`live but not listed: ${when(k)}`);
        if (!(await s.revokeHandle(k.handle))) problems.push(`live but not revocable: ${when(k)}`);
        if ((await s.validate(k.token)).state !== 'login_required') problems.push(`served after its revocation: ${when(k)}`);
        if (problems.length > 0 && unsent(k)) {
          lost.add(k.handle);
          t.log(`lost with the killed master (its latest write acknowledged ${Math.round(unreplicated!.at - k.ackedAt)} ms before the kill): ${problems.join('; ')}`);
        } else wrong.push(...problems);
      } else {
        refused++;
        for (const token of k.tokens) {
          if ((await s.validate(token)).state !== 'login_required') wrong.push(`revoked but served: ${when(k)}`);
        }
        if (listed.get(k.tag)!.has(k.handle)) wrong.push(`revoked but listed: ${when(k)}`);
      }
    }
    t.log(`afterwards: ${live} live sessions answered, were listed and revoked; ${refused} revoked ones refused under every cookie`);
    t.deepEqual(wrong, [], `sessions not as acknowledged (times from the start of the load; marks: ${this.marks.join(', ')})`);
    t.deepEqual(this.wronglyRefused.filter((w) => !lost.has(w.slice(0, w.indexOf(':')))), [], 'no live session was answered "signed out"');
  }

  /** Notes a moment (e.g. the failover command) for check()'s messages. */
  mark(what: string): void {
    this.marks.push(`${what} at ${Math.round(performance.now() - this.#t0)} ms`);
  }

  #loggedInBefore(k: Known): boolean {
    return (k.at ?? 0) < this.#allCutoff;
  }

  #loop(everyMs: number, body: () => Promise<void>): void {
    this.#workers.push((async () => {
      while (this.#running) {
        await body();
        await sleep(everyMs);
      }
    })());
  }

  async #login(tag: string, role: Known['role'], counted: boolean): Promise<void> {
    const at = performance.now();
    const create = () => this.#store.create({ userId: `u-${tag}`, tag, ip: '198.51.100.7' });
    const r = counted ? await this.tally.login.run(create) : await create();
    if (!r) return;
    const k: Known = { tag, handle: r.session.handle, token: r.token, tokens: [r.token], state: 'live', role, at, ackedAt: performance.now() };
    this.#sessions.push(k);
    // Over the per-user cap the oldest sessions make room (not expected at this rate).
    for (const h of r.revokedHandles ?? []) for (const old of this.#sessions) if (old.handle === h) old.state = 'revoked';
  }

  #live(role?: Known['role']): Known | undefined {
    const pool = this.#sessions.filter((k) => k.state === 'live' && (role ? k.role === role : k.role !== 'all' && k.role !== 'logout' && k.role !== 'kill'));
    return pool.length ? pick(pool) : undefined;
  }

  async #validateOne(): Promise<void> {
    const k = this.#live();
    if (!k) return;
    const token = k.token;
    const r = await this.tally.validate.run(() => this.#store.validate(token));
    // Only its refresher changes a 'read' or 'refresh' session, and a rotated-away
    // cookie still answers within the grace: nothing may call it signed out.
    if (r && r.state === 'login_required' && k.state === 'live') this.wronglyRefused.push(`${k.handle}: ${r.reason}`);
  }

  async #refreshOne(): Promise<void> {
    const k = this.#live('refresh');
    if (!k) return;
    const r = await this.tally.refresh.run(() => this.#store.refresh(k.token));
    if (!r) return;
    if (!r.ok) {
      this.wronglyRefused.push(`${k.handle}: refresh ${r.reason}`);
      return;
    }
    k.token = r.token;
    k.tokens.push(r.token);
    k.ackedAt = performance.now();
  }

  #logoutOne(): Promise<void> {
    return this.#revokeOne('logout', this.tally.logout, (k) => this.#store.revoke(k.token), 'logout found nothing to revoke');
  }

  #killOne(): Promise<void> {
    return this.#revokeOne('kill', this.tally.revoke, (k) => this.#store.revokeHandle(k.handle), 'revoke by handle found nothing');
  }

  /** Ends one live session of `role`: 'unsure' until the answer, 'revoked' once acknowledged. */
  async #revokeOne(role: Known['role'], tally: Tally, revoke: (k: Known) => Promise<boolean>, nothing: string): Promise<void> {
    const k = this.#live(role);
    if (!k) return;
    k.state = 'unsure';
    const r = await tally.run(() => revoke(k));
    if (r === undefined) return;
    if (!r) this.wronglyRefused.push(`${k.handle}: ${nothing}`);
    k.state = 'revoked';
  }

  async #logoutAll(): Promise<void> {
    // A new device of that user, then "log out everywhere": the model cuts at the send.
    await this.#login(this.#allTag, 'all', true);
    const sent = performance.now();
    const n = await this.tally.logoutAll.run(() => this.#store.revokeAll(this.#allTag));
    if (n !== undefined) this.#allCutoff = Math.max(this.#allCutoff, sent);
    else for (const k of this.#sessions) if (k.role === 'all' && !this.#loggedInBefore(k)) k.state = 'unsure'; // 503: maybe applied
  }
}

function pick<T>(xs: readonly T[]): T {
  return xs[Math.floor(Math.random() * xs.length)]!;
}

/**
 * The embedded store (docs/design.md, "Redis key layout"): same semantics as RedisStore for one process, used by
 * `npm start` without REDIS_URL and by tests. Each method runs synchronously between
 * awaits, which gives it the atomicity the Lua scripts give RedisStore. Decisions use
 * the injected clock (`redisTime` means the process clock); like Redis TTLs, a
 * periodic sweep only reclaims memory and never decides anything.
 */
import { type Clock, systemClock } from '../clock.js';
import { badRequest } from '../errors.js';
import { decide, idleExpiresAt, keyDeadline, outdated, resolvePolicy, shouldSlide } from '../sessions/policy.js';
import { familyArg, familyHash, isTag, mintId, parseHandle, parseToken } from '../sessions/token.js';
import type {
  BindResult, CreateInput, IssuedSession, RefreshResult, RotateOptions, SessionInfo, SessionPolicy,
  SessionRef, SessionStore, ValidateResult,
} from '../sessions/types.js';
import { clip, encodeData, MAX_AUTH_METHOD_CHARS, MAX_BOUND_KEY_CHARS, MAX_IP_CHARS, MAX_UA_CHARS } from './record.js';
import { detachedSuccessorOf, newNonce, successorOf } from '../sessions/successor.js';
import { findByHandle } from './find-handle.js';

/**
 * `kept`: the revocation generation a revoke-all kept this session through (else its
 * creation time stands for it; see #outdated); `trail`: its recent predecessor ID
 * hashes, newest first, whose markers it owns; `family`: the hash of its IDs' family part.
 */
type Rec = Omit<SessionInfo, 'tag' | 'idleExpiresAt' | 'data'> & {
  data: string; kept?: number; trail: string[]; family: string; boundKey?: string;
};

/** How many predecessors keep a replay marker (as rotate() in lib.lua: the family covers the rest). */
const TRAIL = 1;
interface Alias { succ: string; nonce: string; until: number }
interface Marker { handle: string; until: number }
/**
 * A session family (as the family key in lib.lua): any of its checked IDs but `current`
 * is a replay, and of the unchecked ones only `root` (the ID it started from).
 */
interface Family { handle: string; until: number; current: string; root?: string }

export interface MemoryStoreOptions {
  policy?: Partial<SessionPolicy>;
  clock?: Clock;
  /** Memory reclamation period (ms); 0 disables the timer. */
  sweepIntervalMs?: number;
}

export class MemoryStore implements SessionStore {
  readonly policy: Readonly<SessionPolicy>;
  readonly #clock: Clock;
  readonly #users = new Map<string, Map<string, Rec>>();
  readonly #aliases = new Map<string, Alias>();
  readonly #markers = new Map<string, Marker>();
  readonly #families = new Map<string, Family>();
  readonly #epochs = new Map<string, number>();
  readonly #generations = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: MemoryStoreOptions = {}) {
    this.policy = resolvePolicy(opts.policy);
    this.#clock = opts.clock ?? systemClock;
    const every = opts.sweepIntervalMs ?? 60_000;
    if (every > 0) {
      this.#timer = setInterval(() => this.sweep(), every);
      this.#timer.unref();
    }
  }

  #now(): number {
    return this.#clock.now() ?? Date.now();
  }

  /** A user's records; only writers create the map (unknown tags from cookies must not). */
  #sessions(tag: string, create = false): Map<string, Rec> {
    let m = this.#users.get(tag);
    if (!m) {
      m = new Map();
      if (create) this.#users.set(tag, m);
    }
    return m;
  }

  #info(tag: string, r: Rec): SessionInfo {
    const { data, kept: _k, trail: _t, family: _f, boundKey: _b, ...rest } = r;
    return { ...rest, tag, idleExpiresAt: idleExpiresAt(r), data: data ? JSON.parse(data) : {} };
  }

  #alias(tag: string, h: string, now: number): Alias | undefined {
    const a = this.#aliases.get(`${tag}:${h}`);
    return a && a.until > now ? a : undefined;
  }

  #marker(tag: string, h: string, now: number): Marker | undefined {
    const m = this.#markers.get(`${tag}:${h}`);
    return m && m.until > now ? m : undefined;
  }

  /** The live family a presented ID belongs to (`arg`: familyArg of its token), as family_of in lib.lua. */
  #familyOf(tag: string, arg: string, idHash: string, now: number): Family | undefined {
    const checked = !arg.startsWith('~');
    const f = this.#families.get(`${tag}:${checked ? arg : arg.slice(1)}`);
    if (!f || f.until <= now) return undefined;
    return checked || f.root === idHash ? f : undefined;
  }

  /** Deletes a record with everything it leaves behind; true when it was live. */
  #drop(tag: string, idHash: string, now: number): boolean {
    const r = this.#sessions(tag).get(idHash);
    if (!r) return false;
    this.#sessions(tag).delete(idHash);
    this.#forget(tag, r.trail);
    this.#families.delete(`${tag}:${r.family}`);
    return keyDeadline(r) > now;
  }

  #forget(tag: string, ids: readonly string[]): void {
    for (const id of ids) {
      this.#aliases.delete(`${tag}:${id}`);
      this.#markers.delete(`${tag}:${id}`);
    }
  }

  /** Created (or last kept) before the user's latest revoke-all, as in lib.lua. */
  #outdated(tag: string, r: Rec): boolean {
    return outdated(r.createdAt, r.kept, this.#generations.get(tag) ?? 0);
  }

  #bumpGeneration(tag: string, now: number): number {
    const generation = Math.max(this.#generations.get(tag) ?? 0, now);
    this.#generations.set(tag, generation);
    return generation;
  }

  /** A replay revokes the whole session; the answer names it and its user (audit trail). */
  #replayed(tag: string, handle: string, now: number): { handle: string; userId?: string } {
    const userId = [...this.#sessions(tag).values()].find((r) => r.handle === handle)?.userId;
    this.#revokeHandle(tag, handle, now);
    return userId === undefined ? { handle } : { handle, userId };
  }

  /** Removes every live record of a handle (a replay kills the whole session). */
  #revokeHandle(tag: string, handle: string, now: number): number {
    let n = 0;
    for (const [h, r] of this.#sessions(tag)) {
      if (r.handle === handle && this.#drop(tag, h, now)) n++;
    }
    return n;
  }

  /** A record past its key deadline or its generation is dead: dropped, like in Redis. */
  #liveEntries(tag: string, now: number): [string, Rec][] {
    const m = this.#sessions(tag);
    for (const [h, r] of m) if (keyDeadline(r) <= now || this.#outdated(tag, r)) this.#drop(tag, h, now);
    return [...m];
  }

  async create(input: CreateInput, override: Partial<SessionPolicy> = {}): Promise<IssuedSession | null> {
    if (!isTag(input.tag) || !input.userId) throw badRequest('create: a user id and a valid tag are required');
    const data = encodeData(input.data);
    const policy = resolvePolicy({ ...this.policy, ...override });
    const now = this.#now();
    const { tag } = input;
    if (input.expectedEpoch !== undefined && (this.#epochs.get(tag) ?? 0) !== input.expectedEpoch) return null;
    const { token, idHash, handle } = mintId(tag);
    const rec: Rec = {
      handle,
      userId: input.userId,
      createdAt: now,
      lastActiveAt: now,
      idleTimeoutMs: policy.idleTimeoutMs,
      absoluteExpiresAt: now + policy.absoluteLifetimeMs,
      refreshable: input.remember !== false && policy.refreshEnabled,
      authAt: now,
      ip: clip(input.ip, MAX_IP_CHARS),
      userAgent: clip(input.userAgent, MAX_UA_CHARS),
      data,
      trail: [],
      family: familyHash(token),
      ...(input.authMethod ? { authMethod: clip(input.authMethod, MAX_AUTH_METHOD_CHARS) } : {}),
    };
    const live = this.#liveEntries(tag, now);
    this.#sessions(tag, true).set(idHash, rec);
    this.#families.set(`${tag}:${rec.family}`, { handle, until: rec.absoluteExpiresAt, current: idHash });
    const revokedHandles: string[] = [];
    if (policy.maxPerUser > 0 && live.length + 1 > policy.maxPerUser) {
      live.sort(([ha, a], [hb, b]) => a.createdAt - b.createdAt || (ha < hb ? -1 : 1));
      for (const [h, r] of live.slice(0, live.length + 1 - policy.maxPerUser)) {
        this.#drop(tag, h, now);
        revokedHandles.push(r.handle);
      }
    }
    return { token, session: this.#info(tag, rec), now, revokedHandles };
  }

  async validate(token: string | undefined): Promise<ValidateResult> {
    const p = parseToken(token);
    const now = this.#now();
    if (!p) return { state: 'login_required', reason: 'unknown', now };
    let idHash = p.idHash;
    let viaGrace = false;
    let rec = this.#sessions(p.tag).get(idHash);
    if (!rec) {
      const found = this.#resolveAlias(p.tag, p.idHash, familyArg(token!), now);
      if (found.kind !== 'record') return { state: 'login_required', reason: found.kind, now, ...found.extra };
      ({ idHash, rec } = found);
      viaGrace = true;
    }
    if (this.#outdated(p.tag, rec)) {
      this.#drop(p.tag, idHash, now);
      return { state: 'login_required', reason: 'unknown', now, handle: rec.handle };
    }
    const verdict = decide(rec, now, this.policy.refreshEnabled);
    if (verdict === 'expired' || verdict === 'idle') {
      this.#drop(p.tag, idHash, now);
      return { state: 'login_required', reason: verdict, now, handle: rec.handle };
    }
    const ref = { tag: p.tag, idHash };
    if (verdict === 'stale') return { state: 'stale', session: this.#info(p.tag, rec), now, ref };
    if (shouldSlide(rec, now, this.policy.touchIntervalMs)) rec.lastActiveAt = now;
    return { state: 'active', session: this.#info(p.tag, rec), now, viaGrace, ref };
  }

  /**
   * An ID with no record: a grace alias to a still-live successor, a replay (alias to a
   * rotated-away successor, a marker past the grace, or any other past ID of a live
   * family: the whole session is revoked), or unknown.
   */
  #resolveAlias(tag: string, idHash: string, family: string, now: number):
    | { kind: 'record'; idHash: string; rec: Rec; nonce: string }
    | { kind: 'replay' | 'unknown'; extra: { handle?: string; userId?: string } } {
    const alias = this.#alias(tag, idHash, now);
    if (alias) {
      const rec = this.#sessions(tag).get(alias.succ);
      if (rec) return { kind: 'record', idHash: alias.succ, rec, nonce: alias.nonce };
      const next = this.#marker(tag, alias.succ, now);
      if (!next) return { kind: 'unknown', extra: {} };
      return { kind: 'replay', extra: this.#replayed(tag, next.handle, now) };
    }
    const marker = this.#marker(tag, idHash, now);
    if (marker) return { kind: 'replay', extra: this.#replayed(tag, marker.handle, now) };
    const f = this.#familyOf(tag, family, idHash, now);
    if (!f) return { kind: 'unknown', extra: {} };
    // The ID the family names as current, without a record: the session has ended (lib.lua).
    if (f.current === idHash && ![...this.#sessions(tag).values()].some((r) => r.handle === f.handle)) {
      this.#families.delete(`${tag}:${family.replace(/^~/, '')}`);
      return { kind: 'unknown', extra: {} };
    }
    return { kind: 'replay', extra: this.#replayed(tag, f.handle, now) };
  }

  async refresh(token: string | undefined, opts: RotateOptions = {}): Promise<RefreshResult> {
    const p = parseToken(token);
    const now = this.#now();
    if (!p || token === undefined) return { ok: false, reason: 'unknown', now };
    const { tag } = p;
    let oldHash = p.idHash;
    let rec = this.#sessions(tag).get(oldHash);
    let racedNonce: string | undefined;
    const presentedFamily = familyArg(token);
    if (!rec) {
      const found = this.#resolveAlias(tag, p.idHash, presentedFamily, now);
      if (found.kind !== 'record') return { ok: false, reason: found.kind, now, ...found.extra };
      ({ idHash: oldHash, rec, nonce: racedNonce } = found);
    }
    if (this.#outdated(tag, rec)) {
      this.#drop(tag, oldHash, now);
      return { ok: false, reason: 'unknown', now, handle: rec.handle };
    }
    const verdict = decide(rec, now, this.policy.refreshEnabled);
    if (verdict === 'expired' || verdict === 'idle') {
      this.#drop(tag, oldHash, now);
      return { ok: false, reason: verdict, now, handle: rec.handle };
    }
    if (opts.proof !== undefined && rec.boundAt !== opts.proof) return { ok: false, reason: 'proof_used', now, handle: rec.handle };
    if (opts.proof === undefined && opts.proofWithinMs !== undefined && rec.boundAt !== undefined && now - rec.boundAt >= opts.proofWithinMs) {
      return { ok: false, reason: 'unproven', now, handle: rec.handle };
    }
    const withGrace = opts.grace !== false;
    if (racedNonce !== undefined && withGrace && !opts.revokeOthers && !opts.reauthenticated && opts.proof === undefined) {
      // A bound session's successor carries a fresh device proof: a copy of the old cookie
      // must not obtain it by racing the device's signed refresh inside the grace.
      if (rec.boundKey !== undefined) return { ok: false, reason: 'unknown', now, handle: rec.handle };
      // A racing plain refresh: the rotation already happened; answer with the same successor.
      return { ok: true, token: successorOf(token, racedNonce).token, session: this.#info(tag, rec), now };
    }
    // Anything more than a plain refresh acts on the live session, even through a grace alias.
    const nonce = newNonce();
    const { token: next, idHash: succ } = withGrace ? successorOf(token, nonce) : detachedSuccessorOf(token);
    // A family started from an unchecked ID (a corrupted one here) records it as its root.
    const root = withGrace && presentedFamily.startsWith('~') ? p.idHash : undefined;
    this.#rotate(tag, oldHash, rec, succ, nonce, now, withGrace, withGrace ? familyHash(token) : familyHash(next), root);
    if (opts.reauthenticated) rec.authAt = now;
    if (opts.proof !== undefined) rec.boundAt = now;
    if (opts.revokeOthers) {
      this.#epochs.set(tag, (this.#epochs.get(tag) ?? 0) + 1);
      rec.kept = this.#bumpGeneration(tag, now);
      let revoked = 0;
      for (const [h] of this.#sessions(tag)) if (h !== succ && this.#drop(tag, h, now)) revoked++;
      return { ok: true, token: next, session: this.#info(tag, rec), now, revoked };
    }
    return { ok: true, token: next, session: this.#info(tag, rec), now, revoked: 0 };
  }

  /** One rotation, mirroring rotate() in lib.lua; `family`: the successor's family hash. */
  #rotate(
    tag: string, oldHash: string, rec: Rec, succ: string, nonce: string, now: number, withGrace: boolean, family: string,
    rootIfNew: string | undefined,
  ): void {
    this.#sessions(tag).delete(oldHash);
    rec.lastActiveAt = now;
    this.#sessions(tag, true).set(succ, rec);
    // Without the grace the session leaves its family behind: its past IDs become unknown.
    if (!withGrace) this.#families.delete(`${tag}:${rec.family}`);
    const root = rec.family === family ? this.#families.get(`${tag}:${family}`)?.root : rootIfNew;
    rec.family = family;
    this.#families.set(`${tag}:${family}`, { handle: rec.handle, until: rec.absoluteExpiresAt, current: succ, ...(root ? { root } : {}) });
    if (!withGrace) {
      this.#forget(tag, [...rec.trail, oldHash]);
      rec.trail = [];
      return;
    }
    // Only the immediate predecessor is served in the grace; older markers beyond the trail go.
    const kept = [oldHash, ...rec.trail.slice(0, TRAIL - 1)];
    for (const id of rec.trail) this.#aliases.delete(`${tag}:${id}`);
    this.#forget(tag, rec.trail.slice(TRAIL - 1));
    rec.trail = kept;
    const window = Math.min(this.policy.rotationGraceMs, keyDeadline(rec) - now);
    if (window > 0) this.#aliases.set(`${tag}:${oldHash}`, { succ, nonce, until: now + window });
    this.#markers.set(`${tag}:${oldHash}`, { handle: rec.handle, until: rec.absoluteExpiresAt });
  }

  async updateData(ref: SessionRef, data: Record<string, unknown>): Promise<boolean> {
    const json = encodeData(data);
    const rec = this.#users.get(ref.tag)?.get(ref.idHash);
    if (!rec || keyDeadline(rec) <= this.#now()) return false;
    rec.data = json;
    return true;
  }

  async bind(ref: SessionRef, key: string): Promise<BindResult> {
    if (!key || key.length > MAX_BOUND_KEY_CHARS) throw badRequest(`A device key is at most ${MAX_BOUND_KEY_CHARS} characters.`);
    const now = this.#now();
    const rec = this.#users.get(ref.tag)?.get(ref.idHash);
    if (!rec || keyDeadline(rec) <= now) return { result: 'gone', now };
    if (rec.boundKey !== undefined && rec.boundKey !== key) return { result: 'already', now };
    if (rec.boundKey === undefined) {
      rec.boundKey = key;
      rec.boundAt = now;
    }
    return { result: 'bound', now };
  }

  async boundKey(ref: SessionRef): Promise<string | null> {
    return this.#users.get(ref.tag)?.get(ref.idHash)?.boundKey ?? null;
  }

  async revoke(token: string | undefined): Promise<boolean> {
    const p = parseToken(token);
    if (!p) return false;
    const now = this.#now();
    const m = this.#sessions(p.tag);
    let idHash = p.idHash;
    if (!m.has(idHash)) {
      const alias = this.#alias(p.tag, p.idHash, now);
      if (alias) idHash = alias.succ;
      else {
        // A rotated-away ID past its grace still names its session.
        const handle = this.#marker(p.tag, p.idHash, now)?.handle ?? this.#familyOf(p.tag, familyArg(token!), p.idHash, now)?.handle;
        return handle ? this.#revokeHandle(p.tag, handle, now) > 0 : false;
      }
    }
    return this.#drop(p.tag, idHash, now);
  }

  async revokeHandle(handle: string): Promise<boolean> {
    const h = parseHandle(handle);
    return h ? this.#revokeHandle(h.tag, h.handle, this.#now()) > 0 : false;
  }

  async revokeAll(tag: string, opts: { exceptHandle?: string } = {}): Promise<number> {
    const now = this.#now();
    const live = this.#liveEntries(tag, now);
    this.#epochs.set(tag, (this.#epochs.get(tag) ?? 0) + 1);
    const generation = this.#bumpGeneration(tag, now);
    let n = 0;
    for (const [h, r] of live) {
      if (r.handle === opts.exceptHandle) r.kept = generation;
      else if (this.#drop(tag, h, now)) n++;
    }
    return n;
  }

  get(handle: string): Promise<SessionInfo | null> {
    return findByHandle(this, handle);
  }

  async list(tag: string): Promise<SessionInfo[]> {
    if (!isTag(tag)) return [];
    return this.#liveEntries(tag, this.#now())
      .map(([, r]) => this.#info(tag, r))
      .sort((a, b) => a.createdAt - b.createdAt || (a.handle < b.handle ? -1 : 1));
  }

  async epoch(tag: string): Promise<number> {
    return this.#epochs.get(tag) ?? 0;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.#timer);
  }

  /** How many records, grace aliases, replay markers and families a user holds (bounded per session). */
  footprint(tag: string): number {
    const mine = (k: string) => k.startsWith(`${tag}:`);
    return this.#sessions(tag).size + [...this.#aliases.keys()].filter(mine).length + [...this.#markers.keys()].filter(mine).length
      + [...this.#families.keys()].filter(mine).length;
  }

  /** Drops records, aliases and markers that can never matter again. */
  sweep(): void {
    const now = this.#now();
    for (const [tag] of this.#users) if (this.#liveEntries(tag, now).length === 0) this.#users.delete(tag);
    for (const [k, a] of this.#aliases) if (a.until <= now) this.#aliases.delete(k);
    for (const [k, m] of this.#markers) if (m.until <= now) this.#markers.delete(k);
    for (const [k, f] of this.#families) if (f.until <= now) this.#families.delete(k);
  }
}

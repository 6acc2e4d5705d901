/**
 * The embedded store (DESIGN §3): same semantics as RedisStore for one process, used by
 * `npm start` without REDIS_URL and by tests. Each method runs synchronously between
 * awaits, which gives it the atomicity the Lua scripts give RedisStore. Decisions use
 * the injected clock (`redisTime` means the process clock); like Redis TTLs, a
 * periodic sweep only reclaims memory and never decides anything.
 */
import { type Clock, systemClock } from '../clock.js';
import { badRequest } from '../errors.js';
import { decide, idleExpiresAt, keyDeadline, resolvePolicy, shouldSlide } from '../sessions/policy.js';
import { formatToken, handleFor, isTag, newSecret, parseHandle, parseToken, sha256, TAG_LENGTH } from '../sessions/token.js';
import type {
  CreateInput, IssuedSession, RefreshResult, RotateOptions, SessionInfo, SessionPolicy,
  SessionRef, SessionStore, ValidateResult,
} from '../sessions/types.js';
import { clip, encodeData, MAX_IP_CHARS, MAX_UA_CHARS } from './record.js';
import { deriveSuccessorSecret, newNonce } from './successor.js';
import { findByHandle } from './find-handle.js';

type Rec = Omit<SessionInfo, 'tag' | 'idleExpiresAt' | 'data'> & { data: string };
interface Alias { succ: string; nonce: string; until: number }
interface Marker { handle: string; until: number }

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
  readonly #epochs = new Map<string, number>();
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
    const { data, ...rest } = r;
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

  /** Removes every live record of a handle (a replay kills the whole session). */
  #revokeHandle(tag: string, handle: string, now: number): number {
    let n = 0;
    for (const [h, r] of this.#sessions(tag)) {
      if (r.handle !== handle) continue;
      this.#sessions(tag).delete(h);
      if (keyDeadline(r) > now) n++;
    }
    return n;
  }

  /** A record past its key deadline is dead: dropped, like an expired Redis key. */
  #liveEntries(tag: string, now: number): [string, Rec][] {
    const m = this.#sessions(tag);
    for (const [h, r] of m) if (keyDeadline(r) <= now) m.delete(h);
    return [...m];
  }

  async create(input: CreateInput, override: Partial<SessionPolicy> = {}): Promise<IssuedSession | null> {
    if (!isTag(input.tag) || !input.userId) throw badRequest('create: a user id and a valid tag are required');
    const data = encodeData(input.data);
    const policy = resolvePolicy({ ...this.policy, ...override });
    const now = this.#now();
    const { tag } = input;
    if (input.expectedEpoch !== undefined && (this.#epochs.get(tag) ?? 0) !== input.expectedEpoch) return null;
    const secret = newSecret();
    const idHash = sha256(secret);
    const rec: Rec = {
      handle: handleFor(tag, idHash),
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
    };
    const live = this.#liveEntries(tag, now);
    this.#sessions(tag, true).set(idHash, rec);
    const revokedHandles: string[] = [];
    if (policy.maxPerUser > 0 && live.length + 1 > policy.maxPerUser) {
      live.sort(([ha, a], [hb, b]) => a.createdAt - b.createdAt || (ha < hb ? -1 : 1));
      for (const [h, r] of live.slice(0, live.length + 1 - policy.maxPerUser)) {
        this.#sessions(tag).delete(h);
        revokedHandles.push(r.handle);
      }
    }
    return { token: formatToken(tag, secret), session: this.#info(tag, rec), now, revokedHandles };
  }

  async validate(token: string | undefined): Promise<ValidateResult> {
    const p = parseToken(token);
    const now = this.#now();
    if (!p) return { state: 'login_required', reason: 'unknown', now };
    let idHash = p.idHash;
    let viaGrace = false;
    let rec = this.#sessions(p.tag).get(idHash);
    if (!rec) {
      const found = this.#resolveAlias(p.tag, p.idHash, now);
      if (found.kind !== 'record') return { state: 'login_required', reason: found.kind, now, ...found.extra };
      ({ idHash, rec } = found);
      viaGrace = true;
    }
    const verdict = decide(rec, now, this.policy.refreshEnabled);
    if (verdict === 'expired' || verdict === 'idle') {
      this.#sessions(p.tag).delete(idHash);
      return { state: 'login_required', reason: verdict, now, handle: rec.handle };
    }
    const ref = { tag: p.tag, idHash };
    if (verdict === 'stale') return { state: 'stale', session: this.#info(p.tag, rec), now, ref };
    if (shouldSlide(rec, now, this.policy.touchIntervalMs)) rec.lastActiveAt = now;
    return { state: 'active', session: this.#info(p.tag, rec), now, viaGrace, ref };
  }

  /**
   * An ID with no record: a grace alias to a still-live successor, a replay (alias to a
   * rotated-away successor, or a marker past the grace: the whole session is revoked),
   * or unknown.
   */
  #resolveAlias(tag: string, idHash: string, now: number):
    | { kind: 'record'; idHash: string; rec: Rec; nonce: string }
    | { kind: 'replay' | 'unknown'; extra: { handle?: string } } {
    const alias = this.#alias(tag, idHash, now);
    if (alias) {
      const rec = this.#sessions(tag).get(alias.succ);
      if (rec) return { kind: 'record', idHash: alias.succ, rec, nonce: alias.nonce };
      const next = this.#marker(tag, alias.succ, now);
      if (!next) return { kind: 'unknown', extra: {} };
      this.#revokeHandle(tag, next.handle, now);
      return { kind: 'replay', extra: { handle: next.handle } };
    }
    const marker = this.#marker(tag, idHash, now);
    if (!marker) return { kind: 'unknown', extra: {} };
    this.#revokeHandle(tag, marker.handle, now);
    return { kind: 'replay', extra: { handle: marker.handle } };
  }

  async refresh(token: string | undefined, opts: RotateOptions = {}): Promise<RefreshResult> {
    const p = parseToken(token);
    const now = this.#now();
    if (!p || token === undefined) return { ok: false, reason: 'unknown', now };
    const { tag } = p;
    const oldSecret = token.slice(TAG_LENGTH + 1);
    const rec = this.#sessions(tag).get(p.idHash);
    if (!rec) {
      const found = this.#resolveAlias(tag, p.idHash, now);
      if (found.kind !== 'record') return { ok: false, reason: found.kind, now, ...found.extra };
      // A racing caller: the rotation already happened; answer with the same successor.
      const verdict = decide(found.rec, now, this.policy.refreshEnabled);
      if (verdict === 'expired' || verdict === 'idle') {
        this.#sessions(tag).delete(found.idHash);
        return { ok: false, reason: verdict, now, handle: found.rec.handle };
      }
      const secret = deriveSuccessorSecret(oldSecret, found.nonce);
      return { ok: true, token: formatToken(tag, secret), session: this.#info(tag, found.rec), now };
    }
    const verdict = decide(rec, now, this.policy.refreshEnabled);
    if (verdict === 'expired' || verdict === 'idle') {
      this.#sessions(tag).delete(p.idHash);
      return { ok: false, reason: verdict, now, handle: rec.handle };
    }
    const nonce = newNonce();
    const secret = deriveSuccessorSecret(oldSecret, nonce);
    const succ = sha256(secret);
    this.#sessions(tag).delete(p.idHash);
    rec.lastActiveAt = now;
    if (opts.reauthenticated) rec.authAt = now;
    this.#sessions(tag, true).set(succ, rec);
    if (opts.grace !== false) {
      this.#aliases.set(`${tag}:${p.idHash}`, { succ, nonce, until: now + this.policy.rotationGraceMs });
      this.#markers.set(`${tag}:${p.idHash}`, { handle: rec.handle, until: rec.absoluteExpiresAt });
    }
    if (opts.revokeOthers) {
      this.#epochs.set(tag, (this.#epochs.get(tag) ?? 0) + 1);
      for (const [h] of this.#sessions(tag)) if (h !== succ) this.#sessions(tag).delete(h);
    }
    return { ok: true, token: formatToken(tag, secret), session: this.#info(tag, rec), now };
  }

  async updateData(ref: SessionRef, data: Record<string, unknown>): Promise<boolean> {
    const json = encodeData(data);
    const rec = this.#users.get(ref.tag)?.get(ref.idHash);
    if (!rec || keyDeadline(rec) <= this.#now()) return false;
    rec.data = json;
    return true;
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
        // A rotated-away ID past its grace still names its session family.
        const marker = this.#marker(p.tag, p.idHash, now);
        return marker ? this.#revokeHandle(p.tag, marker.handle, now) > 0 : false;
      }
    }
    const rec = m.get(idHash);
    m.delete(idHash);
    return rec !== undefined && keyDeadline(rec) > now;
  }

  async revokeHandle(handle: string): Promise<boolean> {
    const h = parseHandle(handle);
    return h ? this.#revokeHandle(h.tag, h.handle, this.#now()) > 0 : false;
  }

  async revokeAll(tag: string, opts: { exceptHandle?: string } = {}): Promise<number> {
    const now = this.#now();
    this.#epochs.set(tag, (this.#epochs.get(tag) ?? 0) + 1);
    let n = 0;
    for (const [h, r] of this.#liveEntries(tag, now)) {
      if (r.handle === opts.exceptHandle) continue;
      this.#sessions(tag).delete(h);
      n++;
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

  /** Drops records, aliases and markers that can never matter again. */
  sweep(): void {
    const now = this.#now();
    for (const [tag] of this.#users) if (this.#liveEntries(tag, now).length === 0) this.#users.delete(tag);
    for (const [k, a] of this.#aliases) if (a.until <= now) this.#aliases.delete(k);
    for (const [k, m] of this.#markers) if (m.until <= now) this.#markers.delete(k);
  }
}

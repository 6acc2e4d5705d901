/**
 * The production store: one Redis (standalone, Sentinel or Cluster) shared by every
 * app node. Each operation is one Lua script on the keys of one user (one hash slot),
 * so every decision and every write to an existing session is atomic and conditional
 * (docs/design.md, invariant 1); validate is one round trip. Any failure is StoreUnavailableError.
 *
 * Time: with the default `redisTime` clock the scripts read Redis TIME (one clock for
 * all nodes, invariant 2); any other clock's now() is passed in ARGV.
 */
import { type Clock, redisTime } from '../clock.js';
import { badRequest } from '../errors.js';
import { resolvePolicy } from '../sessions/policy.js';
import { familyArg, familyHash, isTag, mintId, parseHandle, parseToken } from '../sessions/token.js';
import type {
  BindResult, CreateInput, IssuedSession, LoginRequiredReason, RefreshResult, RotateOptions, SessionInfo,
  SessionPolicy, SessionRef, SessionStore, ValidateResult,
} from '../sessions/types.js';
import { guard, type RedisClient, toStoreError } from './connection.js';
import { type KeySpace, keySpace } from './keys.js';
import { clip, decodeRecord, decodeValues, encodeData, F, handleSuffix, MAX_AUTH_METHOD_CHARS, MAX_BOUND_KEY_CHARS, MAX_IP_CHARS, MAX_UA_CHARS, pairs } from './record.js';
import { RetryBudget, retryable } from './retry.js';
import { FENCED, fenceOf } from './sentinel-fence.js';
import { defineScripts, type ScriptName, type Scripts } from './scripts.js';
import { detachedSuccessorOf, newNonce, successorOf } from '../sessions/successor.js';
import { findByHandle } from './find-handle.js';

export interface RedisStoreOptions {
  client: RedisClient;
  policy?: Partial<SessionPolicy>;
  /** Default `redisTime` (the scripts read Redis TIME). */
  clock?: Clock;
  keys?: KeySpace;
  /** close() also closes the client (default true). */
  ownsClient?: boolean;
  /** REDIS_RETRY_BUDGET: how long a call may wait through maintenance (src/store/retry.ts); 0 = one try. Default 2 s. */
  retryBudgetMs?: number;
}

/** The scripts that do the same when sent twice with the same arguments (src/store/retry.ts). */
const IDEMPOTENT = new Set<ScriptName>(['validateSession', 'updateData', 'bindSession', 'revokeSession', 'revokeHandle', 'revokeAll', 'listSessions']);



/** A store over one Redis key space: what the session cache needs to follow its invalidations. */
export interface RedisBackedStore extends SessionStore {
  readonly client: RedisClient;
  readonly keys: KeySpace;
}

type Reply = unknown[];
const flag = (b: boolean | undefined) => (b ? '1' : '0');

export class RedisStore implements RedisBackedStore {
  readonly policy: Readonly<SessionPolicy>;
  readonly client: RedisClient;
  readonly keys: KeySpace;
  readonly #clock: Clock;
  /** The scripts, each call riding out maintenance within the retry budget. */
  readonly #s: Scripts;
  /** The bare scripts, for calls that decide their own retrying (validate's fast path, create, refresh, the two revocations). */
  readonly #raw: Scripts;
  /** REDIS_RETRY_BUDGET, shared by every call of this store: it also tells maintenance from an outage. */
  readonly #retry: RetryBudget;
  readonly #owns: boolean;
  /** '1' on Redis Cluster: a record missing during a slot migration is "try again", not "gone". */
  readonly #cluster: string;

  constructor(opts: RedisStoreOptions) {
    this.client = opts.client;
    this.policy = resolvePolicy(opts.policy);
    this.#clock = opts.clock ?? redisTime;
    this.keys = opts.keys ?? keySpace();
    this.#owns = opts.ownsClient ?? true;
    const scripts = defineScripts(this.client);
    const retry = new RetryBudget(opts.retryBudgetMs ?? 2000, fenceOf(this.client));
    this.#retry = retry;
    this.#raw = scripts;
    this.#s = Object.fromEntries(
      (Object.entries(scripts) as [ScriptName, Scripts[ScriptName]][]).map(([name, call]) => [
        name,
        (keys: readonly string[], argv: readonly (string | number)[]) => retry.run(IDEMPOTENT.has(name), () => call(keys, argv)),
      ]),
    ) as Scripts;
    this.#cluster = flag(this.client.isCluster);
  }

  /**
   * validate-session-4.lua's ARGV: now, touch interval, refresh enabled, family (it
   * answers one JSON array). The family (two hashes) is sent only when asked for: a
   * first answer 'unknown' for an ID with no record, alias or marker, so the hot path of
   * a live session hashes nothing but its secret.
   */
  #validateArgs(family: string): (string | number)[] {
    return [this.#argNow(), this.policy.touchIntervalMs, flag(this.policy.refreshEnabled), family];
  }

  /** ARGV time: '' lets the script read Redis TIME. */
  #argNow(): string {
    const t = this.#clock.now();
    return t === undefined ? '' : String(Math.floor(t));
  }

  #decode(tag: string, flat: unknown): SessionInfo {
    const info = decodeRecord(tag, pairs(flat as unknown[]));
    if (!info) throw new Error('incomplete session record');
    return info;
  }

  #failure(tag: string, r: Reply): { reason: LoginRequiredReason; now: number; handle?: string; userId?: string } {
    const out: { reason: LoginRequiredReason; now: number; handle?: string; userId?: string } = { reason: String(r[0]) as LoginRequiredReason, now: Number(r[1]) };
    if (r[2]) out.handle = `${tag}-${String(r[2])}`;
    if (r[3]) out.userId = String(r[3]);
    return out;
  }

  async create(input: CreateInput, override: Partial<SessionPolicy> = {}): Promise<IssuedSession | null> {
    if (!isTag(input.tag) || !input.userId) throw badRequest('create: a user id and a valid tag are required');
    const data = encodeData(input.data);
    const policy = resolvePolicy({ ...this.policy, ...override });
    const { tag } = input;
    const refreshable = input.remember !== false && policy.refreshEnabled;
    const ip = clip(input.ip, MAX_IP_CHARS);
    const userAgent = clip(input.userAgent, MAX_UA_CHARS);
    const authMethod = clip(input.authMethod, MAX_AUTH_METHOD_CHARS);
    const k = this.keys;
    return guard(async () => {
      const { token, idHash, handle } = mintId(tag);
      const fields = [F.handle, handleSuffix(handle), F.userId, input.userId, F.ip, ip, F.userAgent, userAgent];
      if (data) fields.push(F.data, data);
      if (authMethod) fields.push(F.authMethod, authMethod);
      const keys = [k.userIndex(tag), k.userEpoch(tag), k.userGeneration(tag)];
      const argv = [this.#argNow(), input.expectedEpoch ?? '', policy.maxPerUser, k.session(tag, ''),
        policy.idleTimeoutMs, policy.absoluteLifetimeMs, flag(refreshable), this.#cluster, idHash, familyHash(token), ...fields];
      // Sent again with the same ID, so a try that was applied after all is found, not
      // doubled: 'exists' is this call's own record. (The ID has 256 random bits; and
      // ioredis' Cluster client itself resends a command whose node connection closed
      // under it, so even what looks like a first try may meet its own record.)
      const r = (await this.#retry.run(true, () => this.#raw.createSession(keys, argv))) as Reply;
      if (r[0] === 'epoch') return null;
      const now = Number(r[1]);
      const absoluteExpiresAt = now + policy.absoluteLifetimeMs;
      const session: SessionInfo = {
        handle, userId: input.userId, tag, createdAt: now, lastActiveAt: now,
        idleTimeoutMs: policy.idleTimeoutMs,
        idleExpiresAt: Math.min(now + policy.idleTimeoutMs, absoluteExpiresAt),
        absoluteExpiresAt, refreshable, authAt: now, ip, userAgent,
        data: data ? (JSON.parse(data) as Record<string, unknown>) : {},
        ...(authMethod ? { authMethod } : {}),
      };
      const revokedHandles = r.slice(2).map((h) => `${tag}-${String(h)}`);
      return { token, session, now, revokedHandles };
    });
  }

  // The hot path (every authenticated request): the command's answer is mapped in one
  // step rather than through guard(); failures are mapped the same way.
  validate(token: string | undefined): Promise<ValidateResult> {
    const p = parseToken(token);
    if (!p) return Promise.resolve({ state: 'login_required', reason: 'unknown', now: this.#clock.now() ?? Date.now() });
    try {
      const k = this.keys;
      const keys = [k.session(p.tag, p.idHash), k.userIndex(p.tag), k.userEpoch(p.tag), k.userGeneration(p.tag)];
      const args = this.#validateArgs('');
      const decided = (r: unknown): ValidateResult | Promise<ValidateResult> => {
          let reply: Reply;
          try {
            reply = JSON.parse(r as string) as Reply;
          } catch (err) {
            throw toStoreError(err);
          }
          // No record, alias or marker: only its family can still name it (a past ID).
          if (reply[0] === 'unknown') return this.#validateFamily(p.tag, p.idHash, keys, token!);
          return this.#validated(p.tag, p.idHash, reply);
      };
      const failed = (err: unknown): never => {
        throw toStoreError(err);
      };
      // A Sentinel failover under way: straight to the waiting path.
      const first = this.#retry.fence?.closed ? Promise.reject(new Error(FENCED)) : this.#raw.validateSession(keys, args);
      return first.then((r) => {
        this.#retry.succeeded();
        return decided(r);
      }, (err: unknown) => {
        // Maintenance under way: wait for it within the budget (src/store/retry.ts).
        if (this.#retry.budgetMs > 0 && retryable(err, true)) return this.#s.validateSession(keys, args).then(decided, failed);
        return failed(err);
      });
    } catch (err) {
      return Promise.reject(toStoreError(err));
    }
  }

  async #validateFamily(tag: string, idHash: string, keys: string[], token: string): Promise<ValidateResult> {
    try {
      const r = await this.#s.validateSession(keys, this.#validateArgs(familyArg(token)));
      return this.#validated(tag, idHash, JSON.parse(r as string) as Reply);
    } catch (err) {
      throw toStoreError(err);
    }
  }

  #validated(tag: string, idHash: string, r: Reply): ValidateResult {
    const state = r[0];
    if (state !== 'active' && state !== 'stale') return { state: 'login_required', ...this.#failure(tag, r) };
    const now = Number(r[1]);
    const session = decodeValues(tag, r, 3);
    if (!session) throw new Error('incomplete session record');
    // '' = the presented ID's own record; otherwise its successor, through a grace alias.
    const own = String(r[2]);
    const ref = { tag, idHash: own || idHash };
    if (state === 'stale') return { state, session, now, ref };
    return { state, session, now, viaGrace: own !== '', ref };
  }

  async refresh(token: string | undefined, opts: RotateOptions = {}): Promise<RefreshResult> {
    const p = parseToken(token);
    if (!p || token === undefined) return { ok: false, reason: 'unknown', now: this.#clock.now() ?? Date.now() };
    const { tag, idHash } = p;
    const nonce = newNonce();
    // A password change (no grace) cuts the session off its past: a fresh family.
    const next = opts.grace === false ? detachedSuccessorOf(token) : successorOf(token, nonce);
    // A plain rotation keeps the family: the successor's hash is the presented one's.
    const presented = familyArg(token);
    const k = this.keys;
    // Without the grace alias and the replay marker a rotation replaces one record by
    // another: memory-neutral, so it may run when Redis is full (src/store/scripts.ts).
    const rotate = opts.grace === false ? this.#raw.rotateWithoutTrace : this.#raw.refreshSession;
    // A plain refresh sent twice finds its own rotation (the 'raced' answer, same nonce,
    // same successor); a password change, re-authentication or device proof would rotate
    // again, so after a try that may have run it first looks for its successor, whose ID
    // no other call can have drawn: there, the earlier try did rotate.
    const plain = opts.grace !== false && !opts.revokeOthers && !opts.reauthenticated && opts.proof === undefined;
    const successorKey = k.session(tag, next.idHash);
    const keys = [k.session(tag, idHash), k.userIndex(tag), k.userEpoch(tag), k.userGeneration(tag)];
    const argv = [this.#argNow(), flag(this.policy.refreshEnabled), k.session(tag, ''), k.replay(tag, ''), nonce,
      this.policy.rotationGraceMs, flag(opts.grace !== false), flag(opts.revokeOthers), flag(opts.reauthenticated),
      this.#cluster, next.idHash, presented, opts.grace === false ? familyHash(next.token) : presented.replace(/^~/, ''),
      opts.proof === undefined ? '' : String(opts.proof), opts.proofWithinMs ?? ''];
    return guard(async () => {
      const r = (await this.#retry.run(true, async (mayHaveRun) => {
        if (mayHaveRun && !plain) {
          const flat = (await this.client.call('HGETALL', successorKey)) as unknown[];
          if (flat.length > 0) return ['confirmed', '', '', '', flat];
        }
        return rotate(keys, argv);
      })) as Reply;
      if (r[0] === 'confirmed') {
        // How many other sessions that try revoked is not known here (they are revoked).
        const session = this.#decode(tag, r[4]);
        return { ok: true, token: next.token, session, now: session.lastActiveAt };
      }
      const now = Number(r[1]);
      if (r[0] === 'rotated') {
        return { ok: true, token: next.token, session: this.#decode(tag, r[4]), now, revoked: Number(r[5]) };
      }
      if (r[0] === 'raced') {
        // Rotated by a racing call: the same successor, re-derived from the stored nonce.
        const same = successorOf(token, String(r[5]));
        if (same.idHash !== String(r[3])) throw new Error('grace alias does not match its successor');
        return { ok: true, token: same.token, session: this.#decode(tag, r[4]), now };
      }
      if (r[0] === 'proof_used') return { ok: false, reason: 'proof_used', now, handle: `${tag}-${String(r[2])}` };
      return { ok: false, ...this.#failure(tag, r) };
    });
  }

  async updateData(ref: SessionRef, data: Record<string, unknown>): Promise<boolean> {
    const json = encodeData(data);
    return guard(async () =>
      (await this.#s.updateData([this.keys.session(ref.tag, ref.idHash)], [this.#argNow(), json])) === 1);
  }

  async bind(ref: SessionRef, key: string): Promise<BindResult> {
    if (!key || key.length > MAX_BOUND_KEY_CHARS) throw badRequest(`A device key is at most ${MAX_BOUND_KEY_CHARS} characters.`);
    return guard(async () => {
      // Idempotent: sent again after a try that was applied, it answers 'already' for its own key.
      const r = (await this.#s.bindSession([this.keys.session(ref.tag, ref.idHash)], [this.#argNow(), key])) as Reply;
      return { result: String(r[0]) as BindResult['result'], now: Number(r[1]) };
    });
  }

  async boundKey(ref: SessionRef): Promise<string | null> {
    return guard(() => this.#retry.run(true, () => this.client.hget(this.keys.session(ref.tag, ref.idHash), F.boundKey)));
  }

  async revoke(token: string | undefined): Promise<boolean> {
    const p = parseToken(token);
    if (!p) return false;
    const k = this.keys;
    const keys = [k.session(p.tag, p.idHash), k.userIndex(p.tag)];
    const argv = [this.#argNow(), k.session(p.tag, ''), familyArg(token!)];
    // Nothing left to revoke after a try that may have run: that try revoked it.
    return guard(() => this.#retry.run(true, async (mayHaveRun) => (await this.#raw.revokeSession(keys, argv)) === 1 || mayHaveRun));
  }

  async revokeHandle(handle: string): Promise<boolean> {
    const h = parseHandle(handle);
    if (!h) return false;
    const k = this.keys;
    const argv = [this.#argNow(), k.session(h.tag, ''), handleSuffix(h.handle), this.#cluster];
    // As in revoke(): a retry that finds nothing is the earlier try's work.
    return guard(() =>
      this.#retry.run(true, async (mayHaveRun) => Number(await this.#raw.revokeHandle([k.userIndex(h.tag)], argv)) > 0 || mayHaveRun));
  }

  async revokeAll(tag: string, opts: { exceptHandle?: string } = {}): Promise<number> {
    if (!isTag(tag)) return 0;
    const keep = opts.exceptHandle && parseHandle(opts.exceptHandle)?.tag === tag ? handleSuffix(opts.exceptHandle) : '';
    const k = this.keys;
    return guard(async () => {
      const r = (await this.#s.revokeAll(
        [k.userIndex(tag), k.userEpoch(tag), k.userGeneration(tag)],
        [this.#argNow(), k.session(tag, ''), keep, this.#cluster],
      )) as Reply;
      return Number(r[0]);
    });
  }

  get(handle: string): Promise<SessionInfo | null> {
    return findByHandle(this, handle);
  }

  async list(tag: string): Promise<SessionInfo[]> {
    if (!isTag(tag)) return [];
    const k = this.keys;
    return guard(async () => {
      const r = (await this.#s.listSessions(
        [k.userIndex(tag), k.userGeneration(tag)],
        [this.#argNow(), k.session(tag, ''), this.#cluster],
      )) as Reply;
      return r
        .slice(1)
        .map((e) => this.#decode(tag, (e as Reply)[1]))
        .sort((a, b) => a.createdAt - b.createdAt || (a.handle < b.handle ? -1 : 1));
    });
  }

  async epoch(tag: string): Promise<number> {
    if (!isTag(tag)) return 0;
    return guard(async () => Number((await this.#retry.run(true, () => this.client.get(this.keys.userEpoch(tag)))) ?? 0));
  }

  async ping(): Promise<void> {
    await guard(() => this.client.ping());
  }

  async close(): Promise<void> {
    if (!this.#owns) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

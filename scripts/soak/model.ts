/**
 * The soak checker's model, in the manner of Redis's `consistency-test.rb`: the load
 * generator tells it what it did and what it saw, the model remembers every session
 * family (a login and all the IDs its refreshes produced) with the moment each
 * revocation was *acknowledged*, and flags any answer the contract forbids.
 *
 * Times are the driver's monotonic clock (performance.now()): every request is sent and
 * every acknowledgement received by this one process, so "started after the ack" is
 * well defined even though two server processes answer.
 *
 * What counts as a violation (docs/design.md, "Invariants"):
 * - a request *started after* a family's revocation was acknowledged is served (200) or
 *   told the session is merely idle (401 refresh_required): revocation is final (invariant 1);
 * - a token that once got login_required is served later (nothing comes back);
 * - a rotated-away ID presented after its grace period is served, or its successor
 *   survives the replay (invariant 7);
 * - any 5xx other than 503 store_unavailable (invariant 4).
 * Requests that overlap a revocation may go either way; they are not judged.
 */

export type Ms = number;

export interface Family {
  handle: string;
  user: string;
  /** When the login's response arrived. */
  createdAck: Ms;
  current: string;
  tokens: string[];
  /** When a revocation of this family was acknowledged (first one wins). */
  revokedAck?: Ms;
  revokedBy?: string;
}

interface TokenState {
  family: Family;
  /** The refresh that replaced this token was acknowledged at… (grace starts then). */
  rotatedAck?: Ms;
  /** Rotated with no grace (password change): dead from rotatedAck on. */
  noGrace?: boolean;
  /** A request on it got login_required; response received at… */
  deadAck?: Ms;
  /**
   * A password change rotated the family after this token: the session started a new
   * family, so this ID is now unknown rather than a replay (it must still be refused).
   */
  cutOff?: boolean;
}

export interface Observation {
  token: string;
  /**
   * The server treated the session as live: served it (200, or 204 for an action that
   * needs a live session) or called it merely idle (401 refresh_required). See
   * `servedAsLive`.
   */
  live: boolean;
  /** Method and path, for the report. */
  what: string;
  start: Ms;
  end: Ms;
  status: number;
  /** The `error` code of a JSON error body, if any. */
  code?: string;
}

/**
 * Whether an answer means "this session is live". Logout answers 204 for a dead session
 * too (it is idempotent), so it never counts; actions that require a live session
 * (logout-all, kill a device, password change) count when they succeed.
 */
export function servedAsLive(what: string, status: number, code?: string): boolean {
  if (status === 401 && code === 'refresh_required') return true;
  if (what.startsWith('POST /auth/logout ') || what === 'POST /auth/logout') return false;
  return status === 200 || status === 204;
}

export interface Violation {
  at: Ms;
  rule: string;
  detail: string;
}

export class SoakModel {
  readonly families = new Map<string, Family>();
  readonly #tokens = new Map<string, TokenState>();
  readonly violations: Violation[] = [];
  readonly counts = {
    requests: 0,
    logins: 0,
    refreshes: 0,
    revocations: 0,
    revokedFamilies: 0,
    replaysInjected: 0,
    replaysDetected: 0,
    probesOfRevoked: 0,
    unavailable: 0,
    judgedAfterRevocation: 0,
  };
  readonly revocationsByKind: Record<string, number> = {};

  /** @param graceMs SESSION_ROTATION_GRACE; @param slackMs allowance for clock reading. */
  constructor(
    readonly graceMs: Ms,
    readonly slackMs: Ms = 250,
  ) {}

  login(user: string, handle: string, token: string, ack: Ms): Family {
    const f: Family = { handle, user, createdAck: ack, current: token, tokens: [token] };
    this.families.set(handle, f);
    this.#tokens.set(token, { family: f });
    this.counts.logins++;
    return f;
  }

  /** A refresh (or password-change rotation) from `oldToken` to `newToken` was acknowledged. */
  rotated(oldToken: string, newToken: string, ack: Ms, opts: { noGrace?: boolean } = {}): void {
    const old = this.#tokens.get(oldToken);
    if (!old) throw new Error('rotated: unknown token');
    const f = old.family;
    // Inside the grace period racing requests all get the same successor: only the first
    // acknowledgement opens the grace window.
    if (old.rotatedAck === undefined) {
      old.rotatedAck = ack;
      old.noGrace = opts.noGrace;
    }
    if (opts.noGrace) for (const tok of f.tokens) this.#tokens.get(tok)!.cutOff = true;
    if (!this.#tokens.has(newToken)) {
      this.#tokens.set(newToken, { family: f });
      f.tokens.push(newToken);
      this.counts.refreshes++;
    }
    f.current = newToken;
  }

  /** A revocation of these families was acknowledged at `ack`. */
  revoked(handles: Iterable<string>, kind: string, ack: Ms): void {
    this.counts.revocations++;
    this.revocationsByKind[kind] = (this.revocationsByKind[kind] ?? 0) + 1;
    for (const h of handles) {
      const f = this.families.get(h);
      if (!f || f.revokedAck !== undefined) continue;
      f.revokedAck = ack;
      f.revokedBy = kind;
      this.counts.revokedFamilies++;
    }
  }

  /**
   * The user's families whose login was acknowledged before `start` (a revoke-all sent
   * at `start` must kill them; later or overlapping logins may legitimately survive).
   */
  familiesOf(user: string, createdBefore: Ms, except?: string): string[] {
    const out: string[] = [];
    for (const f of this.families.values()) {
      if (f.user === user && f.createdAck < createdBefore && f.handle !== except) out.push(f.handle);
    }
    return out;
  }

  familyOf(token: string): Family | undefined {
    return this.#tokens.get(token)?.family;
  }

  /** Judges one answer. Returns false when it broke a rule. */
  observe(o: Observation): boolean {
    this.counts.requests++;
    const alive = o.live;
    if (o.status >= 500 && !(o.status === 503 && o.code === 'store_unavailable')) {
      return this.#violate(o.end, 'no 5xx but store_unavailable', `${o.what} → ${o.status} ${o.code ?? ''}`);
    }
    if (o.status === 503) this.counts.unavailable++;
    const t = this.#tokens.get(o.token);
    if (!t) return true; // a forged or unknown token: judged by the caller (must not be 200)
    const f = t.family;
    let ok = true;
    if (f.revokedAck !== undefined && o.start > f.revokedAck + this.slackMs) {
      this.counts.judgedAfterRevocation++;
      if (alive) {
        ok = this.#violate(o.end, 'revocation is final',
          `${o.what} on family ${f.handle} (${f.revokedBy}) answered ${o.status} ${o.code ?? ''} ${Math.round(o.start - f.revokedAck)} ms after the revocation was acknowledged`);
      }
    }
    if (t.deadAck !== undefined && o.start > t.deadAck + this.slackMs && alive) {
      ok = this.#violate(o.end, 'login_required is final', `${o.what} on family ${f.handle} answered ${o.status} after the token got login_required`);
    }
    if (t.rotatedAck !== undefined && alive) {
      const closesAt = t.rotatedAck + (t.noGrace ? 0 : this.graceMs) + this.slackMs;
      if (o.start > closesAt) {
        ok = this.#violate(o.end, 'a replay is never served', `${o.what} on a rotated-away ID of ${f.handle} answered ${o.status} ${Math.round(o.start - t.rotatedAck)} ms after its rotation`);
      }
    }
    if (o.code === 'login_required' && t.deadAck === undefined) {
      t.deadAck = o.end;
      // The current ID refused for good: the whole family is over (expired, idle, or
      // revoked by someone the model did not hear about yet).
      if (f.current === o.token && f.revokedAck === undefined) {
        f.revokedAck = o.end;
        f.revokedBy = `ended (${o.what})`;
      }
    }
    return ok;
  }

  /**
   * A rotated-away token was presented past its grace period on purpose (replay). The
   * caller then asks for the successor; `successor` is that observation.
   */
  replay(replayed: Observation, successor: Observation): void {
    this.counts.replaysInjected++;
    const f = this.familyOf(replayed.token);
    const a = this.observe(replayed);
    const b = this.observe(successor);
    const refused = (o: Observation) => (o.status === 401 || o.status === 403) && o.code === 'login_required';
    if (f && a && b && refused(replayed) && refused(successor)) {
      this.counts.replaysDetected++;
      this.revoked([f.handle], 'replay', replayed.end);
    } else if (f && !(replayed.status === 503 || successor.status === 503)) {
      this.#violate(successor.end, 'a replay kills the chain',
        `replayed ID of ${f.handle} → ${replayed.status} ${replayed.code ?? ''}, successor → ${successor.status} ${successor.code ?? ''}`);
    }
  }

  /** Tokens of rotated-away IDs whose grace ended at least `marginMs` ago, family not revoked. */
  replayCandidates(now: Ms, marginMs: Ms): string[] {
    const out: string[] = [];
    for (const [tok, t] of this.#tokens) {
      if (t.rotatedAck === undefined || t.noGrace || t.cutOff || t.deadAck !== undefined) continue;
      if (t.family.revokedAck !== undefined) continue;
      if (now > t.rotatedAck + this.graceMs + marginMs) out.push(tok);
    }
    return out;
  }

  /** Every token of every family revoked at least `marginMs` ago. */
  revokedTokens(now: Ms, marginMs: Ms): string[] {
    const out: string[] = [];
    for (const f of this.families.values()) {
      if (f.revokedAck !== undefined && now > f.revokedAck + marginMs) out.push(...f.tokens);
    }
    return out;
  }

  /** A violation found outside an HTTP answer (key audit, memory, probe of a forged ID). */
  violate(at: Ms, rule: string, detail: string): void {
    this.#violate(at, rule, detail);
  }

  #violate(at: Ms, rule: string, detail: string): false {
    this.violations.push({ at, rule, detail });
    return false;
  }
}

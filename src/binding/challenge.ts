/**
 * DBSC challenges without a store: a challenge is its own expiry, a nonce and a MAC
 * over the session it was issued to. Offering one (any response may carry one) then
 * costs no Redis write; one-time use comes from `state`, which a successful proof
 * changes, so every challenge issued before that proof stops verifying at once.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type ChallengeKind = 'register' | 'refresh';
export type ChallengeCheck = 'ok' | 'expired' | 'invalid';

/** Long enough for a sign-in page to sit open before the browser registers. */
export const REGISTRATION_CHALLENGE_TTL_MS = 10 * 60_000;
/** A refresh answers its 403 at once; a minute covers a slow device key. */
export const REFRESH_CHALLENGE_TTL_MS = 60_000;

export interface Challenges {
  /**
   * `state`: what a successful proof changes. For refresh, the session's last proof
   * time; for register, '' (a bound session refuses registration anyway).
   */
  issue(kind: ChallengeKind, handle: string, state: string, now: number, ttlMs: number): string;
  /** Never throws: anything a client can send is 'invalid' at worst. */
  check(challenge: unknown, kind: ChallengeKind, handle: string, state: string, now: number): ChallengeCheck;
}

// exp (base36 ms, ≤ 10 digits stays a safe integer) . 16-byte nonce . 32-byte MAC, all base64url:
// nothing to quote in a structured-field string, nothing to escape in a JWT claim.
const SHAPE = /^([0-9a-z]{1,10})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;
const KINDS: ReadonlySet<unknown> = new Set(['register', 'refresh']);

export function createChallenges(master: Buffer): Challenges {
  if (master.length < 16) throw new RangeError('the DBSC challenge master key needs at least 16 bytes');
  // A key of its own, so a MAC made here can never pass for one made with the master elsewhere.
  const key = createHmac('sha256', master).update('sliding-sessions dbsc challenge v1').digest();
  // JSON keeps the fields apart: a handle or state holding a separator cannot shift one into the next.
  const mac = (kind: string, handle: string, state: string, exp: string, nonce: string) =>
    createHmac('sha256', key).update(JSON.stringify([kind, handle, state, exp, nonce])).digest('base64url');

  return {
    issue(kind, handle, state, now, ttlMs) {
      const exp = Math.floor(now + ttlMs).toString(36);
      const nonce = randomBytes(16).toString('base64url');
      return `${exp}.${nonce}.${mac(kind, handle, state, exp, nonce)}`;
    },
    check(challenge, kind, handle, state, now) {
      if (typeof challenge !== 'string' || typeof handle !== 'string' || typeof state !== 'string' || !KINDS.has(kind)) return 'invalid';
      const m = SHAPE.exec(challenge);
      if (!m) return 'invalid';
      const [, exp, nonce, given] = m as unknown as [string, string, string, string];
      const want = mac(kind, handle, state, exp, nonce);
      if (!timingSafeEqual(Buffer.from(given), Buffer.from(want))) return 'invalid';
      return Number.parseInt(exp, 36) <= now ? 'expired' : 'ok';
    },
  };
}

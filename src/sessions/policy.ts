/**
 * Pure deadline maths shared by both stores (the Lua scripts mirror it line for line;
 * the contract suite proves the two agree). Every decision compares a deadline with the
 * one clock's `now`; key TTLs in Redis are only garbage collection.
 */
import type { SessionPolicy } from './types.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** docs/configuration.md defaults; touch = min(1 min, idle/10) unless given. */
export function resolvePolicy(p: Partial<SessionPolicy> = {}): Readonly<SessionPolicy> {
  const idleTimeoutMs = p.idleTimeoutMs ?? 15 * MINUTE;
  const policy: SessionPolicy = {
    idleTimeoutMs,
    absoluteLifetimeMs: p.absoluteLifetimeMs ?? 30 * DAY,
    rotationGraceMs: p.rotationGraceMs ?? 10_000,
    touchIntervalMs: p.touchIntervalMs ?? Math.min(MINUTE, Math.floor(idleTimeoutMs / 10)),
    maxPerUser: p.maxPerUser ?? 100,
    refreshEnabled: p.refreshEnabled ?? true,
  };
  for (const [k, v] of Object.entries(policy)) {
    if (typeof v === 'number' && !(Number.isSafeInteger(v) && v >= 0)) {
      throw new RangeError(`session policy ${k} must be a non-negative integer (ms), got ${v}`);
    }
  }
  if (policy.idleTimeoutMs <= 0 || policy.absoluteLifetimeMs <= 0) {
    throw new RangeError('session policy: idle timeout and absolute lifetime must be positive');
  }
  return Object.freeze(policy);
}

/** The timing fields of a record that every decision needs. */
export interface Clocks {
  lastActiveAt: number;
  idleTimeoutMs: number;
  absoluteExpiresAt: number;
  refreshable: boolean;
}

export const idleExpiresAt = (r: Clocks): number =>
  Math.min(r.lastActiveAt + r.idleTimeoutMs, r.absoluteExpiresAt);

/**
 * After this instant the record can never be valid again: the key TTL and the index
 * score. A refreshable session lives (stale) until its absolute deadline.
 */
export const keyDeadline = (r: Clocks): number =>
  r.refreshable ? r.absoluteExpiresAt : idleExpiresAt(r);

export type Verdict = 'active' | 'stale' | 'expired' | 'idle';

/** The state machine of docs/design.md, "The model" for a record that exists. */
export function decide(r: Clocks, now: number, refreshEnabled: boolean): Verdict {
  if (now >= r.absoluteExpiresAt) return 'expired';
  if (now >= r.lastActiveAt + r.idleTimeoutMs) {
    return r.refreshable && refreshEnabled ? 'stale' : 'idle';
  }
  return 'active';
}

/**
 * Write throttling: slide only when lastActiveAt is at least this old. Capped at half
 * the session's idle timeout so a per-session idle shorter than the store's touch
 * interval still slides before it lapses.
 */
export const effectiveTouch = (touchIntervalMs: number, idleTimeoutMs: number): number =>
  Math.min(touchIntervalMs, Math.floor(idleTimeoutMs / 2));

export const shouldSlide = (r: Clocks, now: number, touchIntervalMs: number): boolean =>
  now - r.lastActiveAt >= effectiveTouch(touchIntervalMs, r.idleTimeoutMs);

/**
 * Revoked by a revoke-all: the record was created (or last kept by one, `kept`) before
 * the user's revocation generation, wherever it sits (outdated() in lib.lua).
 */
export const outdated = (createdAt: number, kept: number | undefined, generation: number): boolean =>
  (kept ?? createdAt) < generation;

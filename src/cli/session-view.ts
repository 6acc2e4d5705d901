/**
 * What the CLI shows of a session: the handle and metadata, the state decided on Redis
 * time, and never the secret or a hash of the current ID (docs/design.md, invariant 3). App data is
 * shown by key names only: apps keep CSRF secrets and the like in it.
 */
import { decide } from '../sessions/policy.js';
import type { SessionInfo } from '../sessions/types.js';
import type { Column } from './output.js';
import { isoTime as iso } from '../iso-time.js';

export type SessionState = 'active' | 'stale';

/**
 * The store's own verdict (docs/design.md, "The model") at `now`; a record that is expired or idle past
 * refresh can never be valid again (its key TTL is about to remove it), so the CLI
 * treats it as gone.
 */
export function stateAt(s: SessionInfo, now: number, refreshEnabled: boolean): SessionState | null {
  const verdict = decide(s, now, refreshEnabled);
  return verdict === 'active' || verdict === 'stale' ? verdict : null;
}

export interface SessionView {
  handle: string;
  /** The owner's user id, which for the Redis user store is the (normalized) user name. */
  user: string;
  state: SessionState;
  createdAt: string;
  lastActiveAt: string;
  idleExpiresAt: string;
  absoluteExpiresAt: string;
  refreshable: boolean;
  /** Bound to a device key (DBSC): a copy of its cookie stops working within the bound lifetime. */
  bound: boolean;
  ip: string;
  userAgent: string;
}

/** Table times: ISO 8601 UTC to the second. */
export const shortTime = (ms: number): string => `${iso(ms).slice(0, 19)}Z`;

export function viewOf(s: SessionInfo, state: SessionState): SessionView {
  return {
    handle: s.handle,
    user: s.userId,
    state,
    createdAt: iso(s.createdAt),
    lastActiveAt: iso(s.lastActiveAt),
    idleExpiresAt: iso(s.idleExpiresAt),
    absoluteExpiresAt: iso(s.absoluteExpiresAt),
    refreshable: s.refreshable,
    bound: s.boundAt !== undefined,
    ip: s.ip,
    userAgent: s.userAgent,
  };
}

export const LIST_COLUMNS: Column[] = [
  { head: 'handle', max: 23 },
  { head: 'user', max: 24 },
  { head: 'created', max: 20 },
  { head: 'last active', max: 20 },
  { head: 'idle deadline', max: 20 },
  { head: 'absolute deadline', max: 20 },
  { head: 'state', max: 6 },
  { head: 'bound', max: 5 },
  { head: 'ip', max: 39 },
  { head: 'user agent', max: 40 },
];

export function listRow(s: SessionInfo, state: SessionState): string[] {
  return [
    s.handle,
    s.userId,
    shortTime(s.createdAt),
    shortTime(s.lastActiveAt),
    shortTime(s.idleExpiresAt),
    shortTime(s.absoluteExpiresAt),
    state,
    s.boundAt === undefined ? 'no' : 'yes',
    s.ip || '-',
    s.userAgent || '-',
  ];
}

/** `sessions show`: every field worth knowing, one per line. */
export function detailPairs(s: SessionInfo, state: SessionState, now: number): [string, string][] {
  const left = (t: number) => `${shortTime(t)} (${relative(t - now)})`;
  return [
    ['handle', s.handle],
    ['user', s.userId],
    ['state', state],
    ['created', shortTime(s.createdAt)],
    ['signed in', shortTime(s.authAt)],
    ['signed in with', s.authMethod ?? 'password'],
    ['last active', `${shortTime(s.lastActiveAt)} (${relative(s.lastActiveAt - now)})`],
    ['idle deadline', left(s.idleExpiresAt)],
    ['absolute deadline', left(s.absoluteExpiresAt)],
    ['idle timeout', relative(s.idleTimeoutMs).replace(/^in /, '')],
    ['refreshable', s.refreshable ? 'yes' : 'no'],
    ['bound to a device', s.boundAt === undefined ? 'no' : `yes, last proof ${shortTime(s.boundAt)} (${relative(s.boundAt - now)})`],
    ['ip', s.ip || '-'],
    ['user agent', s.userAgent || '-'],
    ['data keys', Object.keys(s.data ?? {}).join(', ') || '-'],
  ];
}

export function detailJson(s: SessionInfo, state: SessionState): Record<string, unknown> {
  return {
    ...viewOf(s, state),
    authAt: iso(s.authAt),
    authMethod: s.authMethod ?? 'password',
    ...(s.boundAt === undefined ? {} : { provedAt: iso(s.boundAt) }),
    idleTimeoutMs: s.idleTimeoutMs,
    dataKeys: Object.keys(s.data ?? {}),
  };
}

/** "in 14m 59s" / "3h 2m ago": coarse, two units at most. */
function relative(ms: number): string {
  const abs = Math.abs(ms);
  const units: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]];
  const parts: string[] = [];
  let rest = abs;
  for (const [u, size] of units) {
    if (rest >= size || (u === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${u}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  const text = parts.join(' ');
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

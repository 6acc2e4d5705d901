/**
 * The session record codec, shared by RedisStore, MemoryStore and the admin CLI
 * (which SCANs keys.sessionPattern() and decodes hashes with decodeRecord).
 *
 * Field names are one letter to keep a session plus its index entry near 350 bytes of
 * Redis memory (DESIGN §4). The handle is stored without its tag (the key carries it).
 */
import { badRequest } from '../errors.js';
import { idleExpiresAt } from '../sessions/policy.js';
import type { SessionInfo } from '../sessions/types.js';

export const F = Object.freeze({
  handle: 'h', // handle suffix (10 chars after `<tag>-`)
  userId: 'u',
  createdAt: 'c',
  lastActiveAt: 'l',
  idleTimeoutMs: 'i',
  absoluteExpiresAt: 'a',
  refreshable: 'r', // '1' | '0'
  authAt: 't',
  ip: 'p',
  userAgent: 'g',
  data: 'd', // JSON object; absent when empty
});

/** Caps applied by the store whatever the caller passes (memory budget, §4). */
export const MAX_DATA_BYTES = 2048;
export const MAX_IP_CHARS = 64;
export const MAX_UA_CHARS = 128;

/** Serializes app data, refusing anything but a small JSON object. */
export function encodeData(data: Record<string, unknown> | undefined): string {
  if (data === undefined) return '';
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw badRequest('Session data must be a JSON object.');
  }
  const json = JSON.stringify(data);
  if (Buffer.byteLength(json) > MAX_DATA_BYTES) {
    throw badRequest(`Session data is larger than ${MAX_DATA_BYTES} bytes.`);
  }
  return json === '{}' ? '' : json;
}

export const clip = (s: string | undefined, max: number): string => (s ?? '').slice(0, max);

export const handleSuffix = (handle: string): string => handle.slice(handle.indexOf('-') + 1);

/** The HMGET order of validate-session-1.lua's answer (keep the two in step). */
export const RECORD_FIELDS = ['h', 'u', 'c', 'l', 'i', 'a', 'r', 't', 'p', 'g', 'd'] as const;

/**
 * A record as validate-session-1.lua answers it: its values in RECORD_FIELDS order
 * from `reply[at]` (null = field absent) → SessionInfo, or null when incomplete.
 * Positional on purpose: this runs on every authenticated request, and skips the
 * field-name object that decodeRecord reads.
 */
export function decodeValues(tag: string, reply: readonly unknown[], at: number): SessionInfo | null {
  const str = (i: number): string | undefined => {
    const v = reply[at + i];
    return v === null || v === undefined ? undefined : String(v);
  };
  const suffix = str(0);
  const userId = str(1);
  const absolute = str(5);
  if (!suffix || !userId || !absolute) return null;
  const clocks = {
    lastActiveAt: num(str(3)),
    idleTimeoutMs: num(str(4)),
    absoluteExpiresAt: num(absolute),
    refreshable: str(6) === '1',
  };
  return {
    handle: `${tag}-${suffix}`,
    userId,
    tag,
    createdAt: num(str(2)),
    ...clocks,
    idleExpiresAt: idleExpiresAt(clocks),
    authAt: num(str(7)),
    ip: str(8) ?? '',
    userAgent: str(9) ?? '',
    data: parseData(str(10)),
  };
}

/** `[k, v, k, v, …]` (HGETALL as RESP2 / Lua) → object. */
export function pairs(flat: readonly unknown[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[String(flat[i])] = String(flat[i + 1]);
  return o;
}

/** Stored app data; a record whose JSON does not parse yields none rather than failing. */
function parseData(json: string | undefined): Record<string, unknown> {
  if (!json) return {};
  try {
    return JSON.parse(json) as Record<string, unknown>;
  } catch {
    return {};
  }
}

const num = (v: string | undefined): number => {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
};

/** A record's fields → SessionInfo; null when it is not a complete record. */
export function decodeRecord(tag: string, f: Record<string, string>): SessionInfo | null {
  const suffix = f[F.handle];
  const userId = f[F.userId];
  if (!suffix || !userId || !f[F.absoluteExpiresAt]) return null;
  const data = parseData(f[F.data]);
  const clocks = {
    lastActiveAt: num(f[F.lastActiveAt]),
    idleTimeoutMs: num(f[F.idleTimeoutMs]),
    absoluteExpiresAt: num(f[F.absoluteExpiresAt]),
    refreshable: f[F.refreshable] === '1',
  };
  return {
    handle: `${tag}-${suffix}`,
    userId,
    tag,
    createdAt: num(f[F.createdAt]),
    ...clocks,
    idleExpiresAt: idleExpiresAt(clocks),
    authAt: num(f[F.authAt]),
    ip: f[F.ip] ?? '',
    userAgent: f[F.userAgent] ?? '',
    data,
  };
}

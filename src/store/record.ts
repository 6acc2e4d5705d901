/**
 * The session record codec, shared by RedisStore, MemoryStore and the admin CLI
 * (which SCANs keys.sessionPattern() and decodes hashes with decodeRecord).
 *
 * Field names are one letter to keep a session plus its index entry near 350 bytes of
 * Redis memory (docs/performance.md). The handle is stored without its tag (the key carries it).
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
  generation: 'v', // set when a revoke-all kept this session: the generation it survived
  predecessor: 'q', // idHash of the ID this one replaced (its replay marker, its grace alias)
  olderPredecessor: 'o', // idHash of the ID before that (its replay marker)
  family: 'f', // hash of the family part its IDs share (its family key); absent before 0.3.0
  // How the user signed in, when not by password. Optional, so nodes that predate it
  // ignore it, and a rotation (RENAME) keeps it. Not in RECORD_FIELDS: validation does
  // not need it, only listings (HGETALL) do.
  authMethod: 'm',
  // Device binding (DBSC): the public key the session proves (src/binding/proof.ts's
  // StoredKey) and when it last did. Optional like m: a rotation (RENAME, on any
  // release) keeps them, so a bound session stays bound whichever node rotates it.
  boundKey: 'k',
  boundAt: 'b',
});

/**
 * The record layout as Lua, prepended to every script before lib.lua (src/store/scripts.ts):
 * `F.<name>` is a field's stored name, `RECORD_FIELDS` validate's answer order and
 * `AT.<name>` a field's position in it. The scripts name fields only through these.
 */
export function luaPrelude(): string {
  const names = Object.entries(F) as [keyof typeof F, string][];
  const byField = new Map(names.map(([name, field]) => [field, name]));
  const quote = (v: string) => `'${v}'`;
  return [
    '-- Generated from src/store/record.ts (luaPrelude): the session record layout.',
    `local F = { ${names.map(([n, f]) => `${n} = ${quote(f)}`).join(', ')} }`,
    `local RECORD_FIELDS = { ${RECORD_FIELDS.map((f) => quote(f)).join(', ')} }`,
    `local AT = { ${RECORD_FIELDS.map((f, i) => `${byField.get(f)} = ${i + 1}`).join(', ')} }`,
  ].join('\n');
}

/** Caps applied by the store whatever the caller passes (memory budget, docs/performance.md). */
export const MAX_DATA_BYTES = 2048;
export const MAX_IP_CHARS = 64;
export const MAX_UA_CHARS = 128;
export const MAX_AUTH_METHOD_CHARS = 200;
/** A device public key as stored (an RSA-4096 key fits; src/binding/proof.ts bounds what it accepts below this). */
export const MAX_BOUND_KEY_CHARS = 1024;

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

/**
 * The fields validate-session-4.lua answers, in this order. The scripts receive it (and F)
 * from luaPrelude(), so the Lua and this decoder cannot disagree.
 */
export const RECORD_FIELDS = [F.handle, F.userId, F.createdAt, F.lastActiveAt, F.idleTimeoutMs, F.absoluteExpiresAt,
  F.refreshable, F.authAt, F.ip, F.userAgent, F.data, F.generation, F.boundAt] as const;
type Field = (typeof RECORD_FIELDS)[number];
const POSITION = Object.fromEntries(RECORD_FIELDS.map((f, i) => [f, i])) as Record<Field, number>;

/**
 * A record as validate-session-4.lua answers it: its values in RECORD_FIELDS order
 * from `reply[at]` (anything but a string = field absent: false in the script's JSON,
 * null in a flat reply) → SessionInfo, or null when incomplete.
 * Positional on purpose: this runs on every authenticated request, and skips building
 * the field-name object that decodeRecord reads.
 */
export function decodeValues(tag: string, reply: readonly unknown[], at: number): SessionInfo | null {
  return decodeWith(tag, (f) => {
    const v = reply[at + POSITION[f]];
    return typeof v === 'string' ? v : undefined;
  });
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
  const info = decodeWith(tag, (k) => f[k]);
  const method = f[F.authMethod];
  if (info && method) info.authMethod = method;
  return info;
}

/** The one decoder behind both: `get` reads a field by its one-letter name (F). */
function decodeWith(tag: string, get: (f: Field) => string | undefined): SessionInfo | null {
  const suffix = get(F.handle);
  const userId = get(F.userId);
  const absolute = get(F.absoluteExpiresAt);
  if (!suffix || !userId || !absolute) return null;
  const clocks = {
    lastActiveAt: num(get(F.lastActiveAt)),
    idleTimeoutMs: num(get(F.idleTimeoutMs)),
    absoluteExpiresAt: num(absolute),
    refreshable: get(F.refreshable) === '1',
  };
  const boundAt = get(F.boundAt);
  return {
    ...(boundAt ? { boundAt: num(boundAt) } : {}),
    handle: `${tag}-${suffix}`,
    userId,
    tag,
    createdAt: num(get(F.createdAt)),
    ...clocks,
    idleExpiresAt: idleExpiresAt(clocks),
    authAt: num(get(F.authAt)),
    ip: get(F.ip) ?? '',
    userAgent: get(F.userAgent) ?? '',
    data: parseData(get(F.data)),
  };
}

/**
 * Loads the Lua scripts once at start (src/store/lua, copied next to the compiled code
 * by scripts/copy-assets.sh) and registers them with ioredis `defineCommand`: each call
 * is an EVALSHA, and ioredis falls back to EVAL when the server answers NOSCRIPT (the
 * script cache is lost on every restart or failover).
 *
 * File names are `verb-noun-<numKeys>.lua`; lib.lua holds shared helpers and is
 * prepended to each (Redis Lua has no include).
 *
 * Every script starts with a Redis 7 shebang (`#!lua flags=…`), set here per script
 * rather than in the .lua files. It decides what happens when Redis is at maxmemory
 * (noeviction, the only policy we accept):
 * - `allow-oom`: the script runs and writes anyway. Only for scripts whose writes
 *   rewrite fields in place or delete: validation (its slide rewrites lastActiveAt and
 *   the TTLs, so an active user stays active through the incident), the revocations
 *   (they free memory; revoke-all's epoch is one small counter) and the listing (it
 *   prunes dead entries).
 * - no flag: Redis refuses the whole script before it runs (-OOM), so it either ran
 *   completely or not at all. For what needs new memory: a login, app data, a refresh
 *   (the successor, its grace alias and the replay marker outlive the old ID). Without a
 *   shebang Redis would only refuse such a script at a first write that may grow memory:
 *   a refresh, whose first write is a RENAME, went through and grew memory.
 * A password change rotates without alias or marker (one record replaced by one, the
 * others deleted), so it has its own caller of the refresh script with `allow-oom`.
 *
 * What any shebang also changes (Redis 7.0+; earlier versions cannot load the scripts):
 * in Cluster every key a script touches must hash to one slot (they all carry the
 * user's `{tag}`); and a script that may write is refused up front, not at its first
 * write, on a read-only replica, when persistence fails (MISCONF) and when
 * min-replicas-to-write is not met.
 */
import { readFileSync } from 'node:fs';
import type { RedisClient } from './connection.js';
import { luaPrelude } from './record.js';

/** The shebang flags a script runs with ('' = none: refused up front when Redis is full). */
type Flags = '' | 'allow-oom';

const SCRIPTS = {
  createSession: { file: 'create-session-3.lua', flags: '' },
  validateSession: { file: 'validate-session-4.lua', flags: 'allow-oom' },
  refreshSession: { file: 'refresh-session-4.lua', flags: '' },
  // The same script, called only with keep-alias-and-marker off (password change).
  rotateWithoutTrace: { file: 'refresh-session-4.lua', flags: 'allow-oom' },
  updateData: { file: 'update-data-1.lua', flags: '' },
  bindSession: { file: 'bind-session-1.lua', flags: '' },
  revokeSession: { file: 'revoke-session-2.lua', flags: 'allow-oom' },
  revokeHandle: { file: 'revoke-handle-1.lua', flags: 'allow-oom' },
  revokeAll: { file: 'revoke-all-3.lua', flags: 'allow-oom' },
  listSessions: { file: 'list-sessions-2.lua', flags: 'allow-oom' },
} as const satisfies Record<string, { file: string; flags: Flags }>;

export type ScriptName = keyof typeof SCRIPTS;
export type ScriptCall = (keys: readonly string[], argv: readonly (string | number)[]) => Promise<unknown>;
export type Scripts = Readonly<Record<ScriptName, ScriptCall>>;

const dir = new URL('./lua/', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, dir), 'utf8');

let sources: Record<ScriptName, { lua: string; numberOfKeys: number }> | undefined;

/** The script sources (read from disk once per process). */
export function scriptSources(): Record<ScriptName, { lua: string; numberOfKeys: number }> {
  if (!sources) {
    const lib = `${luaPrelude()}\n${read('lib.lua')}`;
    const out = {} as Record<ScriptName, { lua: string; numberOfKeys: number }>;
    for (const [name, { file, flags }] of Object.entries(SCRIPTS) as [ScriptName, { file: string; flags: Flags }][]) {
      const numberOfKeys = Number(/-(\d+)\.lua$/.exec(file)?.[1]);
      // The shebang must be the very first line of the source Redis receives.
      const shebang = flags ? `#!lua flags=${flags}` : '#!lua';
      out[name] = { lua: `${shebang}\n${lib}\n${read(file)}`, numberOfKeys };
    }
    sources = out;
  }
  return sources;
}

/**
 * On Cluster, how many NOSCRIPT answers one call rides out. ioredis marks a connection as
 * holding a script once it has sent the EVAL there, even when Redis refused that EVAL
 * before running it (MOVED, ASK, TRYAGAIN: the script is then not cached on that node,
 * measured on 7.0). Its own fallback (EVALSHA → NOSCRIPT → one EVAL) covers one such
 * connection, but during a slot migration the fallback can land on another node (a key
 * moved in between) and fail the request. Each NOSCRIPT clears the mark of the
 * connection that answered it, so a few retries converge.
 */
const NOSCRIPT_RETRIES = 3;

const isNoScript = (err: unknown) => err instanceof Error && err.message.startsWith('NOSCRIPT');

/** Registers every script on the client and returns typed callers. */
export function defineScripts(client: RedisClient): Scripts {
  const calls = {} as Record<ScriptName, ScriptCall>;
  const dynamic = client as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>;
  for (const [name, def] of Object.entries(scriptSources()) as [ScriptName, { lua: string; numberOfKeys: number }][]) {
    const command = `ss_${name}`;
    if (typeof dynamic[command] !== 'function') client.defineCommand(command, def);
    const send = (keys: readonly string[], argv: readonly (string | number)[]) => dynamic[command]!(...keys, ...argv);
    const sendRetrying = (keys: readonly string[], argv: readonly (string | number)[], left = NOSCRIPT_RETRIES): Promise<unknown> =>
      send(keys, argv).catch((err: unknown) => {
        if (left > 0 && isNoScript(err)) return sendRetrying(keys, argv, left - 1);
        throw err;
      });
    // A standalone or Sentinel client is never redirected: ioredis' own fallback suffices.
    const call = client.isCluster ? sendRetrying : send;
    calls[name] = (keys, argv) => {
      if (keys.length !== def.numberOfKeys) throw new Error(`${name}: expected ${def.numberOfKeys} keys`);
      return call(keys, argv);
    };
  }
  return Object.freeze(calls);
}

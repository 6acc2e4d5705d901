/**
 * Loads the Lua scripts once at start (src/store/lua, copied next to the compiled code
 * by scripts/copy-assets.sh) and registers them with ioredis `defineCommand`: each call
 * is an EVALSHA, and ioredis falls back to EVAL when the server answers NOSCRIPT (the
 * script cache is lost on every restart or failover).
 *
 * File names are `verb-noun-<numKeys>.lua`; lib.lua holds shared helpers and is
 * prepended to each (Redis Lua has no include).
 */
import { readFileSync } from 'node:fs';
import type { RedisClient } from './connection.js';

const FILES = {
  createSession: 'create-session-4.lua',
  validateSession: 'validate-session-5.lua',
  refreshSession: 'refresh-session-7.lua',
  updateData: 'update-data-1.lua',
  revokeSession: 'revoke-session-4.lua',
  revokeHandle: 'revoke-handle-1.lua',
  revokeAll: 'revoke-all-3.lua',
  listSessions: 'list-sessions-2.lua',
} as const;

export type ScriptName = keyof typeof FILES;
export type ScriptCall = (keys: readonly string[], argv: readonly (string | number)[]) => Promise<unknown>;
export type Scripts = Readonly<Record<ScriptName, ScriptCall>>;

const dir = new URL('./lua/', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, dir), 'utf8');

let sources: Record<ScriptName, { lua: string; numberOfKeys: number }> | undefined;

/** The script sources (read from disk once per process). */
export function scriptSources(): Record<ScriptName, { lua: string; numberOfKeys: number }> {
  if (!sources) {
    const lib = read('lib.lua');
    const out = {} as Record<ScriptName, { lua: string; numberOfKeys: number }>;
    for (const [name, file] of Object.entries(FILES) as [ScriptName, string][]) {
      const numberOfKeys = Number(/-(\d+)\.lua$/.exec(file)?.[1]);
      out[name] = { lua: `${lib}\n${read(file)}`, numberOfKeys };
    }
    sources = out;
  }
  return sources;
}

/** Registers every script on the client and returns typed callers. */
export function defineScripts(client: RedisClient): Scripts {
  const calls = {} as Record<ScriptName, ScriptCall>;
  const dynamic = client as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>;
  for (const [name, def] of Object.entries(scriptSources()) as [ScriptName, { lua: string; numberOfKeys: number }][]) {
    const command = `ss_${name}`;
    if (typeof dynamic[command] !== 'function') client.defineCommand(command, def);
    calls[name] = (keys, argv) => {
      if (keys.length !== def.numberOfKeys) throw new Error(`${name}: expected ${def.numberOfKeys} keys`);
      return dynamic[command]!(...keys, ...argv);
    };
  }
  return Object.freeze(calls);
}

/**
 * The throttle's Lua scripts (src/throttle/lua, `verb-noun-<numKeys>.lua`), registered
 * once per client with ioredis `defineCommand`. Each touches one key, so they run on
 * Cluster without a shared hash tag.
 *
 * All of them run `allow-oom`: with Redis at maxmemory (noeviction) a failed password
 * check that could not be counted would be a free guess, and the password change and
 * re-authentication keep working while Redis is full (they are how an owner locks a
 * thief out). What they add is a few small keys per failing address and account, each
 * with a TTL, so the overshoot past maxmemory stays small.
 */
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

const SCRIPTS = {
  ssThrottleCount: 'count-failure-1.lua',
  ssThrottleClaimTurn: 'claim-turn-1.lua',
} as const;

export interface ThrottleCommands {
  /** One failure on a counter; returns the count. `mode`: a fixed window or a sliding lifetime. */
  ssThrottleCount(key: string, ttlMs: number, mode: 'fixed' | 'sliding'): Promise<number>;
  /** Over the account limit: [1, 0] when this attempt has the turn, [0, ms to wait] when not (turns.ts). */
  ssThrottleClaimTurn(key: string, now: string, address: string, delayMs: number, keepMs: number, remember: number): Promise<[number, number]>;
}

const dir = new URL('./lua/', import.meta.url);

export function throttleCommands(client: Redis | Cluster): ThrottleCommands {
  for (const [name, file] of Object.entries(SCRIPTS)) {
    const numberOfKeys = Number(/-(\d+)\.lua$/.exec(file)?.[1]);
    // The shebang must be the first line Redis receives.
    client.defineCommand(name, { numberOfKeys, lua: `#!lua flags=allow-oom\n${readFileSync(new URL(file, dir), 'utf8')}` });
  }
  return client as unknown as ThrottleCommands;
}

/**
 * The throttle's Lua scripts (src/throttle/lua, `verb-noun-<numKeys>.lua`), registered
 * once per client with ioredis `defineCommand`. Each touches one key, so they run on
 * Cluster without a shared hash tag.
 *
 * The counters and the account's turns run `allow-oom`: with Redis at maxmemory
 * (noeviction) a failed password check that could not be counted would be a free guess,
 * and the password change and re-authentication keep working while Redis is full (they
 * are how an owner locks a thief out). What they add is a few small keys per failing
 * address and account, each with a TTL, so the overshoot past maxmemory stays small.
 * A new device cookie does not: it comes with a sign-in, which cannot start a session
 * on a full Redis either.
 */
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

const SCRIPTS = {
  ssThrottleCount: { file: 'count-failure-1.lua', allowOom: true },
  ssThrottleClaimTurn: { file: 'claim-turn-1.lua', allowOom: true },
  ssThrottleAddDevice: { file: 'add-device-1.lua', allowOom: false },
} as const;

export interface ThrottleCommands {
  /**
   * One failure on a counter (a fixed window, or a lifetime every failure renews), or
   * one taken back; returns the count and the counter's remaining lifetime.
   */
  ssThrottleCount(key: string, ttlMs: number, mode: 'fixed' | 'sliding' | 'undo'): Promise<[number, number]>;
  /** Over the account limit: [1, 0] when this attempt has the turn, [0, ms to wait] when not (turns.ts). */
  ssThrottleClaimTurn(key: string, now: string, address: string, delayMs: number, keepMs: number, remember: number): Promise<[number, number]>;
  /** Indexes a new device record of an account; returns the record ids dropped from the index. */
  ssThrottleAddDevice(index: string, now: string, id: string, lifetimeMs: number, keep: number): Promise<string[]>;
}

const dir = new URL('./lua/', import.meta.url);

export function throttleCommands(client: Redis | Cluster): ThrottleCommands {
  for (const [name, { file, allowOom }] of Object.entries(SCRIPTS)) {
    const numberOfKeys = Number(/-(\d+)\.lua$/.exec(file)?.[1]);
    // The shebang must be the first line Redis receives.
    const shebang = allowOom ? '#!lua flags=allow-oom' : '#!lua';
    client.defineCommand(name, { numberOfKeys, lua: `${shebang}\n${readFileSync(new URL(file, dir), 'utf8')}` });
  }
  return client as unknown as ThrottleCommands;
}

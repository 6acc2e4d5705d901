/**
 * The end-of-soak scan of Redis: every key under the prefix must be one the design
 * names, carry a TTL unless it is designed without one (user records, revocation
 * epochs, the capped audit stream), and no key may outlive the deadline it stands for.
 * Deadlines are compared on Redis TIME (the one clock).
 */
import type { Redis } from 'ioredis';
import { F } from '../../src/store/record.js';

export interface KeyAudit {
  byKind: Record<string, number>;
  problems: string[];
}

/** A TTL may exceed the record's deadline by this much (rounding, the script's clock read). */
const SLACK_MS = 1000;

export async function auditKeys(redis: Redis, prefix: string, graceMs: number): Promise<KeyAudit> {
  const byKind: Record<string, number> = {};
  const problems: string[] = [];
  const [sec, usec] = await redis.time();
  const now = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  const esc = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const slotKey = new RegExp(`^${esc}\\{([A-Za-z0-9]{12})\\}:(s|g|r|f|u|e|v)(?::(.+))?$`);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const pttl = await redis.pttl(key);
      if (pttl === -2) continue; // expired between SCAN and PTTL
      const m = slotKey.exec(key);
      const kind = m ? m[2]! : key.startsWith(`${prefix}user:`) ? 'user' : key === `${prefix}events` ? 'events'
        : key === `${prefix}formkey` ? 'formkey'
        : key.startsWith(`${prefix}t:`) ? 'throttle' : 'unknown';
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      const need = (ok: boolean, what: string) => { if (!ok) problems.push(`${key}: ${what}`); };
      switch (kind) {
        case 'user': case 'e': case 'v': case 'events': case 'formkey':
          break; // designed without a TTL once a revoke-all moved them (else they share the index's)
        case 'throttle':
          need(pttl > 0, 'throttle counter without TTL');
          break;
        case 's': {
          need(pttl > 0, 'session record without TTL');
          const f = await redis.hgetall(key);
          const a = Number(f[F.absoluteExpiresAt]);
          const deadline = f[F.refreshable] === '1' ? a : Math.min(Number(f[F.lastActiveAt]) + Number(f[F.idleTimeoutMs]), a);
          need(Number.isFinite(deadline), 'incomplete session record');
          need(deadline > now, `session record past its deadline by ${now - deadline} ms`);
          need(now + pttl <= deadline + SLACK_MS, `TTL outlives the deadline by ${now + pttl - deadline} ms`);
          break;
        }
        case 'g':
          need(pttl > 0 && pttl <= graceMs + SLACK_MS, `grace alias TTL ${pttl} ms (grace ${graceMs} ms)`);
          break;
        case 'r': {
          need(pttl > 0, 'replay marker without TTL');
          const until = Number((await redis.get(key))?.split(' ')[1]);
          need(now + pttl <= until + SLACK_MS, 'replay marker outlives its deadline');
          break;
        }
        case 'f': {
          need(pttl > 0, 'family key without TTL');
          const [, until, current] = ((await redis.get(key)) ?? '').split(' ');
          need(now + pttl <= Number(until) + SLACK_MS, 'family key outlives its deadline');
          need(/^[A-Za-z0-9_-]{43}$/.test(current ?? ''), 'family key names no current ID');
          break;
        }
        case 'u': {
          need(pttl > 0, 'session index without TTL');
          const tag = m![1]!;
          const members = await redis.zrangebyscore(key, now + SLACK_MS, '+inf');
          for (const id of members) {
            const exists = await redis.exists(`${prefix}{${tag}}:s:${id}`);
            need(exists === 1, `index entry ${id.slice(0, 8)}… (deadline not passed) has no record`);
          }
          break;
        }
        default:
          problems.push(`${key}: a key the design does not name`);
      }
    }
  } while (cursor !== '0');
  return { byKind, problems };
}

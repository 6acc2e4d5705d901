/**
 * What the cluster outage and failover tests share: which sessions live on a given
 * master, and one round of validates over many sessions, each answer tallied as its
 * state or its error (`503 store_unavailable`, …), with the slowest answer kept.
 */
import type { Redis } from 'ioredis';
import { AppError } from '../../src/errors.js';
import type { IssuedSession, SessionStore } from '../../src/sessions/types.js';
import { keySlot } from '../../src/store/replica-acks.js';

/** The sessions whose slot `port` serves as master, per that node's CLUSTER SLOTS. */
export async function sessionsOnMaster(node: Redis, port: number, sessions: IssuedSession[]): Promise<IssuedSession[]> {
  const ranges = await node.cluster('SLOTS');
  const owned = (tag: string) =>
    ranges.some(([lo, hi, master]) => master?.[1] === port && keySlot(tag) >= lo && keySlot(tag) <= hi);
  return sessions.filter((s) => owned(s.session.tag));
}

export class OutcomeTally {
  readonly outcomes = new Map<string, number>();
  slowest = 0;

  /** Validates every session once, concurrently; answers each one's outcome. */
  async round(store: SessionStore, sessions: IssuedSession[]): Promise<string[]> {
    return Promise.all(
      sessions.map(async (s) => {
        const t0 = performance.now();
        let outcome: string;
        try {
          outcome = (await store.validate(s.token)).state;
        } catch (err) {
          outcome = err instanceof AppError ? `${err.status} ${err.code}` : `thrown ${String(err)}`;
        }
        this.slowest = Math.max(this.slowest, performance.now() - t0);
        this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
        return outcome;
      }),
    );
  }

  count(outcome: string): number {
    return this.outcomes.get(outcome) ?? 0;
  }

  /** Outcomes other than the allowed ones (expected: none). */
  others(...allowed: string[]): string[] {
    return [...this.outcomes.keys()].filter((o) => !allowed.includes(o));
  }

  summary(): string {
    return `outcomes ${JSON.stringify(Object.fromEntries(this.outcomes))}; slowest ${Math.round(this.slowest)} ms`;
  }
}

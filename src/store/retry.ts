/**
 * Riding out Redis maintenance (a Cluster slot migration or failover, a Sentinel
 * failover): a store call that meets it waits, within REDIS_RETRY_BUDGET, instead of
 * failing. Only answers that say the command was not applied are retried for any
 * call: TRYAGAIN (the scripts raise it themselves before their first write), MOVED and
 * ASK once ioredis ran out of redirections, CLUSTERDOWN, LOADING, MASTERDOWN, READONLY
 * (a master demoted under us refuses the write). A timeout or a dropped connection may
 * have been applied, or may be a Redis that is down rather than moving: those answer
 * at once, as before (the fast 503 of an outage) — except a timeout met while ioredis
 * was following the migration's redirections, which is the move itself: that one is
 * sent again when the call is idempotent (the same arguments do the same thing twice).
 */
import { setTimeout as sleep } from 'node:timers/promises';

const NOT_APPLIED = /^(?:ReplyError: )?(?:TRYAGAIN|CLUSTERDOWN|MOVED|ASK|LOADING|MASTERDOWN|READONLY)\b/;
const REDIRECTIONS = /^Too many Cluster redirections\. Last error: (.*)$/s;

/** Whether `err` leaves the call safe to send again (`idempotent`: it may have been applied). */
export function retryable(err: unknown, idempotent: boolean): boolean {
  if (!(err instanceof Error)) return false;
  const redirected = REDIRECTIONS.exec(err.message)?.[1];
  if (NOT_APPLIED.test(redirected ?? err.message)) return true;
  return idempotent && redirected !== undefined && /^Error: Command timed out\b/.test(redirected);
}

/** First pause between tries, doubled each time up to MAX_PAUSE_MS: a slot moves in about a second. */
const FIRST_PAUSE_MS = 20;
const MAX_PAUSE_MS = 250;

/**
 * Runs `op`, again after a pause while it fails retryably and `budgetMs` is not spent;
 * then the last failure goes on (the caller's 503). budgetMs 0: one try.
 */
export async function withinBudget<T>(budgetMs: number, idempotent: boolean, op: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + budgetMs;
  let pause = FIRST_PAUSE_MS;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      const left = deadline - performance.now();
      if (left <= 0 || !retryable(err, idempotent)) throw err;
      await sleep(Math.min(pause, left));
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
  }
}

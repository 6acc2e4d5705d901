/**
 * Riding out Redis maintenance (a Cluster slot migration or failover, a Sentinel
 * failover): a store call that meets it waits, within REDIS_RETRY_BUDGET, instead of
 * failing. Only answers that say the command was not applied are retried for any
 * call: TRYAGAIN (the scripts raise it themselves before their first write), MOVED and
 * ASK once ioredis ran out of redirections, CLUSTERDOWN, LOADING, MASTERDOWN, READONLY
 * (a master demoted under us refuses the write). A timeout or a dropped connection may
 * have been applied, or may be a Redis that is down rather than moving: those answer
 * at once, as before (the fast 503 of an outage).
 */
import { setTimeout as sleep } from 'node:timers/promises';

const NOT_APPLIED = /^(?:ReplyError: )?(?:TRYAGAIN|CLUSTERDOWN|MOVED|ASK|LOADING|MASTERDOWN|READONLY)\b/;
const REDIRECTIONS = /^Too many Cluster redirections\. Last error: (.*)$/s;

/** Whether `err` says Redis applied nothing and asks to be asked again. */
export function retryable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return NOT_APPLIED.test(REDIRECTIONS.exec(err.message)?.[1] ?? err.message);
}

/** First pause between tries, doubled each time up to MAX_PAUSE_MS: a slot moves in about a second. */
const FIRST_PAUSE_MS = 20;
const MAX_PAUSE_MS = 250;

/**
 * Runs `op`, again after a pause while it fails retryably and `budgetMs` is not spent;
 * then the last failure goes on (the caller's 503). budgetMs 0: one try.
 */
export async function withinBudget<T>(budgetMs: number, op: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + budgetMs;
  let pause = FIRST_PAUSE_MS;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      const left = deadline - performance.now();
      if (left <= 0 || !retryable(err)) throw err;
      await sleep(Math.min(pause, left));
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
  }
}

/**
 * Riding out Redis maintenance (a Cluster slot migration or failover, a Sentinel
 * failover, a master lost and its replica promoted): a store call that meets it waits,
 * within REDIS_RETRY_BUDGET, instead of failing (docs/design.md, invariant 12). What may
 * be sent again depends on what the failure proves:
 * - nothing was applied, so any call may be sent again: Redis said so (TRYAGAIN, the
 *   scripts raise it before their first write; MOVED and ASK once ioredis ran out of
 *   redirections; CLUSTERDOWN, LOADING, MASTERDOWN, READONLY: a demoted master refuses a
 *   script that may write), or ioredis never sent the command (no offline queue: the
 *   connection was down or reconnecting to the new master);
 * - it may have been applied: a timeout, or the connection dropped with the command in
 *   flight (a failover closes it). Only a call that does the same when sent twice with
 *   the same arguments is sent again; any other one answers 503 as before.
 * The same failures are what an outage looks like. So a budget is per client as well
 * as per call: once its calls have failed for longer than the budget with no success in
 * between, Redis is down rather than moving, and each call gets one try (the fast 503 of
 * docs/reliability.md) until one succeeds. An outage costs at most one budget of waiting,
 * and requests never pile up behind it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FENCED, type Fence } from './sentinel-fence.js';

const NOT_APPLIED = /^(?:TRYAGAIN|CLUSTERDOWN|MOVED|ASK|LOADING|MASTERDOWN|READONLY)\b/;
// ioredis' own words for a command it rejected before writing it anywhere.
const NOT_SENT = new RegExp(`^(?:Stream isn't writeable and enableOfflineQueue options is false|Cluster isn't ready and enableOfflineQueue options is false|${FENCED})`);
// A timeout, and a connection closed under commands in flight (maxRetriesPerRequest 0
// rejects them with its own error; a Cluster node's connection with "Connection is
// closed.", which ioredis also uses for one it never sent to: the stricter reading wins).
const MAYBE_APPLIED = /^(?:Command timed out|Connection is closed\.|Reached the max retries per request limit)/;
const REDIRECTIONS = /^Too many Cluster redirections\. Last error: (.*)$/s;
const ERROR_CLASS = /^\w*Error: /;

/** Whether `err` leaves the call safe to send again (`idempotent`: it may have been applied). */
export function retryable(err: unknown, idempotent: boolean): boolean {
  if (!(err instanceof Error)) return false;
  const message = (REDIRECTIONS.exec(err.message)?.[1] ?? err.message).replace(ERROR_CLASS, '');
  if (NOT_APPLIED.test(message) || NOT_SENT.test(message)) return true;
  return idempotent && MAYBE_APPLIED.test(message);
}

/** First pause between tries, doubled each time up to MAX_PAUSE_MS: a slot moves in about a second. */
const FIRST_PAUSE_MS = 20;
const MAX_PAUSE_MS = 250;

/** REDIS_RETRY_BUDGET for the calls of one client; 0: one try each. */
export class RetryBudget {
  /** When the calls began failing (no success since); undefined while Redis answers. */
  #failingSince: number | undefined;

  /** `fence`: a Sentinel failover under way holds every call (src/store/sentinel-fence.ts). */
  constructor(
    readonly budgetMs: number,
    readonly fence?: Fence,
  ) {}

  /** A call answered: whatever failed before was maintenance that is over. */
  succeeded(): void {
    this.#failingSince = undefined;
  }

  /**
   * Runs `op`, again after a pause while it fails retryably and neither this call's
   * budget nor the client's is spent; then the last failure goes on (the caller's 503).
   * `op` is told whether an earlier try may have been applied (a revocation sent again
   * then finds nothing left to revoke: its own work).
   */
  async run<T>(idempotent: boolean, op: (mayHaveRun: boolean) => Promise<T>): Promise<T> {
    const started = performance.now();
    let pause = FIRST_PAUSE_MS;
    let mayHaveRun = false;
    for (;;) {
      try {
        if (this.fence?.closed) throw new Error(FENCED);
        const value = await op(mayHaveRun);
        this.#failingSince = undefined;
        return value;
      } catch (err) {
        if (!retryable(err, true)) {
          this.#failingSince = undefined; // an answer (a script error, OOM): Redis is up
          throw err;
        }
        // Failing since this call was sent, unless an earlier call already was.
        this.#failingSince ??= started;
        const left = Math.min(started, this.#failingSince) + this.budgetMs - performance.now();
        if (left <= 0 || !retryable(err, idempotent)) throw err;
        mayHaveRun ||= !retryable(err, false);
        await sleep(Math.min(pause, left));
        pause = Math.min(pause * 2, MAX_PAUSE_MS);
      }
    }
  }
}

/** One call within a budget of its own. */
export function withinBudget<T>(budgetMs: number, idempotent: boolean, op: () => Promise<T>): Promise<T> {
  return new RetryBudget(budgetMs).run(idempotent, op);
}

/**
 * `target` (a client, or its scripts) with every method call sent again within the
 * budget when it was provably not applied, and never otherwise: for callers whose
 * writes count (the login throttle's counters), where a second send would count twice.
 * Every method of `target` must answer a promise.
 */
export function unappliedRetried<T extends object>(target: T, budget: RetryBudget): T {
  return new Proxy(target, {
    get(obj, prop) {
      const value: unknown = Reflect.get(obj, prop, obj);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => budget.run(false, () => Promise.resolve(value.apply(obj, args)));
    },
  });
}

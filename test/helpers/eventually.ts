/**
 * The one polling helper of the test suite: waits for something the system announces
 * (a state, a notification, a recovery), never for a fixed time.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  /** Give up after this long (default 10 s): a liveness bound, not a timing assertion. */
  timeoutMs?: number;
  /** Pause between probes (default 50 ms). */
  everyMs?: number;
  /** What is awaited, for the timeout message; a function is read at the timeout, to show the last state. */
  what?: string | (() => string);
}

/**
 * Calls `probe` until it returns true; resolves `true`, or rejects after `timeoutMs`
 * with "timed out after … waiting for <what>". A probe that throws counts as "not yet"
 * (the thing polled is often still down) and its last error is in the timeout message.
 * Callers that report a timeout through their own assertion write `.catch(() => false)`.
 */
export async function eventually(
  probe: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, everyMs = 50, what = 'the condition' }: EventuallyOptions = {},
): Promise<true> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await probe()) return true;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const name = typeof what === 'function' ? what() : what;
      const cause = lastError === undefined ? '' : ` (last error: ${(lastError as Error).message ?? String(lastError)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${name}${cause}`);
    }
    await sleep(everyMs);
  }
}

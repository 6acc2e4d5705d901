/**
 * Who gets the one attempt per delay once an account is over its limit, for the
 * embedded throttle (the Redis throttle runs the same rules in lua/claim-turn-1.lua).
 * "Whoever asks first" would let one address polling wrong passwords take every turn
 * as it opens and keep the owner out for as long as it polls. So an address that has
 * not had a turn yet and is refused reserves the next turn, which then waits for it (for
 * one more delay at most); an address reserves once, and the latest
 * REMEMBERED_ADDRESSES addresses that had a turn or a reservation are remembered.
 */
export const REMEMBERED_ADDRESSES = 256;

export interface Turns {
  /** When the next turn opens. */
  open: number;
  /** The address holding the next turn, and until when it holds it. */
  holder?: string;
  holds: number;
  /** Addresses that had a turn or a reservation, with when: in insertion order. */
  seen: Map<string, number>;
}

export type TurnVerdict = { claimed: true } | { claimed: false; retryAfterMs: number };

/** Decides one attempt and updates `t`; `delay` is the delay to the turn after this one. */
export function claimTurn(t: Turns, addr: string, now: number, delay: number): TurnVerdict {
  if (t.holder !== undefined && t.holds <= now) t.holder = undefined;
  if (now >= t.open && (t.holder === undefined || t.holder === addr)) {
    t.open = now + delay;
    t.holder = undefined;
    remember(t, addr, now);
    return { claimed: true };
  }
  if (t.holder === undefined && now < t.open && !t.seen.has(addr)) {
    t.holder = addr;
    t.holds = t.open + delay;
    remember(t, addr, now);
    return { claimed: false, retryAfterMs: t.open - now };
  }
  const until = t.holder !== undefined && t.holder !== addr ? t.holds : t.open;
  return { claimed: false, retryAfterMs: Math.max(1, until - now) };
}

function remember(t: Turns, addr: string, now: number): void {
  t.seen.delete(addr);
  t.seen.set(addr, now);
  for (const old of t.seen.keys()) {
    if (t.seen.size <= REMEMBERED_ADDRESSES) break;
    t.seen.delete(old);
  }
}

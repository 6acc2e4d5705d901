/**
 * Login throttling (docs/security.md, "Login throttling"): only failures count, in three
 * places:
 * - per user name + client address and per client address, in a fixed window that
 *   starts at the first failure; over either limit every attempt from there, even
 *   with the right password, is refused until the window passes. Addresses are
 *   grouped (ip-group.ts): an IPv6 /64 is one address.
 * - per account, across addresses, for browsers that hold no trusted device cookie
 *   for it: after `maxFailuresPerAccount` consecutive failures one attempt is let
 *   through per delay, the delay doubling from a minute up to `accountDelayMaxMs`.
 *   Guessing from many addresses is slowed to a crawl. Which address gets the turn is
 *   not "whoever asks first" (turns.ts): an address that has not had one goes ahead of
 *   one that has, and an attempt refused by the delay counts against the sender's own
 *   limits, so one address cannot keep the owner out for longer than the cap.
 * - a browser that logged in to the account before carries a device cookie (a random
 *   token; only its hash is kept, bound to the account's id and tag, not its name). It
 *   skips the account counter and has its own allowance of `maxFailuresPerUserIp`
 *   failures instead, so a stolen cookie does not give unlimited guesses either; once
 *   spent, the cookie is no longer trusted until a sign-in succeeds.
 * An attempt is counted before its password is checked and taken back when it was
 * right. A success clears the user+address counter and the account counter, and hands
 * out a fresh device cookie in place of the one presented.
 */
import { nanoid } from 'nanoid';
import { sha256 } from '../sessions/token.js';

export interface ThrottleLimits {
  maxFailuresPerUserIp: number;
  maxFailuresPerIp: number;
  windowMs: number;
  /** Consecutive failures for one account, from browsers it does not trust, before the delays start. Default 50. */
  maxFailuresPerAccount?: number;
  /** The longest delay between two attempts once over the account limit. Default 15 minutes. */
  accountDelayMaxMs?: number;
  /** How long a device cookie stays trusted after the login that issued it. Default 90 days. */
  deviceLifetimeMs?: number;
}

export type ResolvedLimits = Readonly<Required<ThrottleLimits>>;

/** The limits with the account-wide defaults (the same as the configuration's) filled in. */
export const resolveLimits = (l: ThrottleLimits): ResolvedLimits =>
  Object.freeze({ maxFailuresPerAccount: 50, accountDelayMaxMs: 15 * 60_000, deviceLifetimeMs: 90 * 86_400_000, ...l });

export type ThrottleVerdict = { blocked: false } | { blocked: true; retryAfterMs: number };

/**
 * The account a typed name resolves to, as far as device cookies are concerned: its
 * stable id and its routing tag. The tag is drawn when the account is created, so a
 * new account under a deleted one's name is another owner (bundled stores use the
 * name as the id).
 */
export interface AccountIdentity {
  id: string;
  tag: string;
}

export interface LoginThrottle {
  readonly limits: ResolvedLimits;
  /**
   * Before verifying the password, with the device cookie the browser sent if any and
   * the account the name resolves to (none: not an account, and no device cookie is
   * trusted). Over the account limit, a "not blocked" answer takes the one attempt of the
   * current delay. Throws StoreUnavailableError when it cannot tell.
   */
  check(username: string, ip: string, device?: string, account?: AccountIdentity): Promise<ThrottleVerdict>;
  /**
   * Counts a failed attempt; the same arguments as check. The sign-in paths call it
   * before they check the password (an attempt is a failure until it proves right), so
   * attempts sent all at once cannot all pass check before any of them is counted: the
   * answer is `blocked` when this attempt is one more than the address may make, and
   * then it has not counted against the account or the device cookie.
   */
  fail(username: string, ip: string, device?: string, account?: AccountIdentity): Promise<ThrottleVerdict>;
  /**
   * After an attempt was refused: counts it for the audit trail, per account (its user
   * id; none for a name that is not an account) and address, in a window. Returns the
   * count, this one included, so the caller records the 1st, 10th, 100th… only.
   */
  refused(userId: string | undefined, ip: string): Promise<number>;
  /**
   * After a successful login, whose attempt was counted by fail: forgets this
   * user+address's and the account's failures, takes the attempt back from the
   * address's count, retires the presented device cookie and returns a new one for this
   * browser, bound to the account (the newest DEVICES_PER_ACCOUNT are kept).
   */
  succeed(username: string, ip: string, device: string | undefined, account: AccountIdentity): Promise<string>;
  /**
   * The attempt fail counted proved right, and no sign-in follows (a password change):
   * takes it back from every counter it went to. The same arguments as fail.
   */
  passed(username: string, ip: string, device?: string, account?: AccountIdentity): Promise<void>;
  /** The account is deleted: its device cookies go with it. */
  forget(account: AccountIdentity): Promise<void>;
}

/**
 * Device cookies kept per account, the newest first: a browser signs in to an account
 * from few places, and a sign-in that does not send its cookie (a private window, a
 * script) must not pile up records for 90 days.
 */
export const DEVICES_PER_ACCOUNT = 10;

/** Who a device cookie belongs to, as its record says: the account's id and tag, hashed. */
export const deviceOwner = (a: AccountIdentity): string => sha256(`owner\n${a.id}\n${a.tag}`).slice(0, 22);

/** The first delay once over the account limit; it doubles with each further failure. */
const ACCOUNT_FIRST_DELAY_MS = 60_000;

/**
 * How long the account counter survives without a new failure. "Consecutive" failures
 * end with a success; a day of quiet also ends them. A name that is not an account
 * keeps its counter for one throttle window only (accountMemoryMs): a stream of typed
 * names from one address must not leave a day's worth of counters behind.
 */
const ACCOUNT_MEMORY_MS = 24 * 3_600_000;

export const accountMemoryMs = (account: AccountIdentity | undefined, limits: ResolvedLimits): number =>
  account ? ACCOUNT_MEMORY_MS : limits.windowMs;

/** Counter id for a user+address pair: hashed so any typed name gives a short, safe key. */
export const userIpId = (username: string, ip: string): string => sha256(`${username}\n${ip}`).slice(0, 22);

/** An address (ipGroup's answer) as the account's turn record names it: short, and not the address itself. */
export const addressId = (group: string): string => sha256(`address\n${group}`).slice(0, 16);

/** Counter id of the refused attempts of an account (or of names that are not one) from an address. */
export const refusedId = (userId: string | undefined, group: string): string =>
  sha256(`refused\n${userId ?? ''}\n${group}`).slice(0, 22);

/** Counter id for an account. */
export const accountId = (username: string): string => sha256(`account\n${username}`).slice(0, 22);

const DEVICE_RE = /^[A-Za-z0-9_-]{32}$/;
export const newDeviceToken = (): string => nanoid(32);
/** Record id of a device cookie: its hash, so what Redis holds cannot be replayed as a cookie. */
export const deviceId = (token: string | undefined): string | undefined =>
  token !== undefined && DEVICE_RE.test(token) ? sha256(`device\n${token}`).slice(0, 32) : undefined;

/** Delay before the next attempt, with `failures` (≥ the limit) failures counted. */
export function accountDelayMs(failures: number, limits: ResolvedLimits): number {
  const doublings = Math.min(30, Math.max(0, failures - limits.maxFailuresPerAccount));
  return Math.min(limits.accountDelayMaxMs, ACCOUNT_FIRST_DELAY_MS * 2 ** doublings);
}

/** The limits as configured (both main and the test server build throttles from this). */
export const limitsFromConfig = (config: {
  loginMaxFailuresPerUserIp: number;
  loginMaxFailuresPerIp: number;
  loginThrottleWindowMs: number;
  loginMaxFailuresPerAccount: number;
  loginAccountDelayMaxMs: number;
  loginDeviceLifetimeMs: number;
}): ThrottleLimits => ({
  maxFailuresPerUserIp: config.loginMaxFailuresPerUserIp,
  maxFailuresPerIp: config.loginMaxFailuresPerIp,
  windowMs: config.loginThrottleWindowMs,
  maxFailuresPerAccount: config.loginMaxFailuresPerAccount,
  accountDelayMaxMs: config.loginAccountDelayMaxMs,
  deviceLifetimeMs: config.loginDeviceLifetimeMs,
});

/**
 * Login throttling (DESIGN §8, §9): only failures count, per user name + client IP and
 * per client IP, in a fixed window that starts at the first failure. A success clears
 * the user+IP counter. While either counter is at its limit every attempt, even with
 * the right password, is refused until the window passes. Per user+IP rather than per
 * account, so an attacker elsewhere cannot lock the real user out.
 */
import { sha256 } from '../sessions/token.js';

export interface ThrottleLimits {
  maxFailuresPerUserIp: number;
  maxFailuresPerIp: number;
  windowMs: number;
}

export type ThrottleVerdict = { blocked: false } | { blocked: true; retryAfterMs: number };

export interface LoginThrottle {
  /** Before verifying the password. Throws StoreUnavailableError when it cannot tell. */
  check(username: string, ip: string): Promise<ThrottleVerdict>;
  /** After a failed attempt. */
  fail(username: string, ip: string): Promise<void>;
  /** After a successful login: forgets this user+IP's failures. */
  succeed(username: string, ip: string): Promise<void>;
}

/** Counter id for a user+IP pair: hashed so any typed name gives a short, safe key. */
export const userIpId = (username: string, ip: string): string => sha256(`${username}\n${ip}`).slice(0, 22);

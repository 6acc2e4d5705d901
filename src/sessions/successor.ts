/**
 * Rotation without storing a usable secret: the successor secret is derived from the
 * old secret and a random nonce. The store keeps `<successorHash> <nonce>` for the grace
 * period only, so racing refreshes presenting the same old cookie all recompute the
 * same successor, while a Redis dump (hashes + nonce) without the old cookie yields
 * nothing, and after the grace the nonce is gone.
 */
import { createHash, randomBytes } from 'node:crypto';
import { formatToken, sha256, TAG_LENGTH } from './token.js';

export const newNonce = (): string => randomBytes(16).toString('base64url');

/** 43 base64url chars (256 bits): the same shape as a fresh secret. */
export const deriveSuccessorSecret = (oldSecret: string, nonce: string): string =>
  createHash('sha256').update(`${oldSecret}:${nonce}`).digest('base64url').slice(0, 43);

/**
 * The successor of a presented `<tag>.<secret>` for a nonce (a fresh one for a new
 * rotation, the stored one for a racing refresh): its token, and the hash it is stored by.
 */
export function successorOf(token: string, nonce: string): { token: string; idHash: string } {
  const secret = deriveSuccessorSecret(token.slice(TAG_LENGTH + 1), nonce);
  return { token: formatToken(token.slice(0, TAG_LENGTH), secret), idHash: sha256(secret) };
}

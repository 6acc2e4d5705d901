/**
 * Rotation without storing a usable secret: the successor secret is derived from the
 * old secret and a random nonce. The store keeps `<successorHash> <nonce>` for the grace
 * period only, so racing refreshes presenting the same old cookie all recompute the
 * same successor, while a Redis dump (hashes + nonce) without the old cookie yields
 * nothing, and after the grace the nonce is gone.
 */
import { createHash, randomBytes } from 'node:crypto';
import { composeSecret, FAMILY_LENGTH, formatToken, mintId, SECRET_LENGTH, sha256, TAG_LENGTH } from './token.js';

export const newNonce = (): string => randomBytes(16).toString('base64url');

/** 43 base64url chars (256 bits): the same shape as a fresh secret. */
const deriveSuccessorSecret = (oldSecret: string, nonce: string): string =>
  createHash('sha256').update(`${oldSecret}:${nonce}`).digest('base64url').slice(0, 43);

/**
 * The successor of a presented `<tag>.<secret>` for a nonce (a fresh one for a new
 * rotation, the stored one for a racing refresh): its token, and the hash it is stored by.
 * The ID part is derived anew, the family part kept, so that every ID the session will
 * ever have names the same family (src/sessions/token.ts).
 */
export function successorOf(token: string, nonce: string): { token: string; idHash: string } {
  const old = token.slice(TAG_LENGTH + 1);
  const secret = composeSecret(deriveSuccessorSecret(old, nonce), old.slice(SECRET_LENGTH - FAMILY_LENGTH));
  return { token: formatToken(token.slice(0, TAG_LENGTH), secret), idHash: sha256(secret) };
}

/**
 * The successor of a rotation that must cut the session off its past (a password change):
 * a fresh family, so an ID from before it is merely unknown afterwards, and cannot be
 * replayed to revoke the session the owner has just secured.
 */
export function detachedSuccessorOf(token: string): { token: string; idHash: string } {
  const { token: next, idHash } = mintId(token.slice(0, TAG_LENGTH));
  return { token: next, idHash };
}

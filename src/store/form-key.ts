/**
 * The form CSRF master key shared through Redis, for FORM_CSRF_KEY unset: the first
 * node to start writes 256 random bits with SET NX, every node (that one included)
 * then uses whatever the key holds. Without it each process would sign the pages'
 * forms with its own key, and a form rendered by one node and posted to another
 * (rolling restart, failover, lost sticky cookie) would be refused.
 *
 * One key, single-key commands only, so it works the same on a standalone Redis,
 * behind Sentinel and on a Cluster. The key never expires: the server refuses an
 * evicting Redis, and a lost key only means the next node to start writes a new one.
 * Errors name the Redis key, never its value.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient } from './connection.js';
import type { KeySpace } from './keys.js';

const KEY_BYTES = 32;
const STORED_RE = /^[A-Za-z0-9_-]{43}$/;

/** Reads the shared key, creating it first if no node has yet. */
export async function sharedFormKey(client: RedisClient, keys: KeySpace): Promise<Buffer> {
  const key = keys.formKey();
  // A second round only if the key vanished between our SET NX and our GET (deleted
  // by an operator replacing it): then our next SET NX wins or reads the new one.
  for (let round = 0; round < 3; round++) {
    const mine = randomBytes(KEY_BYTES).toString('base64url');
    if ((await client.set(key, mine, 'NX')) === 'OK') return Buffer.from(mine, 'base64url');
    const theirs = await client.get(key);
    if (theirs === null) continue;
    if (!STORED_RE.test(theirs)) {
      throw new Error(`the shared form CSRF key in Redis (${key}) is malformed; delete it and start again`);
    }
    return Buffer.from(theirs, 'base64url');
  }
  throw new Error(`the shared form CSRF key in Redis (${key}) keeps disappearing`);
}

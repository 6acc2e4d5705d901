/**
 * A session by handle, for both stores: the handle carries the user's tag, so the
 * user's own list (pruned of dead sessions) is the only place to look.
 */
import { parseHandle } from '../sessions/token.js';
import type { SessionInfo, SessionStore } from '../sessions/types.js';

export async function findByHandle(store: Pick<SessionStore, 'list'>, handle: string): Promise<SessionInfo | null> {
  const h = parseHandle(handle);
  if (!h) return null;
  return (await store.list(h.tag)).find((s) => s.handle === handle) ?? null;
}

/**
 * The session a provider sign-in ends with: the same record and cookie as a password
 * login with "keep me signed in", plus how the user signed in. The lifecycle (fixation
 * defence, creation, its audit events) is the SessionService's, as for any login.
 */
import type { Context } from 'koa';
import type { AuthService } from '../auth/auth-service.js';
import type { Sessions } from '../http/middleware/session.js';
import { compactUserAgent } from '../http/user-agent.js';
import type { Metrics } from '../metrics.js';
import type { SessionStore } from '../sessions/types.js';
import type { User } from '../users/types.js';

export interface StartSessionDeps {
  store: SessionStore;
  sessions: Sessions;
  /** For its audit/log events. */
  auth: AuthService;
  metrics?: Metrics;
}

/**
 * The new session's handle; null: a revocation of all the user's sessions landed
 * meanwhile, nothing was issued. `beforeIssue` runs between the creation and the cookie:
 * what must exist for the session to be ended later (its provider-session index entry)
 * is written there, and when it fails the session is revoked again and no cookie goes out.
 */
export async function startSession(
  ctx: Context,
  d: StartSessionDeps,
  user: User,
  authMethod: `oidc:${string}`,
  beforeIssue?: (handle: string) => Promise<void>,
): Promise<string | null> {
  const { service } = d.sessions;
  const ip = ctx.state.clientIp as string;
  const actor = { by: 'user' as const, ip };
  // A session this browser already had ends: a fresh ID at every sign-in (fixation).
  const previous = d.sessions.token(ctx);
  if (previous) await service.logout(previous, undefined, actor, 'login');
  // Read before create(): a logout-everywhere or account deletion after this read
  // bumps the epoch, and create() refuses.
  const epoch = await service.epoch(user.tag);
  const issued = await service.start(
    {
      userId: user.id, username: user.username, tag: user.tag, remember: true, ip,
      userAgent: compactUserAgent(ctx.get('User-Agent')), expectedEpoch: epoch, authMethod,
    },
    actor,
  );
  if (!issued) {
    d.metrics?.logins.inc({ result: 'failed' });
    await d.auth.event({ type: 'login.failed', username: user.username, ip, reason: 'revoked_meanwhile' }, 'login raced a revocation');
    return null;
  }
  const handle = issued.session.handle;
  if (beforeIssue) {
    try {
      await beforeIssue(handle);
    } catch (err) {
      // A revocation is admitted by a full Redis; if even that fails, nobody holds the
      // session's ID (no cookie was sent) and it lapses at its idle deadline.
      await service.revokeHandles([handle], 'sign_in_incomplete', { by: authMethod, ip }, user.username).catch(() => {});
      throw err;
    }
  }
  d.sessions.issue(ctx, issued.token, issued.session, true);
  d.metrics?.logins.inc({ result: 'ok' });
  await d.auth.event({ type: 'login.ok', username: user.username, userId: user.id, handle, ip, reason: authMethod }, 'login');
  return handle;
}

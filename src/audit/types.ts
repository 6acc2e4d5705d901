/**
 * Lifecycle events (issue: audit trail). The server and the CLI append them; the Redis
 * implementation writes a capped stream (XADD … MAXLEN ~). Never contains a secret:
 * sessions are named by handle.
 */
export type AuditEventType =
  | 'login.ok'
  | 'login.failed'
  | 'login.throttled'
  | 'session.created'
  | 'session.refreshed'
  | 'session.revoked'
  | 'session.reuse_detected'
  | 'session.reauthenticated'
  | 'session.bound' // a browser bound the session to a device key (DBSC registration)
  | 'session.proved' // a signed refresh: the device proved its key, the ID rotated
  | 'session.proof_refused' // a refresh signed wrongly, by another key, or for a spent challenge
  | 'password.changed'
  | 'user.created'
  | 'user.deleted';

export interface AuditEvent {
  type: AuditEventType;
  username?: string;
  userId?: string;
  handle?: string;
  ip?: string;
  /** e.g. logout, logout_all, kill, password_change, replay, max_sessions, user_deleted */
  reason?: string;
  /** Who did it: 'user', 'admin-cli', 'system'. */
  by?: string;
  count?: number;
}

export interface AuditLog {
  /**
   * Best effort: an audit failure never fails the request (it is logged and counted
   * instead, src/audit/observed.ts). May reject; callers must not let that escape.
   */
  append(event: AuditEvent): Promise<void>;
}

export const noAudit: AuditLog = Object.freeze({ append: async () => {} });

/**
 * What a command gets to work with. Built once per run by connect.ts from the config
 * (the same stores the server uses, over the same key layout), closed when it returns.
 */
import type { Readable, Writable } from 'node:stream';
import type { RedisAuditLog } from '../store/redis-audit.js';
import type { SessionService } from '../sessions/service.js';
import type { SessionInfo } from '../sessions/types.js';
import type { KeySpace } from '../store/keys.js';
import type { LoginThrottle } from '../throttle/types.js';
import type { UserStore } from '../users/types.js';
import type { UserTags } from '../users/user-tags.js';
import type { KeyBatch, RedisClient } from './scan.js';

export interface Io {
  stdout: Writable;
  /** `isTTY`: a person is watching, so long scans show progress (progress.ts). */
  stderr: Writable & { isTTY?: boolean };
  stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  /** Milliseconds on a monotonic clock, for how long a scan has run (performance.now). */
  now?: () => number;
}

export interface CliContext {
  io: Io;
  redis: RedisClient;
  keys: KeySpace;
  /** The session lifecycle, over the same store the server uses; audited as `admin-cli`. */
  sessions: SessionService;
  users: UserStore;
  /** Tags of users an app keeps in its own tables (the library's signIn by user id). */
  appUsers: UserTags;
  /** The login throttle (`user delete` removes the account's device cookies). */
  throttle?: LoginThrottle;
  audit: RedisAuditLog;
  /** SESSION_REFRESH: whether an idle session is stale (refreshable) or over. */
  refreshEnabled: boolean;
  passwordMinLength: number;
  hashPassword(password: string): Promise<string>;
  /** The session records behind one SCAN batch (missing ones skipped). */
  readSessions(batch: KeyBatch): Promise<SessionInfo[]>;
  /** A second connection, for a blocking XREAD; closed with the context. */
  blockingConnection(): Promise<RedisClient>;
  /** Ends when the user interrupts (SIGINT/SIGTERM): `events --follow` stops on it. */
  interrupted: AbortSignal;
}

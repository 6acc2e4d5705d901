/**
 * The package's stable surface (semver): sessions for a Koa app in a few lines, the whole
 * server, and the types and errors they speak. Everything else the server is built from
 * is in `sliding-sessions/internals` (unstable before 1.0). test/unit/exports.test.ts
 * pins this list: growing it is a decision.
 */
import './http/middleware/session-data.js'; // ctx.session's type for apps: the .d.ts keeps side-effect imports only
export { slidingSessions, type SlidingSessions, type SlidingSessionsOptions } from './library.js';
export type { Authenticated, AuthenticateOptions } from './http/middleware/session.js';
export type { SessionInfo } from './sessions/types.js';
export { AppError, type ErrorCode, StoreFullError, StoreUnavailableError } from './errors.js';
export type { AuditEvent, AuditLog } from './audit/types.js';
export { createLogger, type Logger } from './log.js';
// The whole server (what `npm start` runs), and its settings.
export { createApp } from './app.js';
export { type Config, type Env, loadConfig } from './config.js';

/**
 * `sliding-sessions/internals`: every piece the standalone server is assembled from, for
 * apps that assemble them themselves (docs/library.md). NOT covered by semver before 1.0:
 * names here may change in any minor release. The stable surface is the main entry
 * (src/index.ts).
 */
import './http/middleware/session-data.js'; // ctx.session's type for apps: the .d.ts keeps side-effect imports only
export * from './index.js';
export { MemoryUserTags, RedisUserTags, type UserTags } from './users/user-tags.js';

export type { AppDeps, AppHandle } from './app.js';
export { ConfigError, policyFromConfig, usesRedis } from './config.js';
export { type Clock, ManualClock, redisTime, systemClock } from './clock.js';

// The session lifecycle, and the session layer for Koa over it (one authenticate path;
// koa-session only as the ctx.session data adapter).
export { type Actor, type Owner, type RevokeAllReason, SessionService, type SessionServiceDeps } from './sessions/service.js';
export { createSessions, SessionRequired, type Sessions, type SessionsOptions } from './http/middleware/session.js';
export { type CookieSettings, cookieSettings, readSessionCookie } from './http/cookies.js';
export { csrfProtection, type CsrfOptions, isSameOriginRequest, type OriginPolicy } from './http/middleware/csrf.js';
export { errorHandler, type ErrorRenderer } from './http/middleware/error-handler.js';
export { securityHeaders } from './http/middleware/security-headers.js';
export { AuthService, type AuthDeps, type LoginInput, type LoginOutcome } from './auth/auth-service.js';
export { Accounts, type AccountsDeps } from './auth/accounts.js';
export { apiRouter, type ApiDeps } from './http/routes/api.js';
export { type Lifecycle, opsRouter } from './http/routes/ops.js';
export { clientIp } from './http/client-ip.js';
export { listen, type ListenOptions, type RunningServer } from './http/server.js';

// Session stores.
export type {
  CreateInput, IssuedSession, LoginRequiredReason, RefreshResult, RotateOptions,
  SessionPolicy, SessionRef, SessionStore, ValidateResult,
} from './sessions/types.js';
export { MemoryStore, type MemoryStoreOptions } from './store/memory-store.js';
export { RedisStore, type RedisStoreOptions } from './store/redis-store.js';
export { CachedStore, type CachedStoreOptions } from './store/cached-store.js';
export { type ConnectionOptions, createRedisConnection, type RedisClient } from './store/connection.js';
export { type KeySpace, keySpace } from './store/keys.js';
export { redisSessionStore, type StackOptions } from './store/stack.js';
// What a store of your own mints IDs and rotation successors with.
export { mintId, type MintedId, parseToken } from './sessions/token.js';
export { newNonce, successorOf } from './sessions/successor.js';

// Users, passwords, login throttling.
export type { User, UserRecord, UserStore } from './users/types.js';
export { MemoryUserStore } from './users/memory-user-store.js';
export { RedisUserStore } from './users/redis-user-store.js';
export { checkPasswordInput, checkPasswordStrength, OWASP_ARGON2ID, PasswordHasher } from './users/password.js';
export { normalizeUsername } from './users/username.js';
export type { AccountIdentity, LoginThrottle, ResolvedLimits, ThrottleLimits, ThrottleVerdict } from './throttle/types.js';
export { MemoryThrottle } from './throttle/memory-throttle.js';
export { RedisThrottle } from './throttle/redis-throttle.js';
// OpenID Connect sign-in (docs/oidc.md).
export { discoverOidc, type OidcClient, OidcDiscoveryError } from './oidc/client.js';
export type { OidcConfig } from './oidc/config.js';
export { oidcRouter, type OidcDeps } from './oidc/routes.js';
export { oidcStores, setupOidc } from './oidc/setup.js';

// Operations.
export { noAudit } from './audit/types.js';
export { RedisAuditLog } from './store/redis-audit.js';
export { createMetrics, instrumentStore, type Metrics, observeCache } from './ops/metrics.js';

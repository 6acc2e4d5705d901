/**
 * createApp(deps): the middleware order and the routers, no I/O. The standalone server
 * (main.ts) and the tests assemble the same app from the same exports a library user
 * has (src/index.ts).
 *
 *   security headers, client IP, error handler (one middleware) → ops → JSON API → pages → 404/405
 */
import Koa from 'koa';
import { observedAudit } from './audit/observed.js';
import { type AuditLog, noAudit } from './audit/types.js';
import type { Config } from './config.js';
import { refusalCause } from './errors.js';
import { AuthService } from './auth/auth-service.js';
import { clientIp } from './http/client-ip.js';
import { cookieSettings } from './http/cookies.js';
import { deviceBindingFor } from './http/device-binding.js';
import { createFormCsrf } from './http/form-csrf.js';
import { errorHandler } from './http/middleware/error-handler.js';
import { fallthrough } from './http/middleware/fallthrough.js';
import { securityHeaderSetter } from './http/middleware/security-headers.js';
import { type Sessions, createSessions } from './http/middleware/session.js';
import { apiRouter } from './http/routes/api.js';
import { type Lifecycle, opsRouter } from './http/routes/ops.js';
import { pagesRouter } from './http/routes/pages.js';
import { type Logger, createLogger } from './log.js';
import { type Metrics, createMetrics, instrumentStore, observeCache } from './ops/metrics.js';
import { SessionService } from './sessions/service.js';
import type { SessionStore } from './sessions/types.js';
import { type OidcDeps, oidcRouter } from './oidc/routes.js';
import { OIDC_REAUTH_PATH } from './oidc/config.js';
import { StoreFullWatch } from './ops/store-full.js';
import { CachedStore } from './store/cached-store.js';
import { toStoreError } from './store/connection.js';
import type { LoginThrottle } from './throttle/types.js';
import { PasswordHasher } from './users/password.js';
import type { UserStore } from './users/types.js';

export interface AppDeps {
  config: Config;
  store: SessionStore;
  users: UserStore;
  throttle: LoginThrottle;
  hasher?: PasswordHasher;
  log?: Logger;
  metrics?: Metrics;
  audit?: AuditLog;
  lifecycle?: Lifecycle;
  /** Master key of the form CSRF tokens when FORM_CSRF_KEY is unset (main.ts shares one through Redis). */
  formCsrfKey?: Buffer;
  /** OpenID Connect sign-in (src/oidc/setup.ts); unset = off, its paths are 404. */
  oidc?: OidcDeps;
}

export interface AppHandle {
  app: Koa;
  config: Config;
  /** The store as the app uses it (instrumented for metrics). */
  store: SessionStore;
  users: UserStore;
  throttle: LoginThrottle;
  hasher: PasswordHasher;
  log: Logger;
  metrics: Metrics;
  audit: AuditLog;
  lifecycle: Lifecycle;
  /** Store refusals by cause, and whether Redis is full (maxmemory). */
  storeFull: StoreFullWatch;
  sessions: Sessions;
  auth: AuthService;
}

export function createApp(deps: AppDeps): AppHandle {
  const { config, users, throttle } = deps;
  const log = deps.log ?? createLogger({ level: config.logLevel });
  const metrics = deps.metrics ?? createMetrics();
  const lifecycle = deps.lifecycle ?? { draining: false };
  const hasher =
    deps.hasher ?? new PasswordHasher({ concurrency: config.passwordHashConcurrency, queueLimit: config.passwordHashQueue });
  const storeFull = new StoreFullWatch({
    log,
    metrics,
    // App data for a record that cannot exist: Redis refuses it whole while full
    // (src/store/scripts.ts) and writes nothing otherwise.
    probe: () => deps.store.updateData({ tag: 'readinessprb', idHash: 'probe' }, {}),
  });
  const store = instrumentStore(deps.store, metrics, storeFull);
  if (deps.store instanceof CachedStore) observeCache(metrics, deps.store);
  const audit = observedAudit(deps.audit ?? noAudit, (err, event) => {
    const cause = refusalCause(toStoreError(err));
    metrics.auditFailures.inc({ cause });
    // The event itself (never a secret), so the trail survives in the logs.
    log.warn({ ...event, event: 'audit.failed', cause, err: (err as Error)?.message }, 'audit append failed');
  });

  const app = new Koa();
  // Client IPs come from TRUST_PROXY hops (http/client-ip.ts), never from koa's proxy mode.
  app.proxy = false;
  app.on('error', (err: unknown) => log.error({ err }, 'unhandled error after the response started'));

  const service = new SessionService({ store, log, audit, reauthWindowMs: config.reauthWindowMs, metrics });
  const csrfMaster = config.formCsrfKey ?? deps.formCsrfKey;
  const csrf = createFormCsrf(csrfMaster);
  const cookie = cookieSettings(config.cookieSecure);
  const binding = deviceBindingFor(config, cookie.name, csrfMaster);
  const sessions = createSessions(app, { service, cookie, ...(binding ? { binding } : {}) });
  const auth = new AuthService({ sessions: service, users, hasher, throttle, log, metrics, passwordMinLength: config.passwordMinLength });
  const origin = { publicOrigin: config.publicOrigin, secure: config.cookieSecure };

  // What every request needs first, in one middleware rather than three (each koa
  // middleware layer is a bound dispatch and a promise per request): the security
  // headers (set before anything can fail, so error answers carry them too), the
  // client IP, then the error handler around everything else.
  const setSecurityHeaders = securityHeaderSetter({ hsts: config.cookieSecure });
  const handleErrors = errorHandler(log, { onError: (err) => storeFull.refused(err), pages: true });
  app.use(function front(ctx, next) {
    setSecurityHeaders(ctx.res);
    ctx.state.clientIp = clientIp(ctx.req, config.trustProxy);
    return handleErrors(ctx, next);
  });
  // The ops router only sees its own paths (a superset of what its routes match: any
  // case, optional trailing slash), so every other request skips its route matching.
  const ops = opsRouter({ store, metrics, lifecycle, storeFull, readyTimeoutMs: Math.max(1000, 2 * config.redisCommandTimeoutMs) }).routes();
  const OPS = /^\/(?:healthz|readyz|metrics)\/?$/i;
  app.use(function opsRoutes(ctx, next) {
    return OPS.test(ctx.path) ? ops(ctx as Parameters<typeof ops>[0], next) : next();
  });
  app.use(apiRouter({ sessions, auth, origin }).routes());
  // OpenID Connect sign-in: pages (HTML errors), before the others.
  if (deps.oidc) {
    const hashPassword = (password: string) => hasher.hash(password);
    app.use(oidcRouter({ ...deps.oidc, sessions, users, auth, hashPassword, log, metrics, cookieSecure: config.cookieSecure }).routes());
  }
  app.use(pagesRouter({ sessions, auth, origin, csrf, cookieSecure: config.cookieSecure, oidcName: deps.oidc?.client.settings.name, oidcReauthPath: deps.oidc ? OIDC_REAUTH_PATH : undefined }).routes());
  app.use(fallthrough);

  return { app, config, store, users, throttle, hasher, log, metrics, audit, lifecycle, storeFull, sessions, auth };
}

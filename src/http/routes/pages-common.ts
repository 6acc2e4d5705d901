/** What every page route shares: its dependencies, HTML responses, the parsed form. */
import type { Context, Middleware } from 'koa';
import type { AuthService } from '../../auth/auth-service.js';
import type { FormCsrf } from '../form-csrf.js';
import { type FormFields, readFormBody } from '../form-body.js';
import type { OriginPolicy } from '../middleware/csrf.js';
import type { Sessions } from '../middleware/session.js';

export { PAGE_CSP, PAGE_REFERRER_POLICY, sendPage } from '../send-page.js';

export interface PagesDeps {
  sessions: Sessions;
  auth: AuthService;
  origin: OriginPolicy;
  csrf: FormCsrf;
  /** COOKIE_SECURE: the pre-session cookie gets `__Host-` and Secure like the session's. */
  cookieSecure: boolean;
  /** OIDC_NAME when OpenID Connect sign-in is on (the login page's button). */
  oidcName?: string | undefined;
  /** Where the confirm step's "Confirm with <provider>" goes, when OpenID Connect is on. */
  oidcReauthPath?: string | undefined;
}

export const formBody: Middleware = async (ctx, next) => {
  ctx.state.form = await readFormBody(ctx);
  await next();
};

/** The fields parsed by `formBody`. */
export const form = (ctx: Context): FormFields => ctx.state.form as FormFields;

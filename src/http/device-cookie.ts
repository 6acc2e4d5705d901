/**
 * The login throttle's device cookie: set by every successful sign-in, sent back on the
 * next, so a browser that signed in to an account before is not held up by guesses
 * against that account from elsewhere (src/throttle/types.ts). HttpOnly and SameSite:
 * scripts and other sites never see it. It outlives the session on purpose; it proves
 * nothing but an earlier sign-in and is only ever read by the login routes.
 */
import type { Context } from 'koa';

export interface DeviceCookie {
  /** The value this browser sent, if any (checked by the throttle, not here). */
  read(ctx: Context): string | undefined;
  set(ctx: Context, device: { token: string; maxAgeMs: number }): void;
}

export function deviceCookie(secure: boolean): DeviceCookie {
  const name = secure ? '__Host-did' : 'did';
  const attrs = `; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  return {
    read: (ctx) => ctx.cookies.get(name) || undefined,
    set: (ctx, { token, maxAgeMs }) => {
      ctx.append('Set-Cookie', `${name}=${token}${attrs}; Max-Age=${Math.floor(maxAgeMs / 1000)}`);
    },
  };
}

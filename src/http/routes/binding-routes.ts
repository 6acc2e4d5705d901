/**
 * The two DBSC endpoints (docs/security.md, "Device binding"). Neither runs the cross-site
 * check: each acts only on the caller's own session and only on a signature by a key the
 * request cannot have forged from another site (the registration's challenge is bound
 * to the session by a MAC; a refresh must be signed by the key bound to it).
 *
 * What a refusal answers is chosen for the browser: 403 with a fresh challenge asks it to
 * sign again (a spent or expired challenge), any other 4xx ends its DBSC session (an
 * unknown or unbound session, a proof that does not verify), and nothing is changed.
 */
import type { Context } from 'koa';
import type Router from 'koa-router';
import { REFRESH_CHALLENGE_TTL_MS } from '../../binding/challenge.js';
import { challengeHeader, parseProofHeader, parseSessionId } from '../../binding/headers.js';
import { ProofError, verifyRefresh, verifyRegistration } from '../../binding/proof.js';
import { alreadyBound, challengeRequired, loginRequired, notBound, proofInvalid } from '../../errors.js';
import type { SessionInfo } from '../../sessions/types.js';
import { REFRESH_PATH, REGISTER_PATH, type DeviceBinding } from '../device-binding.js';
import type { Sessions } from '../middleware/session.js';

export function bindingRoutes(router: Router, sessions: Sessions, binding: DeviceBinding): void {
  const { service } = sessions;
  const actor = (ctx: Context) => ({ by: 'user' as const, ip: ctx.state.clientIp as string | undefined });

  /** Verifies a proof, auditing a refusal (who tries keys on a session is worth knowing). */
  const verified = async <T>(ctx: Context, session: SessionInfo, status: 400 | 401, verify: () => T): Promise<T> => {
    try {
      return verify();
    } catch (err) {
      if (!(err instanceof ProofError)) throw err;
      await service.proofRefused(session, err.reason, actor(ctx));
      throw proofInvalid(status, `The device proof was refused (${err.reason}).`);
    }
  };

  // Registration: the browser proves a new key for the session it signed in with. A
  // stale session may bind (its next request refreshes it); a bound one keeps its key.
  router.post(REGISTER_PATH, sessions.authenticate({ stale: 'allow' }), async (ctx) => {
    const { session, ref, now } = sessions.auth(ctx);
    if (session.boundAt !== undefined) throw alreadyBound();
    const jwt = parseProofHeader(ctx.get('Secure-Session-Response') || undefined);
    if (!jwt) throw proofInvalid(400, 'Send the signed registration in Secure-Session-Response.');
    const proof = await verified(ctx, session, 400, () => verifyRegistration(jwt));
    const check = binding.challenges.check(proof.jti, 'register', session.handle, '', now);
    if (check !== 'ok') {
      await service.proofRefused(session, `challenge_${check}`, actor(ctx));
      throw proofInvalid(400, `The registration challenge is ${check === 'expired' ? 'expired' : 'not this session\'s'}.`);
    }
    const bound = await service.bind(ref, proof.key, session, actor(ctx));
    if (bound.result === 'already') throw alreadyBound();
    if (bound.result === 'gone') throw loginRequired(401);
    binding.setCookie(ctx);
    ctx.body = binding.config(ctx, session.handle);
  });

  // Refresh: a proof signed by the bound key rotates the ID and starts the proof clock
  // again. It is the one route a session past its proof reaches (the store's answer
  // before the binding check); the idle and absolute clocks apply as everywhere.
  router.post(REFRESH_PATH, async (ctx) => {
    await sessions.load(ctx);
    const token = sessions.token(ctx);
    const r = sessions.presented(ctx);
    if (!token || !r || r.state === 'login_required') throw loginRequired(401);
    const { session } = r;
    const id = parseSessionId(ctx.get('Sec-Secure-Session-Id') || undefined);
    if (session.boundAt === undefined || (id !== undefined && id !== session.handle)) throw notBound();
    const provedAt = session.boundAt;
    const challenge = (now: number, at: number) =>
      challengeRequired(challengeHeader(binding.challenges.issue('refresh', session.handle, String(at), now, REFRESH_CHALLENGE_TTL_MS), session.handle));
    /** A racing proof renewed the session first: a challenge for the proof time it left. */
    const askAgain = async (presented: string) => {
      const again = await service.lookup(presented);
      if (again.state === 'login_required' || again.session.boundAt === undefined) return loginRequired(401);
      return challenge(again.now, again.session.boundAt);
    };
    const jwt = parseProofHeader(ctx.get('Secure-Session-Response') || undefined);
    if (!jwt) throw challenge(r.now, provedAt);
    const key = await service.boundKey(r.ref);
    // None: a racing refresh rotated the record between the validation and this read.
    if (!key) throw await askAgain(token);
    const proof = await verified(ctx, session, 401, () => verifyRefresh(jwt, key));
    const check = binding.challenges.check(proof.jti, 'refresh', session.handle, String(provedAt), r.now);
    if (check !== 'ok') {
      await service.proofRefused(session, `challenge_${check}`, actor(ctx));
      throw challenge(r.now, provedAt);
    }
    const renewed = await service.proved(token, provedAt, actor(ctx));
    if (!renewed.ok) throw renewed.reason === 'proof_used' ? await askAgain(token) : loginRequired(401);
    sessions.issue(ctx, renewed.token, renewed.session, service.persistent(renewed.session));
    binding.setCookie(ctx);
    ctx.body = binding.config(ctx, session.handle);
  });
}

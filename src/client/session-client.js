/**
 * sliding-sessions/client: a fetch for the JSON API that follows the session cycle.
 * A stale session (401 refresh_required) is refreshed with one POST /auth/refresh and
 * the request retried once; a dead one (login_required) is reported once and rejected.
 *
 * Dependency-free and served as-is at /assets/session-client.js (an ES module, allowed
 * by the pages' `script-src 'self'`). Types: session-client.d.ts.
 */

const REFRESH_PATH = '/auth/refresh';
const LOCK_NAME = 'sliding-sessions-refresh';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** Every rejection the client makes itself: `code` is the server's error code when it sent one. */
export class SessionError extends Error {
  constructor(code, message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SessionError';
    this.code = code;
    this.status = details.status;
    this.reason = details.reason;
    this.retryAfter = details.retryAfter;
  }
}

export function createSessionClient({ baseUrl = '', onLoginRequired, fetch: fetchImpl } = {}) {
  const base = String(baseUrl).replace(/\/+$/, '');
  const credentials = isCrossOrigin(base) ? 'include' : 'same-origin';
  const send = fetchImpl ?? ((req) => globalThis.fetch(req));
  const locks = globalThis.navigator?.locks;

  // Refreshes seen to complete. A 401 for a request sent before the latest one is an
  // answer to the old ID, not a new lapse: it is retried, not refreshed again.
  let generation = 0;
  let inflight = null;
  // Requests sent so far, and how many had been sent when onLoginRequired was called:
  // the lapse ends when a request sent after the call succeeds (the user signed in).
  let sent = 0;
  let notifiedAt = -1;

  async function attempt(req) {
    const seq = ++sent;
    const gen = generation;
    const res = await send(req.clone());
    return { res, seq, gen, code: await errorCode(res) };
  }

  function refresh(req) {
    if (inflight) return inflight.then(() => ({}));
    // Another tab of this origin may be rotating the same cookie: one at a time, and
    // whoever comes second first retries, since the shared cookie jar may already
    // hold the new ID (a second rotation would lean on the grace period or past it
    // look like a replay, which revokes the session).
    const run = locks ? () => locks.request(LOCK_NAME, () => recheckThenRotate(req)) : rotate;
    inflight = run().finally(() => {
      inflight = null;
    });
    return inflight;
  }

  async function recheckThenRotate(req) {
    let again;
    try {
      again = await attempt(req);
    } catch {
      // This caller's failure (say, its abort signal) must not fail the others'
      // refresh: they get the refresh's own outcome.
      return rotate();
    }
    if (isRefreshRequired(again)) {
      await again.res.body?.cancel();
      return rotate();
    }
    // A 503 tells nothing about the cookie; anything else means it no longer needs a refresh.
    if (again.res.status !== 503) generation++;
    return { answer: again };
  }

  async function rotate() {
    const res = await send(
      new Request(base + REFRESH_PATH, { method: 'POST', credentials, headers: { 'Content-Type': 'application/json' } }),
    );
    const code = await errorCode(res);
    if (res.ok) {
      generation++;
      await res.body?.cancel();
      return {};
    }
    throw code === 'login_required' ? loginRequired(res, 'refresh_refused') : failure(res, code);
  }

  function loginRequired(res, reason) {
    if (notifiedAt < 0) {
      notifiedAt = sent;
      if (onLoginRequired) {
        try {
          onLoginRequired(reason);
        } catch (err) {
          // The app's handler failing must not change what the request answers.
          (globalThis.reportError ?? console.error)(err);
        }
      }
    }
    return new SessionError('login_required', 'The session has ended; please sign in.', { status: res.status, reason });
  }

  function settle({ res, seq, code }) {
    if (code === 'login_required' && (res.status === 401 || res.status === 403)) {
      throw loginRequired(res, res.status === 403 ? 'refresh_refused' : 'session_ended');
    }
    // The store is down or the node draining: says nothing about the session, so it
    // is neither refreshed nor logged out.
    if (res.status === 503) throw failure(res, code);
    if (res.ok && seq > notifiedAt) notifiedAt = -1;
    return res;
  }

  async function sessionFetch(input, init) {
    const req = prepare(input, init ?? {}, base, credentials);
    let outcome = await attempt(req);
    if (isRefreshRequired(outcome)) {
      await outcome.res.body?.cancel();
      let answer;
      if (inflight || outcome.gen === generation) ({ answer } = await refresh(req));
      outcome = answer ?? (await attempt(req));
    }
    return settle(outcome);
  }

  return { fetch: sessionFetch };
}

function prepare(input, init, base, credentials) {
  const fromRequest = input instanceof Request ? input : undefined;
  const target = typeof input === 'string' && !/^[a-z][a-z\d+.-]*:/i.test(input) ? base + input : input;
  const headers = new Headers(init.headers ?? fromRequest?.headers);
  const method = String(init.method ?? fromRequest?.method ?? 'GET').toUpperCase();
  const body = 'body' in init ? init.body : fromRequest?.body;
  // The API refuses unsafe requests without a JSON type, even bodiless ones (415).
  if (!SAFE_METHODS.has(method) && !headers.has('Content-Type') && (body == null || typeof body === 'string')) {
    headers.set('Content-Type', 'application/json');
  }
  return new Request(target, { ...init, headers, credentials: init.credentials ?? credentials });
}

function isCrossOrigin(base) {
  if (!base) return false;
  const here = globalThis.location?.origin;
  try {
    return new URL(base, here).origin !== here;
  } catch {
    return true;
  }
}

const isRefreshRequired = (o) => o.res.status === 401 && o.code === 'refresh_required';

/** The `error` of a JSON error body on the statuses the cycle cares about. */
async function errorCode(res) {
  if (res.status !== 401 && res.status !== 403 && res.status !== 503) return undefined;
  if (!/json/i.test(res.headers.get('Content-Type') ?? '')) return undefined;
  try {
    const body = await res.clone().json();
    return typeof body?.error === 'string' ? body.error : undefined;
  } catch {
    return undefined;
  }
}

function failure(res, code) {
  const retry = Number(res.headers.get('Retry-After'));
  return new SessionError(code ?? `http_${res.status}`, `The server answered ${res.status}; try again shortly.`, {
    status: res.status,
    retryAfter: Number.isFinite(retry) && retry > 0 ? retry : undefined,
  });
}

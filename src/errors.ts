/**
 * The one error model. Everything that can go wrong on purpose is an AppError carrying
 * its HTTP status, a stable machine code and a message safe to show; the error handler
 * middleware renders it (JSON or HTML) in one place. Anything else is a bug: a 500 whose
 * body says nothing about internals.
 */
export type ErrorCode =
  | 'bad_request'
  | 'invalid_credentials'
  | 'too_many_attempts'
  | 'refresh_required'
  | 'login_required'
  | 'csrf'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'weak_password'
  | 'reauthentication_required'
  | 'store_unavailable'
  | 'internal_error';

/**
 * Apps raise their own errors through the same model (`new AppError(403, 'forbidden',
 * …)`), so any string is accepted; the `string & {}` keeps the built-in codes offered by
 * editors and exact in comparisons instead of widening the union to plain `string`.
 */
type AnyErrorCode = ErrorCode | (string & {});

export class AppError extends Error {
  readonly status: number;
  readonly code: AnyErrorCode;
  /** Extra response headers (Retry-After, …). */
  readonly headers: Readonly<Record<string, string>>;
  /** Whether `message` may be shown to the client (always true below 500). */
  readonly expose: boolean;

  constructor(
    status: number,
    code: AnyErrorCode,
    message: string,
    opts: { headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.headers = Object.freeze({ ...(opts.headers ?? {}) });
    this.expose = status < 500 || code === 'store_unavailable';
  }

  toJSON(): { error: AnyErrorCode; message: string } {
    return { error: this.code, message: this.expose ? this.message : 'Internal error' };
  }
}

/**
 * The store did not answer (connection down, timeout, READONLY, …). Never turned into
 * "no session" or "logged in" (docs/design.md, invariant 4).
 */
export class StoreUnavailableError extends AppError {
  constructor(cause?: unknown, message = 'The session store is unavailable; try again shortly.', retryAfterSeconds = 1) {
    super(503, 'store_unavailable', message, {
      headers: { 'Retry-After': String(retryAfterSeconds) },
      cause,
    });
  }
}

/**
 * Redis is at `maxmemory` (noeviction) and refused a write that needs memory: a login,
 * a refresh, app data, a throttle counter. Reads, slides and revocations still work, so
 * this is the same 503 to the client but a different incident for the operator. Memory
 * comes back when sessions expire or an operator frees it, not within a second: the
 * client is asked to wait longer than for a dropped connection.
 */
export class StoreFullError extends StoreUnavailableError {
  constructor(cause?: unknown) {
    super(cause, 'The session store cannot take new data right now; try again shortly.', 5);
  }
}

/** Why the store refused: `oom` (full) or `unavailable` (down, timeout, read-only, …). */
export type StoreRefusalCause = 'oom' | 'unavailable';
export const refusalCause = (err: unknown): StoreRefusalCause =>
  err instanceof StoreFullError ? 'oom' : 'unavailable';

export const badRequest = (message: string) => new AppError(400, 'bad_request', message);
export const loginRequired = (status: 401 | 403 = 401, message = 'Please sign in.') =>
  new AppError(status, 'login_required', message);
export const refreshRequired = () =>
  new AppError(401, 'refresh_required', 'The session is idle; refresh it with POST /auth/refresh.');
export const invalidCredentials = () =>
  new AppError(401, 'invalid_credentials', 'Unknown user name or wrong password.');
export const tooManyAttempts = (retryAfterSeconds: number) =>
  new AppError(429, 'too_many_attempts', 'Too many failed sign-in attempts; try again later.', {
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  });
export const csrfRefused = () =>
  new AppError(403, 'csrf', 'Cross-site request refused.');
export const notFound = (message = 'Not found.') => new AppError(404, 'not_found', message);
export const payloadTooLarge = () =>
  new AppError(413, 'payload_too_large', 'The request body is too large.');
export const unsupportedMediaType = () =>
  new AppError(415, 'unsupported_media_type', 'Send Content-Type: application/json.');
export const weakPassword = (min: number) =>
  new AppError(400, 'weak_password', `The password must be at least ${min} characters long.`);

/** The recent-authentication clock ran out for an action that ends other sessions. */
export const reauthenticationRequired = () =>
  new AppError(403, 'reauthentication_required', 'Confirm your password to end another session.');

/**
 * Device binding (DBSC, docs/security.md "Device binding"). A bound session past its
 * proof: refused on every route until its device signs a refresh. Not a sign-out: the
 * cookie stays, so the owner's browser carries on once it has proved its key.
 */
export const deviceProofRequired = () =>
  new AppError(401, 'device_proof_required', 'This session is bound to a device and must be renewed by it.');
/** A device-key proof that does not verify (or is not one); nothing changed. */
export const proofInvalid = (status: 400 | 401, message: string) => new AppError(status, 'proof_invalid', message);
/** The refresh endpoint's challenge (403 with `Secure-Session-Challenge`): sign it and send it back. */
export const challengeRequired = (header: string) =>
  new AppError(403, 'challenge_required', 'Sign the challenge with the session\'s device key.', {
    headers: { 'Secure-Session-Challenge': header },
  });
export const alreadyBound = () => new AppError(409, 'already_bound', 'This session is bound to a device already.');
export const notBound = () => new AppError(401, 'not_bound', 'This session is not bound to a device.');

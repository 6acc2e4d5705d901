/** Why the session can no longer be used: a request answered 401, or the refresh 403. */
export type LoginRequiredReason = 'session_ended' | 'refresh_refused';

export interface SessionClientOptions {
  /** Origin (and path prefix) of the server; '' = this page's origin. Another origin sends cookies with `credentials: 'include'`. */
  baseUrl?: string;
  /** Called once per lapse when the user must sign in again (e.g. redirect to the sign-in page). */
  onLoginRequired?: (reason: LoginRequiredReason) => void;
  /** The fetch to use (default: the global one), e.g. one that keeps cookies outside a browser. */
  fetch?: (request: Request) => Promise<Response>;
}

export interface SessionClient {
  /**
   * `fetch` against the server: resolves with the response, after at most one refresh
   * and one retry. Rejects with a SessionError (`code` 'login_required', or the 503's
   * code such as 'store_unavailable') and with fetch's own errors on a network failure.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
}

export declare class SessionError extends Error {
  /** 'login_required', the server's error code on a 503 ('store_unavailable'), or `http_<status>`. */
  readonly code: string;
  readonly status: number | undefined;
  /** Set when `code` is 'login_required'. */
  readonly reason: LoginRequiredReason | undefined;
  /** Seconds, from the server's Retry-After. */
  readonly retryAfter: number | undefined;
  constructor(
    code: string,
    message: string,
    details?: { status?: number; reason?: LoginRequiredReason; retryAfter?: number; cause?: unknown },
  );
}

export declare function createSessionClient(options?: SessionClientOptions): SessionClient;

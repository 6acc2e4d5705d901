/**
 * Every Redis key is built here and nowhere else (scripts receive them through KEYS).
 * All keys of one user carry the user's routing tag as a hash tag `{tag}`, so each
 * script touches one Cluster slot (docs/design.md, invariant 9).
 */
/**
 * user+address, address, account, account delay (0.2.0), account turns, device cookie,
 * device failures, an account's device cookies, refused attempts (for the audit trail).
 */
export type ThrottleKeyKind = 'uip' | 'ip' | 'acct' | 'lock' | 'turn' | 'dev' | 'devf' | 'devs' | 'rf';

export interface KeySpace {
  readonly prefix: string;
  /** Session record (hash), keyed by SHA-256 of the current secret. */
  session(tag: string, idHash: string): string;
  /** Grace alias of a rotated-away ID: `<successorIdHash> <nonce> <graceUntilMs>`, TTL = grace. */
  grace(tag: string, oldIdHash: string): string;
  /** Replay marker of a rotated-away ID: `<handle suffix> <absoluteDeadlineMs>`, TTL = absolute deadline. */
  replay(tag: string, oldIdHash: string): string;
  /**
   * A session family (by the hash of its IDs' family part, src/sessions/token.ts):
   * `<handle suffix> <absoluteDeadlineMs> <current idHash>`, TTL = absolute deadline. One
   * per session, however often it rotates: any of its IDs but the current one, presented
   * after the grace, is a replay.
   */
  family(tag: string, familyHash: string): string;
  /** The user's session index: sorted set of current idHashes by key deadline. */
  userIndex(tag: string): string;
  /** The user's revocation epoch (INCR on revoke-all): a login that read it before refuses. */
  userEpoch(tag: string): string;
  /**
   * The user's revocation generation: the time of the latest revoke-all. Validate
   * refuses a record created (or last kept by a revoke-all) before it.
   */
  userGeneration(tag: string): string;
  /** Pattern matching every session record (for SCAN in the CLI). */
  sessionPattern(): string;
  /** User account record (argon2id hash, id, tag). */
  user(username: string): string;
  /** Pattern matching every user record. */
  userPattern(): string;
  /** The routing tag of a user the embedding app keeps itself (library sign-in by user id). */
  appUserTag(userId: string): string;
  /** Login throttle counter, account delay or device cookie record (src/throttle/types.ts). */
  throttle(kind: ThrottleKeyKind, id: string): string;
  /** Audit event stream. */
  events(): string;
  /**
   * The pages' form CSRF master key when FORM_CSRF_KEY is unset: written once (SET NX)
   * and read by every node, so any node verifies a form another rendered. One key, no
   * hash tag: it is only ever read or written alone.
   */
  formKey(): string;
  /**
   * OpenID Connect sign-in (src/oidc/). The one-time record of a sign-in in flight, by
   * the hash of its `state` (read with GETDEL: single use). No hash tag: read alone.
   */
  oidcState(stateHash: string): string;
  /**
   * Sign-ins through the provider started from one client address (IPv6: its /64) in
   * the current window, each of which stored a state record. No hash tag: read alone.
   */
  oidcStarts(addressGroup: string): string;
  /** The local user a provider identity maps to: `<issuerHash>` is a hash of the issuer URL. */
  oidcIdentity(issuerHash: string, subject: string): string;
  /** The identities linked to a user (set of `<issuer> <subject>`), for the CLI. */
  oidcUserIdentities(username: string): string;
  /** Handles of the sessions signed in under one provider session (`sid`), for back-channel logout. */
  oidcSid(issuerHash: string, sidHash: string): string;
  /** A back-channel logout token already used (its `jti`), kept while such a token is accepted. */
  oidcLogoutJti(hash: string): string;
}

export function keySpace(prefix = 'ss:'): KeySpace {
  const slot = (tag: string) => `${prefix}{${tag}}`;
  return Object.freeze({
    prefix,
    session: (tag: string, h: string) => `${slot(tag)}:s:${h}`,
    grace: (tag: string, h: string) => `${slot(tag)}:g:${h}`,
    replay: (tag: string, h: string) => `${slot(tag)}:r:${h}`,
    family: (tag: string, h: string) => `${slot(tag)}:f:${h}`,
    userIndex: (tag: string) => `${slot(tag)}:u`,
    userEpoch: (tag: string) => `${slot(tag)}:e`,
    userGeneration: (tag: string) => `${slot(tag)}:v`,
    sessionPattern: () => `${prefix}{*}:s:*`,
    user: (username: string) => `${prefix}user:${username}`,
    userPattern: () => `${prefix}user:*`,
    appUserTag: (userId: string) => `${prefix}app-user:${userId}`,
    throttle: (kind: ThrottleKeyKind, id: string) => `${prefix}t:${kind}:${id}`,
    events: () => `${prefix}events`,
    formKey: () => `${prefix}formkey`,
    oidcState: (h: string) => `${prefix}oidc:st:${h}`,
    oidcStarts: (group: string) => `${prefix}oidc:n:${group}`,
    oidcIdentity: (issuerHash: string, subject: string) => `${prefix}oidc:${issuerHash}:${subject}`,
    oidcUserIdentities: (username: string) => `${prefix}oidc:u:${username}`,
    oidcSid: (issuerHash: string, sidHash: string) => `${prefix}oidc:sid:${issuerHash}:${sidHash}`,
    oidcLogoutJti: (h: string) => `${prefix}oidc:jti:${h}`,
  });
}

/** Parses a session record key back into tag and idHash (CLI listing). */
export function parseSessionKey(
  prefix: string,
  key: string,
): { tag: string; idHash: string } | null {
  if (!key.startsWith(prefix)) return null;
  const m = /^\{([A-Za-z0-9]{12})\}:s:([A-Za-z0-9_-]{43})$/.exec(key.slice(prefix.length));
  return m ? { tag: m[1]!, idHash: m[2]! } : null;
}

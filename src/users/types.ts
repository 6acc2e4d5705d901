/**
 * The user store (docs/design.md, "Redis key layout"): accounts with an argon2id hash and a random routing tag.
 * Behind an interface so an app can plug in its own; the Redis implementation is the
 * default, the memory one goes with the embedded session store.
 */
export interface User {
  /**
   * The account's stable id. In the bundled stores it is the normalized user name
   * (names are immutable and never reused while sessions of the old account live: a
   * deleted user's sessions are revoked and a new account gets a new tag); sessions
   * carry it as `userId`, so /api/me and the CLI name the user without a second lookup.
   */
  id: string;
  /** Normalized (see users/username.ts). */
  username: string;
  /** Random routing tag (12 alphanumerics): the hash tag of all the user's session keys. */
  tag: string;
  createdAt: number;
}

export interface UserRecord extends User {
  /** PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash). Never logged. */
  passwordHash: string;
}

export interface UserStore {
  /** null when unknown. */
  find(username: string): Promise<UserRecord | null>;
  /** Creates a user; throws AppError(409-like 'bad_request') if the name is taken. */
  create(username: string, passwordHash: string): Promise<User>;
  /** Replaces the hash (password change, `user passwd`). false: no such user. */
  setPasswordHash(username: string, passwordHash: string): Promise<boolean>;
  /**
   * The rehash at login: replaces the hash only while it is still `verifiedHash`,
   * atomically, so an upgrade racing a password change cannot bring the old password
   * back. false: the hash changed meanwhile, or no such user.
   */
  replacePasswordHash(username: string, verifiedHash: string, passwordHash: string): Promise<boolean>;
  delete(username: string): Promise<boolean>;
  /** Streams user names (SCAN); for the CLI and "are there any users". */
  list(limit?: number): Promise<User[]>;
  count(): Promise<number>;
}

/**
 * Password hashing: argon2id at OWASP's minimum (m = 19 MiB, t = 2, p = 1), PHC strings,
 * rehash when the parameters change. Every argon2 call goes through one bounded
 * WorkQueue: a login flood gets 429 `too_many_attempts` (Retry-After: 1) instead of
 * exhausting memory or the libuv pool. 429 rather than 503 because the remedy is the
 * client's: slow down and retry; the server itself is fine.
 *
 * Passwords are capped at 1024 UTF-8 bytes BEFORE anything else happens, and normalized
 * to NFKC before hashing (NIST SP 800-63B: the same password typed on two keyboards
 * must match).
 */
import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import { AppError, badRequest, weakPassword } from '../errors.js';
import { QueueFullError, WorkQueue } from './work-queue.js';

export const MAX_PASSWORD_BYTES = 1024;

export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP Password Storage cheat sheet, first argon2id option. */
export const OWASP_ARGON2ID: Readonly<Argon2Params> = Object.freeze({
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
});

/** A present string within the byte cap, or a 400; never hashes anything. */
export function checkPasswordInput(value: unknown, field = 'password'): string {
  if (typeof value !== 'string' || value.length === 0) throw badRequest(`"${field}" must be a non-empty string.`);
  // value.length counts UTF-16 units, each at most 3 UTF-8 bytes: skip the byte count
  // for obviously short values, and never encode a huge one.
  if (value.length > MAX_PASSWORD_BYTES || Buffer.byteLength(value, 'utf8') > MAX_PASSWORD_BYTES) {
    throw badRequest(`"${field}" must be at most ${MAX_PASSWORD_BYTES} bytes.`);
  }
  return value;
}

/** Length in characters (code points) after normalization: the NIST rule on set/change. */
export function checkPasswordStrength(password: string, minLength: number): void {
  if ([...password.normalize('NFKC')].length < minLength) throw weakPassword(minLength);
}

const busy = () =>
  new AppError(429, 'too_many_attempts', 'The server is busy with other sign-ins; try again in a moment.', {
    headers: { 'Retry-After': '1' },
  });

export interface PasswordHasherOptions {
  concurrency: number;
  queueLimit: number;
  params?: Argon2Params;
}

export class PasswordHasher {
  readonly params: Readonly<Argon2Params>;
  readonly #queue: WorkQueue;
  #dummy: Promise<string> | undefined;

  constructor(opts: PasswordHasherOptions) {
    const params = opts.params ?? OWASP_ARGON2ID;
    if (params.memoryCost < OWASP_ARGON2ID.memoryCost || params.timeCost < OWASP_ARGON2ID.timeCost) {
      throw new RangeError('argon2id parameters below the OWASP minimum (m=19456, t=2)');
    }
    this.params = Object.freeze({ ...params });
    this.#queue = new WorkQueue(opts.concurrency, opts.queueLimit);
  }

  /** Hashes a password already checked by checkPasswordInput. */
  hash(password: string): Promise<string> {
    return this.#run(() => argon2.hash(password.normalize('NFKC'), { type: argon2.argon2id, ...this.params }));
  }

  /** false for a wrong password and for a hash this library cannot read. */
  verify(passwordHash: string, password: string): Promise<boolean> {
    return this.#run(async () => {
      try {
        return await argon2.verify(passwordHash, password.normalize('NFKC'));
      } catch {
        return false;
      }
    });
  }

  /**
   * The unknown-user path: the same argon2 work against a hash of a random password, so
   * "no such user" and "wrong password" cost the same time (identical failure answers).
   */
  async verifyDummy(password: string): Promise<false> {
    this.#dummy ??= this.hash(randomBytes(24).toString('base64url'));
    const dummy = await this.#dummy;
    await this.verify(dummy, password);
    return false;
  }

  /** Hash to replace at the next successful login (weaker params or another algorithm). */
  needsRehash(passwordHash: string): boolean {
    if (!passwordHash.startsWith('$argon2id$')) return true;
    try {
      return argon2.needsRehash(passwordHash, this.params);
    } catch {
      return true;
    }
  }

  /** Precomputes the dummy hash so the first unknown-user login is not slower. */
  async warmUp(): Promise<void> {
    await this.verifyDummy('warm-up');
  }

  get load(): { running: number; waiting: number } {
    return { running: this.#queue.running, waiting: this.#queue.waiting };
  }

  async #run<T>(job: () => Promise<T>): Promise<T> {
    try {
      return await this.#queue.run(job);
    } catch (err) {
      if (err instanceof QueueFullError) throw busy();
      throw err;
    }
  }
}

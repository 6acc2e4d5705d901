/** The embedded user store, for the embedded session store (one process, no Redis). */
import { badRequest } from '../errors.js';
import { newTag } from '../sessions/token.js';
import type { User, UserRecord, UserStore } from './types.js';
import { normalizeUsername } from './username.js';

export class MemoryUserStore implements UserStore {
  readonly #users = new Map<string, UserRecord>();

  async find(username: string): Promise<UserRecord | null> {
    const name = normalizeUsername(username);
    const rec = name === null ? undefined : this.#users.get(name);
    return rec ? { ...rec } : null;
  }

  async create(username: string, passwordHash: string): Promise<User> {
    const name = normalizeUsername(username);
    if (name === null) throw badRequest('User names are 1–64 characters of a-z, 0-9, ".", "_", "@", "-".');
    if (this.#users.has(name)) throw badRequest(`The user name "${name}" is taken.`);
    const rec: UserRecord = { id: name, username: name, tag: newTag(), createdAt: Date.now(), passwordHash };
    this.#users.set(name, rec);
    return publicUser(rec);
  }

  async setPasswordHash(username: string, passwordHash: string): Promise<boolean> {
    const rec = this.#users.get(normalizeUsername(username) ?? '');
    if (!rec) return false;
    rec.passwordHash = passwordHash;
    return true;
  }

  async replacePasswordHash(username: string, verifiedHash: string, passwordHash: string): Promise<boolean> {
    const rec = this.#users.get(normalizeUsername(username) ?? '');
    if (!rec || rec.passwordHash !== verifiedHash) return false;
    rec.passwordHash = passwordHash;
    return true;
  }

  async delete(username: string): Promise<boolean> {
    return this.#users.delete(normalizeUsername(username) ?? '');
  }

  async list(limit = Number.POSITIVE_INFINITY): Promise<User[]> {
    return [...this.#users.values()].slice(0, limit).map(publicUser);
  }

  async count(): Promise<number> {
    return this.#users.size;
  }
}

export const publicUser = ({ passwordHash: _, ...user }: UserRecord): User => user;

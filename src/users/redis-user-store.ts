/**
 * Users in Redis (docs/design.md, "Redis key layout"): one hash per account at keys.user(username) with the
 * routing tag, the creation time and the argon2id PHC string. Writes that must not
 * clobber or resurrect an account are Lua (create-if-absent, update-if-exists,
 * replace-if-unchanged for the rehash at login).
 * Any Redis failure is StoreUnavailableError: a login during an outage is 503, never 401.
 */
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { badRequest } from '../errors.js';
import { toStoreError } from '../store/connection.js';
import { RetryBudget } from '../store/retry.js';
import { fenceOf } from '../store/sentinel-fence.js';
import { newTag } from '../sessions/token.js';
import { type KeySpace, keySpace } from '../store/keys.js';
import { publicUser } from './memory-user-store.js';
import type { User, UserRecord, UserStore } from './types.js';
import { normalizeUsername } from './username.js';

type Client = Redis | Cluster;

interface UserCommands {
  ssCreateUser(key: string, tag: string, createdAt: string, hash: string): Promise<number>;
  ssSetUserHash(key: string, hash: string): Promise<number>;
  ssReplaceUserHash(key: string, verified: string, hash: string): Promise<number>;
}

const lua = (file: string) => readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');

const storeError = (err: unknown): never => {
  throw toStoreError(err);
};

export class RedisUserStore implements UserStore {
  readonly #client: Client;
  readonly #keys: KeySpace;
  readonly #cmd: UserCommands;
  /** REDIS_RETRY_BUDGET for the lookup a sign-in and the CLI's --user start with. */
  readonly #retry: RetryBudget;

  constructor(client: Client, opts: { keyPrefix?: string; retryBudgetMs?: number } = {}) {
    this.#client = client;
    this.#retry = new RetryBudget(opts.retryBudgetMs ?? 2000, fenceOf(client));
    this.#keys = keySpace(opts.keyPrefix);
    client.defineCommand('ssCreateUser', { numberOfKeys: 1, lua: lua('create-user-1.lua') });
    // A password change must work while Redis is full (maxmemory): it is how a user
    // locks out a thief, and it replaces a hash by one of the same length. `allow-oom`
    // lets it write then (the shebang must be the script's first line).
    client.defineCommand('ssSetUserHash', { numberOfKeys: 1, lua: `#!lua flags=allow-oom\n${lua('set-user-hash-1.lua')}` });
    client.defineCommand('ssReplaceUserHash', { numberOfKeys: 1, lua: lua('replace-user-hash-1.lua') });
    this.#cmd = client as unknown as UserCommands;
  }

  async find(username: string): Promise<UserRecord | null> {
    const name = normalizeUsername(username);
    if (name === null) return null;
    const [tag, created, hash] = await this.#retry
      .run(true, () => this.#client.hmget(this.#keys.user(name), 'tag', 'created', 'hash'))
      .catch(storeError);
    if (!tag || !hash) return null;
    return { id: name, username: name, tag, createdAt: Number(created), passwordHash: hash };
  }

  async create(username: string, passwordHash: string): Promise<User> {
    const name = normalizeUsername(username);
    if (name === null) throw badRequest('User names are 1–64 characters of a-z, 0-9, ".", "_", "@", "-".');
    const rec: UserRecord = { id: name, username: name, tag: newTag(), createdAt: Date.now(), passwordHash };
    const created = await this.#cmd
      .ssCreateUser(this.#keys.user(name), rec.tag, String(rec.createdAt), passwordHash)
      .catch(storeError);
    if (created !== 1) throw badRequest(`The user name "${name}" is taken.`);
    return publicUser(rec);
  }

  async setPasswordHash(username: string, passwordHash: string): Promise<boolean> {
    const name = normalizeUsername(username);
    if (name === null) return false;
    return (await this.#cmd.ssSetUserHash(this.#keys.user(name), passwordHash).catch(storeError)) === 1;
  }

  async replacePasswordHash(username: string, verifiedHash: string, passwordHash: string): Promise<boolean> {
    const name = normalizeUsername(username);
    if (name === null) return false;
    const replaced = await this.#cmd
      .ssReplaceUserHash(this.#keys.user(name), verifiedHash, passwordHash)
      .catch(storeError);
    return replaced === 1;
  }

  async delete(username: string): Promise<boolean> {
    const name = normalizeUsername(username);
    if (name === null) return false;
    return (await this.#client.del(this.#keys.user(name)).catch(storeError)) === 1;
  }

  async list(limit = Number.POSITIVE_INFINITY): Promise<User[]> {
    const users: User[] = [];
    for await (const keys of this.#scan()) {
      for (const key of keys) {
        if (users.length >= limit) return users;
        const rec = await this.find(key.slice(this.#keys.user('').length));
        if (rec) users.push(publicUser(rec));
      }
    }
    return users;
  }

  async count(): Promise<number> {
    let n = 0;
    for await (const keys of this.#scan()) n += keys.length;
    return n;
  }

  /** SCAN every master (a Cluster spreads users over all of them). */
  async *#scan(): AsyncGenerator<string[]> {
    const client = this.#client;
    const nodes: Redis[] = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', this.#keys.userPattern(), 'COUNT', 500).catch(storeError);
        cursor = next;
        if (keys.length > 0) yield keys;
      } while (cursor !== '0');
    }
  }
}

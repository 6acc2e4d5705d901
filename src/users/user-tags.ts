/**
 * Routing tags for users the embedding app keeps in its own tables. Every key of a
 * user's sessions carries the user's tag (one Redis Cluster slot per user), and the
 * tag must not be the user id itself (it travels in the cookie), so the first sign-in
 * draws a random one and every node then reads the same (SET NX).
 */
import type { RedisClient } from '../store/connection.js';
import { toStoreError } from '../store/connection.js';
import type { KeySpace } from '../store/keys.js';
import { RetryBudget } from '../store/retry.js';
import { fenceOf } from '../store/sentinel-fence.js';
import { isTag, newTag } from '../sessions/token.js';

export interface UserTags {
  /** The user's tag, drawn at the first call. */
  tagFor(userId: string): Promise<string>;
  /** The user's tag, or null when the user never signed in. */
  find(userId: string): Promise<string | null>;
}

export class MemoryUserTags implements UserTags {
  readonly #tags = new Map<string, string>();

  async tagFor(userId: string): Promise<string> {
    const known = this.#tags.get(userId);
    if (known) return known;
    const tag = newTag();
    this.#tags.set(userId, tag);
    return tag;
  }

  async find(userId: string): Promise<string | null> {
    return this.#tags.get(userId) ?? null;
  }
}

export class RedisUserTags implements UserTags {
  /** REDIS_RETRY_BUDGET: both calls do the same when sent twice (the same drawn tag). */
  readonly #retry: RetryBudget;

  constructor(
    readonly client: RedisClient,
    readonly keys: KeySpace,
    retryBudgetMs = 2000,
  ) {
    this.#retry = new RetryBudget(retryBudgetMs, fenceOf(client));
  }

  async tagFor(userId: string): Promise<string> {
    try {
      const tag = newTag();
      // SET NX … GET answers the tag already there, if any: one round trip either way.
      const key = this.keys.appUserTag(userId);
      const before = (await this.#retry.run(true, () => this.client.set(key, tag, 'NX', 'GET'))) as string | null;
      return before ?? tag;
    } catch (err) {
      throw toStoreError(err);
    }
  }

  async find(userId: string): Promise<string | null> {
    try {
      const tag = await this.#retry.run(true, () => this.client.get(this.keys.appUserTag(userId)));
      return isTag(tag) ? tag : null;
    } catch (err) {
      throw toStoreError(err);
    }
  }
}

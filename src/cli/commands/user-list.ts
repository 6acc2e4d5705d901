/**
 * `user list`: every account with its creation time and how many live sessions it holds.
 * Streams SCAN batches like `sessions list`, so memory stays flat with any number of
 * users; the order is SCAN order. The session count is the session service's list of
 * the user's live sessions (active and stale), judged exactly as every node judges them,
 * the revoke-all cutoff included. Identities linked by
 * OpenID Connect sign-in come from the user's reverse index (src/oidc/identity-store.ts).
 */
import { type CommandSpec, type Parsed, positiveInt } from '../args.js';
import { Interrupted } from '../errors.js';
import { JsonArrayWriter, TablePager } from '../output.js';
import { ScanProgress } from '../progress.js';
import { type KeyBatch, scanKeys } from '../scan.js';
import { shortTime } from '../session-view.js';
import type { CliContext } from '../types.js';
import { usage } from '../usage.js';
import { isoTime } from '../../iso-time.js';

export const userListSpec: CommandSpec = {
  usage: usage.userList,
  options: { json: { type: 'boolean' }, limit: { type: 'string' } },
  integers: ['limit'],
};

interface UserRow {
  user: string;
  createdAt: number | null;
  sessions: number;
  /** Identities linked by OpenID Connect sign-in: `<issuer> <subject>`. */
  identities: string[];
}

/** The accounts behind one SCAN batch (ones deleted meanwhile skipped), with session counts. */
async function readBatch(ctx: CliContext, batch: KeyBatch): Promise<UserRow[]> {
  const namePrefix = ctx.keys.user('');
  const pipeline = batch.node.pipeline();
  for (const key of batch.keys) pipeline.hmget(key, 'tag', 'created');
  const replies = (await pipeline.exec()) ?? [];
  const found: Array<{ user: string; tag: string; created: string | null }> = [];
  for (let i = 0; i < batch.keys.length; i++) {
    const key = batch.keys[i]!;
    const [err, fields] = replies[i] ?? [new Error('no reply'), null];
    // A key that moved to another Cluster node mid-scan is read through the router.
    const [tag, created] = err ? await ctx.redis.hmget(key, 'tag', 'created') : (fields as (string | null)[]);
    if (tag) found.push({ user: key.slice(namePrefix.length), tag, created: created ?? null });
  }
  // Counted by the session service, as a node judges them (the revoke-all cutoff
  // included); each user's keys live in its own slot, anywhere in a Cluster.
  const [counts, identities] = await Promise.all([
    Promise.all(found.map(async (u) => (await ctx.sessions.list(u.tag)).length)),
    Promise.all(found.map((u) => ctx.redis.smembers(ctx.keys.oidcUserIdentities(u.user)))),
  ]);
  return found.map((u, i) => ({
    user: u.user,
    createdAt: u.created && Number.isFinite(Number(u.created)) ? Number(u.created) : null,
    sessions: counts[i] ?? 0,
    identities: (identities[i] ?? []).sort(),
  }));
}

export async function userList(args: Parsed, ctx: CliContext): Promise<void> {
  const limit = positiveInt(args.values['limit'], 'limit', userListSpec.usage);
  const json = args.values['json'] === true;
  const jsonOut = json ? new JsonArrayWriter(ctx.io.stdout) : undefined;
  const table = json
    ? undefined
    : new TablePager(ctx.io.stdout, [
        { head: 'user', max: 64 },
        { head: 'created', max: 20 },
        { head: 'sessions', max: 8 },
        { head: 'identities', max: 80 },
      ]);
  const progress = new ScanProgress(ctx.io, 'users', { json });
  if (table) table.beforeWrite = () => progress.clear();
  let n = 0;
  try {
    scan: for await (const batch of scanKeys(ctx.redis, ctx.keys.userPattern(), 500)) {
      if (ctx.interrupted.aborted) throw new Interrupted();
      const rows = await readBatch(ctx, batch);
      progress.add(rows.length);
      for (const u of rows) {
        if (limit !== undefined && n >= limit) break scan;
        n++;
        if (jsonOut) {
          await jsonOut.push({ user: u.user, createdAt: u.createdAt === null ? null : isoTime(u.createdAt), sessions: u.sessions, identities: u.identities });
        } else {
          // The table names the providers; --json gives the subjects too.
          const providers = u.identities.map((id) => `oidc:${id.split(' ')[0]}`).join(', ') || '-';
          await table!.push([u.user, u.createdAt === null ? '-' : shortTime(u.createdAt), String(u.sessions), providers]);
        }
      }
    }
  } finally {
    progress.clear();
  }
  if (jsonOut) await jsonOut.end();
  else await table!.end('no users');
}

/**
 * `events`: the audit trail, oldest first, from the capped stream; `--follow` then tails
 * it with XREAD BLOCK on a connection of its own until SIGINT. `--user` matches by user
 * name (or the account's id while it exists), so a deleted user's history stays readable.
 */
import {
  type EventFilter,
  followEvents,
  lastEventId,
  lastEvents,
  readEvents,
  type StoredEvent,
} from '../../store/redis-audit.js';
import { normalizeUsername } from '../../users/username.js';
import { type CommandSpec, type Parsed, positiveInt, str } from '../args.js';
import { Interrupted } from '../errors.js';
import { type Column, JsonArrayWriter, TablePager, write } from '../output.js';
import type { CliContext } from '../types.js';
import { usage } from '../usage.js';

export const eventsSpec: CommandSpec = {
  usage: usage.events,
  options: {
    user: { type: 'string' },
    limit: { type: 'string' },
    follow: { type: 'boolean', short: 'f' },
    json: { type: 'boolean' },
  },
  integers: ['limit'],
};

/** With --follow and no --limit, show this many past events first (like tail -f). */
const FOLLOW_BACKLOG = 10;

const COLUMNS: Column[] = [
  { head: 'time (UTC)', max: 24 },
  { head: 'event', max: 22 },
  { head: 'user', max: 20 },
  { head: 'handle', max: 23 },
  { head: 'reason', max: 15 },
  { head: 'by', max: 10 },
  { head: 'count', max: 6 },
  { head: 'ip', max: 39 },
];

const row = (e: StoredEvent): string[] => [
  new Date(e.at).toISOString(),
  e.type,
  e.username ?? e.userId ?? '-',
  e.handle ?? '-',
  e.reason ?? '-',
  e.by ?? '-',
  e.count === undefined ? '-' : String(e.count),
  e.ip ?? '-',
];

const json = ({ id, at, ...rest }: StoredEvent) => ({ id, at: new Date(at).toISOString(), ...rest });

async function userFilter(ctx: CliContext, given: string | undefined): Promise<EventFilter | undefined> {
  if (given === undefined) return undefined;
  const user = await ctx.users.find(given);
  // Events carry the name the store kept (normalized), or only the user id. A deleted
  // user is matched by name, and by id too since the Redis user store's ids are names.
  const username = user?.username ?? normalizeUsername(given) ?? given;
  const ids = new Set([username, ...(user ? [user.id] : [])]);
  return (e) => e.username === username || (e.userId !== undefined && ids.has(e.userId));
}

export async function events(args: Parsed, ctx: CliContext): Promise<void> {
  const limit = positiveInt(args.values['limit'], 'limit', eventsSpec.usage);
  const asJson = args.values['json'] === true;
  const filter = await userFilter(ctx, str(args.values['user']));
  if (args.values['follow'] === true) return follow(ctx, asJson, limit ?? FOLLOW_BACKLOG, filter);

  const key = ctx.audit.key;
  const past = limit === undefined ? readEvents(ctx.redis, key, filter) : await lastEvents(ctx.redis, key, limit, filter);
  if (asJson) {
    const out = new JsonArrayWriter(ctx.io.stdout);
    for await (const e of past) {
      if (ctx.interrupted.aborted) throw new Interrupted();
      await out.push(json(e));
    }
    return out.end();
  }
  const table = new TablePager(ctx.io.stdout, COLUMNS);
  for await (const e of past) {
    if (ctx.interrupted.aborted) throw new Interrupted();
    await table.push(row(e));
  }
  return table.end('no events');
}

/** The last `backlog` events, then new ones as they come, until Ctrl-C. */
async function follow(ctx: CliContext, asJson: boolean, backlog: number, filter: EventFilter | undefined) {
  const key = ctx.audit.key;
  const out = ctx.io.stdout;
  // Fix "now" before reading the past, so no event falls between the two.
  const from = await lastEventId(ctx.redis, key);
  const past = await lastEvents(ctx.redis, key, backlog, filter, from);
  // A stream that never ends cannot be one JSON document: JSON Lines instead; the table
  // has fixed widths since rows print one by one.
  const table = asJson ? undefined : new TablePager(out, COLUMNS, 1, true);
  const emit = (e: StoredEvent) => (table ? table.push(row(e)) : write(out, JSON.stringify(json(e)) + '\n'));
  for (const e of past) await emit(e);
  const blocking = await ctx.blockingConnection();
  await write(ctx.io.stderr, 'following new events (Ctrl-C to stop)\n');
  for await (const e of followEvents(blocking, key, from, ctx.interrupted, filter)) await emit(e);
}

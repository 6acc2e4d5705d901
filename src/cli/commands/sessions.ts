/**
 * `sessions list | show | kill`. Listing everything streams SCAN batches straight to
 * stdout (a JSON array element by element, or table pages of 100 rows), so memory stays
 * flat with millions of sessions. Every state is decided on Redis server time.
 */
import { parseHandle } from '../../sessions/token.js';
import type { SessionInfo } from '../../sessions/types.js';
import type { Owner } from '../../sessions/service.js';
import { type CommandSpec, type Parsed, positiveInt, str } from '../args.js';
import { CliError, Interrupted, UsageError } from '../errors.js';
import { JsonArrayWriter, keyValueTable, TablePager, write } from '../output.js';
import { ScanProgress } from '../progress.js';
import { redisNow, scanKeys } from '../scan.js';
import { detailJson, detailPairs, LIST_COLUMNS, listRow, type SessionState, stateAt, viewOf } from '../session-view.js';
import type { CliContext } from '../types.js';
import { usage } from '../usage.js';

export const listSpec: CommandSpec = {
  usage: usage.sessionsList,
  options: { user: { type: 'string' }, json: { type: 'boolean' }, limit: { type: 'string' } },
  integers: ['limit'],
};
export const showSpec: CommandSpec = {
  usage: usage.sessionsShow,
  options: { json: { type: 'boolean' } },
  positionals: ['handle'],
};
export const killSpec: CommandSpec = {
  usage: usage.sessionsKill,
  options: { user: { type: 'string' } },
  positionals: ['handle'],
  optionalPositionals: 1,
  check: ({ values, positionals }) => {
    if ((positionals[0] === undefined) === (values['user'] === undefined)) {
      throw new UsageError('give either a <handle> or --user <u>', usage.sessionsKill);
    }
  },
};

/** Every session record, in SCAN order, one batch at a time; Ctrl-C stops it. */
export async function* allSessions(ctx: CliContext, progress?: ScanProgress): AsyncGenerator<SessionInfo> {
  for await (const batch of scanKeys(ctx.redis, ctx.keys.sessionPattern())) {
    if (ctx.interrupted.aborted) throw new Interrupted();
    const sessions = await ctx.readSessions(batch);
    progress?.add(sessions.length);
    yield* sessions;
  }
}

/**
 * The owner `--user` names, as the user column shows it: an account of the user store
 * (its normalized name is its user id), or else a user of an app that keeps its own
 * users and signs them in by id (their tag is at keys.appUserTag(id)).
 */
async function findOwner(ctx: CliContext, name: string): Promise<Required<Owner>> {
  const user = await ctx.users.find(name);
  if (user) return { tag: user.tag, userId: user.id, username: user.username };
  const tag = await ctx.appUsers.find(name);
  if (tag) return { tag, userId: name, username: name };
  throw new CliError(`no user named '${name}'`);
}

export async function sessionsList(args: Parsed, ctx: CliContext): Promise<void> {
  const limit = positiveInt(args.values['limit'], 'limit', listSpec.usage);
  const only = str(args.values['user']);
  const user = only === undefined ? undefined : await findOwner(ctx, only);
  const json = args.values['json'] === true;
  const progress = new ScanProgress(ctx.io, 'sessions', { json });
  const source: AsyncIterable<SessionInfo> | SessionInfo[] = user
    ? await ctx.sessions.list(user.tag)
    : allSessions(ctx, progress);
  const now = await redisNow(ctx.redis);
  const sink = json ? jsonSink(ctx) : tableSink(ctx, user ? `no sessions for '${user.username}'` : 'no sessions', progress);
  let n = 0;
  try {
    for await (const s of source) {
      if (limit !== undefined && n >= limit) break;
      const state = stateAt(s, now, ctx.refreshEnabled);
      if (!state) continue;
      await sink.push(s, state);
      n++;
    }
  } finally {
    progress.clear();
  }
  await sink.end();
}

interface Sink {
  push(s: SessionInfo, state: SessionState): Promise<void>;
  end(): Promise<void>;
}

function jsonSink(ctx: CliContext): Sink {
  const w = new JsonArrayWriter(ctx.io.stdout);
  return { push: (s, state) => w.push(viewOf(s, state)), end: () => w.end() };
}

function tableSink(ctx: CliContext, empty: string, progress: ScanProgress): Sink {
  const t = new TablePager(ctx.io.stdout, LIST_COLUMNS);
  t.beforeWrite = () => progress.clear();
  return { push: (s, state) => t.push(listRow(s, state)), end: () => t.end(empty) };
}

async function sessionByHandle(ctx: CliContext, handle: string): Promise<SessionInfo> {
  if (!parseHandle(handle)) throw new CliError(`'${handle}' is not a session handle (<tag>-<10 chars>)`);
  const s = await ctx.sessions.get(handle);
  if (!s) throw new CliError(`no session with handle '${handle}'`);
  return s;
}

export async function sessionsShow(args: Parsed, ctx: CliContext): Promise<void> {
  const s = await sessionByHandle(ctx, args.positionals[0]!);
  const now = await redisNow(ctx.redis);
  const state = stateAt(s, now, ctx.refreshEnabled);
  if (!state) throw new CliError(`no session with handle '${s.handle}'`);
  const text = args.values['json']
    ? JSON.stringify(detailJson(s, state), null, 2)
    : keyValueTable(detailPairs(s, state, now));
  await write(ctx.io.stdout, text + '\n');
}

const ADMIN = { by: 'admin-cli' } as const;

export async function sessionsKill(args: Parsed, ctx: CliContext): Promise<void> {
  const handle = args.positionals[0];
  const only = str(args.values['user']);
  if (only !== undefined) {
    const owner = await findOwner(ctx, only);
    const count = await ctx.sessions.revokeAll(owner, 'kill', ADMIN);
    await write(ctx.io.stdout, `revoked ${count} session(s) of '${owner.username}'\n`);
    return;
  }
  const s = await sessionByHandle(ctx, handle!);
  // revokeHandle is the authority: false means it ended between our read and the kill.
  const owner = { tag: s.tag, userId: s.userId, username: s.userId };
  if (!(await ctx.sessions.revokeOne(owner, s.handle, ADMIN))) throw new CliError(`no session with handle '${s.handle}'`);
  await write(ctx.io.stdout, `revoked session ${s.handle} of '${s.userId}'\n`);
}

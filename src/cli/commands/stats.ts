/**
 * `sessions stats`: active / stale / total over every session (one SCAN pass, states on
 * Redis time) and the users with the most sessions. Memory grows with the number of
 * users who hold sessions (one small counter each), never with the number of sessions.
 */
import { type CommandSpec, type Parsed, positiveInt } from '../args.js';
import { TablePager, write } from '../output.js';
import { ScanProgress } from '../progress.js';
import { redisNow } from '../scan.js';
import { stateAt } from '../session-view.js';
import type { CliContext } from '../types.js';
import { usage } from '../usage.js';
import { allSessions } from './sessions.js';

export const statsSpec: CommandSpec = {
  usage: usage.sessionsStats,
  options: { top: { type: 'string' }, json: { type: 'boolean' } },
  integers: ['top'],
};

interface PerUser {
  active: number;
  stale: number;
}

export async function sessionsStats(args: Parsed, ctx: CliContext): Promise<void> {
  const top = positiveInt(args.values['top'], 'top', statsSpec.usage, 10)!;
  const now = await redisNow(ctx.redis);
  const perUser = new Map<string, PerUser>();
  let active = 0;
  let stale = 0;
  const progress = new ScanProgress(ctx.io, 'sessions', { json: args.values['json'] === true });
  try {
    for await (const s of allSessions(ctx, progress)) {
      const state = stateAt(s, now, ctx.refreshEnabled);
      if (!state) continue;
      let u = perUser.get(s.userId);
      if (!u) {
        u = { active: 0, stale: 0 };
        perUser.set(s.userId, u);
      }
      u[state]++;
      if (state === 'active') active++;
      else stale++;
    }
  } finally {
    progress.clear();
  }
  const ranked = [...perUser.entries()]
    .sort(([, a], [, b]) => b.active + b.stale - (a.active + a.stale))
    .slice(0, top);
  const topUsers = ranked.map(([user, u]) => ({ user, sessions: u.active + u.stale, active: u.active, stale: u.stale }));
  const at = new Date(now).toISOString();
  const totals = { at, active, stale, total: active + stale, users: perUser.size };
  if (args.values['json']) {
    await write(ctx.io.stdout, JSON.stringify({ ...totals, topUsers }, null, 2) + '\n');
    return;
  }
  const out = ctx.io.stdout;
  await write(out, `sessions at ${at} (Redis time)\n`);
  await write(out, `  active ${active}   stale ${stale}   total ${totals.total}   users ${totals.users}\n\n`);
  await write(out, `top ${top} users by sessions\n`);
  const table = new TablePager(out, [
    { head: 'user', max: 32 },
    { head: 'sessions', max: 10 },
    { head: 'active', max: 10 },
    { head: 'stale', max: 10 },
  ]);
  for (const u of topUsers) {
    await table.push([u.user, String(u.sessions), String(u.active), String(u.stale)]);
  }
  await table.end('  (none)');
}

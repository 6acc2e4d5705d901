/**
 * The command table: every command's words, its argument spec and its handler. Parsing
 * happens before anything connects, so `--help` and usage errors need no Redis.
 */
import type { CommandSpec, Parsed } from '../args.js';
import type { CliContext } from '../types.js';
import { usage } from '../usage.js';
import { events, eventsSpec } from './events.js';
import { killSpec, listSpec, sessionsKill, sessionsList, sessionsShow, showSpec } from './sessions.js';
import { sessionsStats, statsSpec } from './stats.js';
import { userList, userListSpec } from './user-list.js';
import { userAdd, userAddSpec, userDelete, userDeleteSpec, userPasswd, userPasswdSpec } from './user.js';

export interface Command {
  spec: CommandSpec;
  run(args: Parsed, ctx: CliContext): Promise<void>;
  /** Runs until interrupted (Ctrl-C is its normal end, not an error). */
  longRunning?: boolean;
}

/** Top-level word → sub-command word → command ('' = no sub-command). */
export const commands: Record<string, { usage: string; sub: Record<string, Command> }> = {
  user: {
    usage: usage.user,
    sub: {
      add: { spec: userAddSpec, run: userAdd },
      passwd: { spec: userPasswdSpec, run: userPasswd },
      delete: { spec: userDeleteSpec, run: userDelete },
      list: { spec: userListSpec, run: userList },
    },
  },
  sessions: {
    usage: usage.sessions,
    sub: {
      list: { spec: listSpec, run: sessionsList },
      show: { spec: showSpec, run: sessionsShow },
      kill: { spec: killSpec, run: sessionsKill },
      stats: { spec: statsSpec, run: sessionsStats },
    },
  },
  events: { usage: usage.events, sub: { '': { spec: eventsSpec, run: events, longRunning: true } } },
};

/**
 * Usage texts, one per command, printed by `--help` (stdout, exit 0) and after a usage
 * error (stderr, exit 2). Kept together so the CLI reads as one page.
 *
 * The same texts serve the installed `sliding-sessions admin` and `npm run admin --`,
 * so they name the command as `{admin}` and carry `{npm-note}` where only npm's banner
 * needs a word; named() fills both in for the command the CLI was started as.
 */
export const INSTALLED_COMMAND = 'sliding-sessions admin';
export const NPM_COMMAND = 'npm run admin --';

const PIPE_NOTE = `For piping (--json), keep npm's banner out of stdout:
  npm run -s admin -- <command>      or, installed,      sliding-sessions admin <command>`;

export function named(text: string, command: string): string {
  const npm = command === NPM_COMMAND;
  return text
    .replaceAll('{admin}', command)
    .replace('{installed-note}\n', npm ? 'Installed (npm i sliding-sessions, or the Docker image), the same commands run as\n`sliding-sessions admin <command>`.\n' : '')
    .replace(/\n*\{npm-note\}/, npm ? `\n\n${PIPE_NOTE}` : '');
}

export const usage = {
  main: `Usage: {admin} <command> [options]

Commands:
  user add <username> [--password-stdin]      create a user
  user passwd <username> [--password-stdin]   set a new password; revokes the user's sessions
  user delete <username>                      delete a user; revokes the user's sessions
  user list [--json] [--limit N]              list users with created time and live sessions
  sessions list [--user <u>] [--json] [--limit N]
  sessions show <handle> [--json]
  sessions kill <handle>  |  sessions kill --user <u>
  sessions stats [--top N] [--json]
  events [--user <u>] [--limit N] [--follow] [--json]

Every command takes --help. Needs REDIS_URL (or REDIS_SENTINELS / REDIS_CLUSTER_NODES).
{installed-note}
Exit codes: 0 done, 1 error or not found (message on stderr), 2 usage.

{npm-note}`,

  user: `Usage: {admin} user <add|passwd|delete> <username> [--password-stdin]
       {admin} user list [--json] [--limit N]

  user add <username> [--password-stdin]
  user passwd <username> [--password-stdin]
  user delete <username>
  user list [--json] [--limit N]`,

  userList: `Usage: {admin} user list [--json] [--limit N]

Lists users with their creation time (UTC) and how many live sessions (active and
stale, on Redis server time) each holds, streamed with SCAN in bounded memory (SCAN
order, not sorted). A scan that takes over a second shows a counter on stderr when
stderr is a terminal (never with --json). Users an app keeps in its own tables are
not accounts here: \`sessions list\` shows them.
  --limit N    stop after N users
  --json       one JSON array of {user, createdAt, sessions}

{npm-note}`,

  userAdd: `Usage: {admin} user add <username> [--password-stdin]

Creates a user. The password is read from stdin with --password-stdin (one trailing
newline is dropped), or asked twice without echo when stdin is a terminal.`,

  userPasswd: `Usage: {admin} user passwd <username> [--password-stdin]

Sets a new password and revokes every session of the user; prints how many.
The password comes from stdin with --password-stdin, or a no-echo prompt on a terminal.`,

  userDelete: `Usage: {admin} user delete <username>

Deletes the user and revokes every session of the user; prints how many.`,

  sessions: `Usage: {admin} sessions <list|show|kill|stats> [options]

  sessions list [--user <u>] [--json] [--limit N]
  sessions show <handle> [--json]
  sessions kill <handle>  |  sessions kill --user <u>
  sessions stats [--top N] [--json]`,

  sessionsList: `Usage: {admin} sessions list [--user <u>] [--json] [--limit N]

Lists live sessions (active and stale) with handle, user, created, last active, idle
deadline, absolute deadline, state, IP and device. Times are UTC; states are decided on
Redis server time.
  --user <u>   only this user's sessions, oldest first (otherwise SCAN order): what the
               user column shows, an account's name or, for an app that keeps its
               own users, the user id it signs them in with
  --limit N    stop after N sessions
  --json       one JSON array, streamed as it is read

Without --user the listing streams with SCAN over every master in bounded memory; the
table is printed in pages of 100 rows under one header (use --json for bulk: the
table costs far more CPU per row). A scan that takes over a second shows a counter on
stderr when stderr is a terminal (never with --json).

{npm-note}`,

  sessionsShow: `Usage: {admin} sessions show <handle> [--json]

Shows one session by its handle (the <tag>-<10 chars> name; never the cookie).`,

  sessionsKill: `Usage: {admin} sessions kill <handle>
       {admin} sessions kill --user <u>

Revokes one session, or every session of a user (prints how many were revoked).
A revoked session is refused on its very next request. <u> is what \`sessions list\`
shows as the user: an account's name, or an app's own user id.`,

  sessionsStats: `Usage: {admin} sessions stats [--top N] [--json]

Counts live sessions (active, stale, total) on Redis server time, and the N users with
the most sessions (default 10). A scan that takes over a second shows a counter on
stderr when stderr is a terminal (never with --json).`,

  events: `Usage: {admin} events [--user <u>] [--limit N] [--follow] [--json]

Shows the audit trail (a capped Redis stream), oldest first.
  --user <u>   only this user's events
  --limit N    only the last N (matching) events
  --follow     then keep printing new events until interrupted (Ctrl-C)
  --json       one JSON array; with --follow, one JSON object per line (JSON Lines),
               since a stream that never ends cannot be one document

{npm-note}`,
} as const;

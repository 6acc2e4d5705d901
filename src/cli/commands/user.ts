/**
 * `user add | passwd | delete`: the prompts and the output; the changes themselves are
 * src/auth/accounts.ts. Passwords are hashed by the same module the server uses
 * (argon2id) and never printed; passwd and delete revoke every session of the user.
 */
import { Accounts } from '../../auth/accounts.js';
import type { CommandSpec, Parsed } from '../args.js';
import { CliError } from '../errors.js';
import { write } from '../output.js';
import { readNewPassword } from '../password-input.js';
import type { CliContext } from '../types.js';
import { usage } from '../usage.js';

export const userAddSpec: CommandSpec = {
  usage: usage.userAdd,
  options: { 'password-stdin': { type: 'boolean' } },
  positionals: ['username'],
};
export const userPasswdSpec: CommandSpec = { ...userAddSpec, usage: usage.userPasswd };
export const userDeleteSpec: CommandSpec = { usage: usage.userDelete, positionals: ['username'] };

const accounts = (ctx: CliContext) =>
  new Accounts({ users: ctx.users, sessions: ctx.sessions, throttle: ctx.throttle, hashPassword: ctx.hashPassword, actor: { by: 'admin-cli' } });

// Each command checks the account before it asks for a password: nobody types one for a
// name that cannot take it.
async function existing(ctx: CliContext, username: string) {
  const user = await ctx.users.find(username);
  if (!user) throw new CliError(`no user named '${username}'`);
  return user;
}

export async function userAdd(args: Parsed, ctx: CliContext): Promise<void> {
  const username = args.positionals[0]!;
  if (await ctx.users.find(username)) throw new CliError(`user '${username}' already exists`);
  const password = await readNewPassword(
    { ...ctx.io, fromStdin: args.values['password-stdin'] === true, usage: userAddSpec.usage },
    ctx.passwordMinLength,
  );
  const user = await accounts(ctx).add(username, password);
  await write(ctx.io.stdout, `created user '${user.username}'\n`);
}

export async function userPasswd(args: Parsed, ctx: CliContext): Promise<void> {
  const { username } = await existing(ctx, args.positionals[0]!);
  const password = await readNewPassword(
    { ...ctx.io, fromStdin: args.values['password-stdin'] === true, usage: userPasswdSpec.usage },
    ctx.passwordMinLength,
  );
  const done = await accounts(ctx).setPassword(username, password);
  if (!done) throw new CliError(`no user named '${username}'`);
  await write(ctx.io.stdout, `password changed for '${username}'; ${done.revoked} session(s) revoked\n`);
}

export async function userDelete(args: Parsed, ctx: CliContext): Promise<void> {
  const { username } = await existing(ctx, args.positionals[0]!);
  const done = await accounts(ctx).remove(username);
  if (!done) throw new CliError(`no user named '${username}'`);
  await write(ctx.io.stdout, `deleted user '${username}'; ${done.revoked} session(s) revoked\n`);
}

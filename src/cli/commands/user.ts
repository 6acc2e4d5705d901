/**
 * `user add | passwd | delete`. Passwords are hashed by the same module the server uses
 * (argon2id) and never printed; passwd and delete revoke every session of the user.
 */
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

const BY = 'admin-cli';

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
  const user = await ctx.users.create(username, await ctx.hashPassword(password));
  // The store normalizes names (NFKC, lower case): report the name it kept.
  await ctx.audit.append({ type: 'user.created', username: user.username, userId: user.id, by: BY });
  await write(ctx.io.stdout, `created user '${user.username}'\n`);
}

export async function userPasswd(args: Parsed, ctx: CliContext): Promise<void> {
  const user = await existing(ctx, args.positionals[0]!);
  const username = user.username;
  const password = await readNewPassword(
    { ...ctx.io, fromStdin: args.values['password-stdin'] === true, usage: userPasswdSpec.usage },
    ctx.passwordMinLength,
  );
  if (!(await ctx.users.setPasswordHash(username, await ctx.hashPassword(password)))) {
    throw new CliError(`no user named '${username}'`);
  }
  // After the new hash is in place: a login on the old password that raced us either
  // failed verification or read the epoch before this bump, so its create() refuses.
  await ctx.audit.append({ type: 'password.changed', username, userId: user.id, by: BY });
  const revoked = await ctx.sessions.revokeAll({ tag: user.tag, userId: user.id, username }, 'password_change', { by: BY });
  await write(ctx.io.stdout, `password changed for '${username}'; ${revoked} session(s) revoked\n`);
}

export async function userDelete(args: Parsed, ctx: CliContext): Promise<void> {
  const user = await existing(ctx, args.positionals[0]!);
  const username = user.username;
  // Delete first, so no new login can find the account; then revoke (bumping the epoch
  // also refuses logins that had already read it and are still hashing).
  if (!(await ctx.users.delete(username))) throw new CliError(`no user named '${username}'`);
  await ctx.audit.append({ type: 'user.deleted', username, userId: user.id, by: BY });
  const revoked = await ctx.sessions.revokeAll({ tag: user.tag, userId: user.id, username }, 'user_deleted', { by: BY });
  await write(ctx.io.stdout, `deleted user '${username}'; ${revoked} session(s) revoked\n`);
}

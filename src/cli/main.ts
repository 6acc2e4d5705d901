/**
 * The admin CLI (docs/cli.md): resolve the command, parse its arguments, check that a
 * shared Redis is configured, connect, run, close. Every outcome becomes an exit code
 * here and nowhere else: 0 done, 1 error or not found (one line on stderr), 2 usage
 * (the usage text on stderr); `--help` prints on stdout and exits 0.
 */
import { ConfigError, type Env, loadConfig, usesRedis } from '../config.js';
import { AppError } from '../errors.js';
import type { Parsed } from './args.js';
import { parseCommand } from './args.js';
import { type Command, commands } from './commands/index.js';
import { connect } from './connect.js';
import { CliError, EMBEDDED_STORE_MESSAGE, HelpRequested, Interrupted, UsageError } from './errors.js';
import type { Io } from './types.js';
import { NPM_COMMAND, named, usage } from './usage.js';

const isHelp = (w: string | undefined) => w === '--help' || w === '-h' || w === 'help';

/** argv → the command and its parsed arguments; throws Help/Usage errors. */
function resolve(argv: string[]): { command: Command; args: Parsed } {
  const [word, ...rest] = argv;
  if (isHelp(word)) throw new HelpRequested(usage.main);
  if (word === undefined) throw new UsageError('missing command', usage.main);
  const group = commands[word];
  if (!group) throw new UsageError(`unknown command '${word}'`, usage.main);
  const direct = group.sub[''];
  if (direct) return { command: direct, args: parseCommand(rest, direct.spec) };
  const [subWord, ...args] = rest;
  if (isHelp(subWord)) throw new HelpRequested(group.usage);
  if (subWord === undefined) throw new UsageError(`missing ${word} command`, group.usage);
  const command = group.sub[subWord];
  if (!command || subWord === '') throw new UsageError(`unknown command '${word} ${subWord}'`, group.usage);
  return { command, args: parseCommand(args, command.spec) };
}

/**
 * `calledAs` is what the usage texts call the CLI: the dev wrapper's `npm run admin --`
 * unless the caller (the installed bin) says otherwise.
 */
export async function run(argv: string[], env: Env, io: Io, interrupted: AbortSignal, calledAs = NPM_COMMAND): Promise<number> {
  const say = (stream: NodeJS.WritableStream, text: string) =>
    new Promise<void>((r) => stream.write(text.endsWith('\n') ? text : text + '\n', () => r()));
  try {
    const { command, args } = resolve(argv);
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(`invalid configuration: ${err.message}`);
      throw err;
    }
    if (!usesRedis(config)) throw new CliError(EMBEDDED_STORE_MESSAGE);
    const ctx = await connect(config, io, interrupted);
    try {
      await command.run(args, ctx);
    } finally {
      await ctx.close();
    }
    return 0;
  } catch (err) {
    if (err instanceof HelpRequested) {
      await say(io.stdout, named(err.usage, calledAs));
      return 0;
    }
    if (err instanceof UsageError) {
      await say(io.stderr, `admin: ${err.message}\n\n${named(err.usage, calledAs)}`);
      return 2;
    }
    if (err instanceof Interrupted) return 130;
    if (isBrokenPipe(err)) return 0;
    await say(io.stderr, `admin: ${oneLine(err)}`);
    return 1;
  }
}

/** The consumer closed the pipe (`… | head`): stop quietly, as a Unix filter does. */
const isBrokenPipe = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';

function oneLine(err: unknown): string {
  if (err instanceof CliError) return err.message;
  if (err instanceof AppError && err.code === 'store_unavailable') {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `Redis is unavailable${cause}`;
  }
  if (err instanceof AppError) return err.message;
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  // Our own SCAN / stream reads surface ioredis errors unwrapped.
  if (REDIS_FAILURE.test(message ?? '')) return `Redis is unavailable: ${message}`;
  return `failed: ${message}`;
}

const REDIS_FAILURE =
  /Connection is closed|Command timed out|Stream isn't writeable|ECONNREFUSED|ECONNRESET|CLUSTERDOWN|LOADING|READONLY|TRYAGAIN/;

/**
 * The CLI's two failure kinds, mapped to exit codes in one place (docs/cli.md):
 * 1 = the command could not be done (unknown handle or user, store down, bad config),
 * 2 = the command line itself is wrong (the usage text goes to stderr).
 */
export class CliError extends Error {
  readonly exitCode = 1;
}

export class UsageError extends Error {
  readonly exitCode = 2;
  /** The usage text of the command that was misused. */
  readonly usage: string;
  constructor(message: string, usage: string) {
    super(message);
    this.usage = usage;
  }
}

/** `--help` anywhere: print the usage on stdout and exit 0. */
export class HelpRequested extends Error {
  readonly usage: string;
  constructor(usage: string) {
    super('help');
    this.usage = usage;
  }
}

export const EMBEDDED_STORE_MESSAGE =
  'the admin CLI needs a shared Redis (set REDIS_URL); the embedded store lives inside the server process';

/** Ctrl-C during a command that is not meant to run until interrupted: exit 130. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

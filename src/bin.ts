#!/usr/bin/env node
/**
 * The package's command: `sliding-sessions serve` starts the server (configured by the
 * environment, like `npm start`), `sliding-sessions admin <command>` runs the admin CLI.
 * Compiled to dist/src/bin.js, so neither needs TypeScript tooling at run time.
 */
import { INSTALLED_COMMAND, NPM_COMMAND } from './cli/usage.js';

const USAGE = `Usage: sliding-sessions <serve|admin> [...]

  sliding-sessions serve                 start the server (configured by the environment:
                                         PORT, HOST, REDIS_URL, …; no REDIS_URL = embedded store)
  sliding-sessions admin <command> …     the admin CLI (users, sessions, events);
                                         \`sliding-sessions admin --help\` lists the commands`;

const [command, ...rest] = process.argv.slice(2);
switch (command) {
  case 'serve':
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`${USAGE}\n`);
    } else if (rest.length > 0) {
      process.stderr.write(`sliding-sessions: serve takes no arguments (configure it with environment variables)\n\n${USAGE}\n`);
      process.exitCode = 2;
    } else {
      // The server module starts on import.
      await import('./main.js');
    }
    break;
  case 'admin': {
    const { runAdminProcess } = await import('./cli/process.js');
    // `npm run admin` builds and runs this same file; its users typed the npm command.
    await runAdminProcess(rest, process.env['npm_lifecycle_event'] === 'admin' ? NPM_COMMAND : INSTALLED_COMMAND);
    break;
  }
  case undefined:
  case '--help':
  case '-h':
  case 'help':
    process[command === undefined ? 'stderr' : 'stdout'].write(`${USAGE}\n`);
    process.exitCode = command === undefined ? 2 : 0;
    break;
  default:
    process.stderr.write(`sliding-sessions: unknown command '${command}'\n\n${USAGE}\n`);
    process.exitCode = 2;
}

/**
 * The admin CLI entry (DESIGN §7): `npm run admin -- <command>`; for piping --json use
 * `npm run -s admin -- …` or `npx tsx scripts/admin.ts …` (no npm banner on stdout).
 * Everything lives in src/cli; this file only binds it to the process.
 */
import { run } from '../src/cli/main.js';

const interrupted = new AbortController();
const onSignal = () => {
  // A second Ctrl-C while closing does not wait any more.
  if (interrupted.signal.aborted) process.exit(130);
  interrupted.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// `… | head` closes the pipe: end quietly (main maps EPIPE on write to exit 0).
process.stdout.on('error', () => {});

const code = await run(process.argv.slice(2), process.env, process, interrupted.signal);
process.exitCode = code;
// Connections are closed by now; should anything still hold the event loop, do not
// let it keep an admin command alive.
setTimeout(() => process.exit(code), 1000).unref();

/**
 * Binds the admin CLI to this process: Ctrl-C / SIGTERM interrupt it, a closed stdout
 * pipe ends it quietly, and its result becomes the exit code. Shared by the package's
 * `sliding-sessions admin` and the dev wrapper scripts/admin.ts.
 */
import { run } from './main.js';

/** `calledAs`: what the usage texts call it (main.ts run()). */
export async function runAdminProcess(argv: string[], calledAs?: string): Promise<void> {
  const interrupted = new AbortController();
  const onSignal = () => {
    // A second Ctrl-C while closing does not wait any more.
    if (interrupted.signal.aborted) process.exit(130);
    interrupted.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `… | head` closes the pipe: end quietly (run maps EPIPE on write to exit 0).
  process.stdout.on('error', () => {});

  const code = await run(argv, process.env, process, interrupted.signal, calledAs);
  process.exitCode = code;
  // Connections are closed by now; should anything still hold the event loop, do not
  // let it keep an admin command alive.
  setTimeout(() => process.exit(code), 1000).unref();
}

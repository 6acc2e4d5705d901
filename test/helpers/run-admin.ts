/**
 * Runs the admin CLI the way an operator does: a subprocess (`node --import tsx
 * scripts/admin.ts …`) with its own environment, so exit codes, stdout/stderr and
 * prompt exit are all real.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/cli/main.js';

export const ADMIN = fileURLToPath(new URL('../../scripts/admin.ts', import.meta.url));

export interface AdminResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a run: only PATH and what the test gives (no stray REDIS_URL). */
export const adminEnv = (env: Record<string, string>): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, ...env });

export function startAdmin(args: string[], env: Record<string, string>): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', ADMIN, ...args], { env: adminEnv(env) });
}

export function admin(args: string[], env: Record<string, string>, stdin = ''): Promise<AdminResult> {
  return new Promise((resolve, reject) => {
    const p = startAdmin(args, env);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(stdin);
  });
}

/** Resolves with everything read so far once `text` has appeared on the stream. */
export function waitFor(stream: NodeJS.ReadableStream, text: string | RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (typeof text === 'string' ? seen.includes(text) : text.test(seen)) {
        stream.off('data', onData);
        resolve(seen);
      }
    };
    stream.on('data', onData);
    stream.once('end', () => reject(new Error(`stream ended before ${String(text)}; got: ${seen}`)));
  });
}

/**
 * The same CLI code in this process (no subprocess start-up): for setup steps and
 * matrices, where the process boundary itself is not what the test is about.
 */
export async function adminInProcess(args: string[], env: Record<string, string>, stdin = ''): Promise<AdminResult> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        append(String(chunk));
        cb();
      },
    });
  const io = {
    stdout: sink((s) => { stdout += s; }),
    stderr: sink((s) => { stderr += s; }),
    stdin: Readable.from(stdin ? [Buffer.from(stdin)] : []),
  };
  const code = await run(args, env, io, new AbortController().signal);
  return { code, stdout, stderr };
}

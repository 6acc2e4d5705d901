/**
 * Where a new password comes from: stdin with --password-stdin (scripts, pipes), else a
 * no-echo prompt when stdin is a terminal, asked twice. Never from argv (it would sit in
 * shell history and `ps`). Prompts go to stderr so stdout stays clean.
 */
import type { Readable, Writable } from 'node:stream';
import { checkPasswordInput, checkPasswordStrength, MAX_PASSWORD_BYTES } from '../users/password.js';
import { CliError, UsageError } from './errors.js';

export interface PasswordSource {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stderr: Writable;
  fromStdin: boolean;
  usage: string;
}

export async function readNewPassword(src: PasswordSource, minLength: number): Promise<string> {
  let password: string;
  if (src.fromStdin) {
    password = await readStdin(src.stdin);
  } else if (src.stdin.isTTY && src.stdin.setRawMode) {
    password = await prompt(src, 'New password: ');
    const again = await prompt(src, 'Repeat it: ');
    if (again !== password) throw new CliError('the passwords do not match');
  } else {
    throw new UsageError('stdin is not a terminal: pass the password with --password-stdin', src.usage);
  }
  // The server's own rules: the byte cap, then the minimum length after NFKC.
  checkPasswordStrength(checkPasswordInput(password), minLength);
  return password;
}

/** All of stdin minus one trailing newline; stops reading past the size cap. */
async function readStdin(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    chunks.push(buf);
    size += buf.length;
    if (size > MAX_PASSWORD_BYTES + 2) {
      throw new CliError(`the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
    }
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** One line from a terminal in raw mode, echoing nothing. Ctrl-C or Ctrl-D aborts. */
function prompt(src: PasswordSource, question: string): Promise<string> {
  const { stdin, stderr } = src;
  return new Promise((resolve, reject) => {
    let line = '';
    const done = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      stderr.write('\n');
      if (err) reject(err);
      else resolve(line);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new CliError('cancelled'));
        if (ch === '\u007f' || ch === '\b') line = [...line].slice(0, -1).join('');
        else line += ch;
      }
    };
    // Echo off before the prompt shows, so nothing typed after it is ever echoed.
    stdin.setRawMode?.(true);
    stderr.write(question);
    stdin.setEncoding('utf8');
    stdin.on('data', onData);
    stdin.resume();
  });
}

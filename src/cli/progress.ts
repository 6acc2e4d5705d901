/**
 * A counter on stderr for the scans that can take seconds (`sessions list`, `sessions
 * stats`, `user list`), so an operator can tell a long scan from a hung one. Only for a
 * person watching: stderr must be a terminal, --json (a consumer program) turns it off,
 * and a scan that ends within a second shows nothing at all. The line is rewritten in
 * place with \r and erased before anything goes to stdout, which may be the same
 * terminal, and at the end.
 */
import type { Io } from './types.js';

const AFTER_MS = 1000;
/** Redraws at most this often: a SCAN reply arrives every few milliseconds. */
const EVERY_MS = 100;
const ERASE = '\r\x1b[K';

export class ScanProgress {
  readonly #io: Io;
  readonly #what: string;
  readonly #on: boolean;
  readonly #now: () => number;
  readonly #start: number;
  #count = 0;
  #drawnAt = Number.NEGATIVE_INFINITY;
  #shown = false;

  /** `what`: the plural noun counted (`sessions`, `users`). */
  constructor(io: Io, what: string, opts: { json: boolean }) {
    this.#io = io;
    this.#what = what;
    this.#on = !opts.json && io.stderr.isTTY === true;
    this.#now = io.now ?? (() => performance.now());
    this.#start = this.#on ? this.#now() : 0;
  }

  /** `n` more records read. */
  add(n: number): void {
    if (!this.#on) return;
    this.#count += n;
    const now = this.#now();
    if (now - this.#start <= AFTER_MS || now - this.#drawnAt < EVERY_MS) return;
    this.#drawnAt = now;
    this.#shown = true;
    this.#io.stderr.write(`\rscanned ${this.#count} ${this.#what}…`);
  }

  /** Erases the counter (before stdout is written, and when the scan ends). */
  clear(): void {
    if (!this.#shown) return;
    this.#shown = false;
    this.#io.stderr.write(ERASE);
  }
}

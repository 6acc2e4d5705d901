/**
 * Writing results: a JSON array streamed element by element, and a table printed in
 * pages under one header, so listing millions of sessions never holds them all in
 * memory. Both respect stdout backpressure (a slow pipe slows the SCAN, not the heap).
 */
import type { Writable } from 'node:stream';
import Table from 'cli-table3';

export async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) {
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => { out.off('error', onError); resolve(); };
      const onError = (err: Error) => { out.off('drain', onDrain); reject(err); };
      out.once('drain', onDrain);
      out.once('error', onError);
    });
  }
}

/**
 * Client-supplied text (user agent, IP, user names) may carry terminal escapes; a table
 * shows them defanged. JSON output escapes them by itself.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const printable = (s: string): string => s.replace(CONTROL, '?');

/**
 * `[` … `]` with one element per line; valid JSON whether it holds 0 or 10⁶ elements.
 * Elements are gathered into ~64 KiB writes: one syscall per element would cost more
 * than reading the sessions from Redis.
 */
export class JsonArrayWriter {
  #count = 0;
  #buffer: string[] = [];
  #size = 0;
  constructor(
    private readonly out: Writable,
    private readonly flushAt = 64 * 1024,
  ) {}
  async push(value: unknown): Promise<void> {
    const text = (this.#count++ === 0 ? '[\n' : ',\n') + JSON.stringify(value);
    this.#buffer.push(text);
    this.#size += text.length;
    if (this.#size >= this.flushAt) await this.#flush();
  }
  async end(): Promise<void> {
    this.#buffer.push(this.#count === 0 ? '[]\n' : '\n]\n');
    await this.#flush();
  }
  get count(): number {
    return this.#count;
  }
  async #flush(): Promise<void> {
    const text = this.#buffer.join('');
    this.#buffer = [];
    this.#size = 0;
    await write(this.out, text);
  }
}

export interface Column {
  head: string;
  /** Widest the column may grow to; longer cells are truncated with '…'. */
  max: number;
}

const BORDERLESS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '',
  right: '', 'right-mid': '', middle: '  ',
};

/**
 * An aligned table (cli-table3) printed in pages: the first page fixes the column
 * widths (each capped at its max) and carries the header; later pages reuse the widths,
 * so the pages read as one table.
 */
export class TablePager {
  #rows: string[][] = [];
  #widths: number[] | undefined;
  #printed = 0;
  /** Runs before each page is written (a progress counter on the same terminal steps aside). */
  beforeWrite: () => void = () => {};
  constructor(
    private readonly out: Writable,
    private readonly columns: Column[],
    private readonly pageSize = 100,
    /** Use each column's max as its width from the start (rows printed as they come). */
    fixedWidths = false,
  ) {
    if (fixedWidths) this.#widths = columns.map((c) => c.max);
  }

  async push(row: string[]): Promise<void> {
    this.#rows.push(row.map(printable));
    if (this.#rows.length >= this.pageSize) await this.#flush();
  }

  /** Prints what is left; with no rows at all, prints `empty` instead of a bare header. */
  async end(empty: string): Promise<void> {
    if (this.#rows.length > 0) await this.#flush();
    if (this.#printed === 0) {
      this.beforeWrite();
      await write(this.out, empty + '\n');
    }
  }

  async #flush(): Promise<void> {
    const first = this.#printed === 0;
    if (this.#widths === undefined) {
      this.#widths = this.columns.map((c, i) =>
        Math.min(c.max, Math.max(c.head.length, ...this.#rows.map((r) => (r[i] ?? '').length))),
      );
    }
    const widths = this.#widths!;
    const table = new Table({
      ...(first ? { head: this.columns.map((c) => c.head) } : {}),
      colWidths: widths,
      wordWrap: false,
      truncate: '…',
      chars: BORDERLESS,
      style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    });
    table.push(...this.#rows);
    let text = table.toString();
    if (first) {
      // Underline the header so the page boundary is the only thing that is invisible.
      const lines = text.split('\n');
      const rule = widths.map((w) => '-'.repeat(w)).join('  ');
      text = [lines[0], rule, ...lines.slice(1)].join('\n');
    }
    this.beforeWrite();
    await write(this.out, trimLines(text) + '\n');
    this.#printed += this.#rows.length;
    this.#rows = [];
  }
}

/** A two-column key/value table for one record (`sessions show`). */
export function keyValueTable(pairs: [string, string][]): string {
  const table = new Table({
    chars: BORDERLESS,
    wordWrap: true,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
  });
  for (const [k, v] of pairs) table.push([k, printable(v)]);
  return trimLines(table.toString());
}

const trimLines = (text: string): string => text.replace(/ +$/gm, '');

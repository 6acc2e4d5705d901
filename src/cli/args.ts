/**
 * Command-line parsing on node:util parseArgs (strict): unknown options, missing
 * values, wrong positional counts and malformed numbers all become UsageError (exit 2),
 * and `--help` is accepted by every command.
 */
import { parseArgs } from 'node:util';
import { HelpRequested, UsageError } from './errors.js';

type OptionSpec = { type: 'boolean' | 'string'; short?: string };

export interface CommandSpec {
  usage: string;
  options?: Record<string, OptionSpec>;
  /** Names of the positional arguments, in order. */
  positionals?: string[];
  /** How many positionals may be left out at the end (default 0). */
  optionalPositionals?: number;
  /** String options that must be positive integers (checked here, before connecting). */
  integers?: string[];
  /** Rules across arguments; throws UsageError. */
  check?: (parsed: Parsed) => void;
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parseCommand(argv: string[], spec: CommandSpec): Parsed {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...(spec.options ?? {}), help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // --help wins over any other mistake on the same line.
    if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested(spec.usage);
    throw new UsageError(parseErrorMessage(err), spec.usage);
  }
  if (parsed.values['help']) throw new HelpRequested(spec.usage);
  const names = spec.positionals ?? [];
  const min = names.length - (spec.optionalPositionals ?? 0);
  const got = parsed.positionals;
  if (got.length < min) throw new UsageError(`missing <${names[got.length]}>`, spec.usage);
  if (got.length > names.length) {
    throw new UsageError(`unexpected argument '${got[names.length]}'`, spec.usage);
  }
  const values = parsed.values as Parsed['values'];
  for (const name of spec.integers ?? []) positiveInt(values[name], name, spec.usage);
  const result = { values, positionals: got };
  spec.check?.(result);
  return result;
}

function parseErrorMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  // parseArgs messages are multi-line with advice about '--'; keep the first line.
  return msg.split('\n')[0]!.replace(/\.\s.*$/, '.');
}

/** A positive integer option (--limit, --top), or the fallback when absent. */
export function positiveInt(
  value: string | boolean | undefined,
  name: string,
  usage: string,
  fallback?: number,
): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^[1-9][0-9]{0,8}$/.test(value)) {
    throw new UsageError(`--${name} needs a positive integer`, usage);
  }
  return Number(value);
}

export const str = (v: string | boolean | undefined): string | undefined =>
  typeof v === 'string' ? v : undefined;

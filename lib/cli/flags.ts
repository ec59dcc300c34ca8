/**
 * The one flag convention of every `ipo` command: node:util parseArgs (strict, no positionals), a
 * `Flags` reader whose checks all read `(name, ...)`, one UsageError (exit 2 with the command's
 * usage), and the flags every command shares (-h/--help, -q/--quiet, -o/--output, --concurrency,
 * --limit) declared once. The endpoint and sampling flags are in ./endpoint-flags.ts, kept apart so
 * that commands without a model server (ipo train) load no HTTP client.
 *
 * Old spellings kept as deprecated aliases (a warning on stderr): --out (ipo train) here, and
 * --timeout-ms (ipo eval, ipo csr) in ./endpoint-flags.ts.
 */
import { parseArgs } from 'node:util';
import { formatError } from '../run/errors.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export type OptionSpec = { type: 'string' | 'boolean'; short?: string };
export type OptionSpecs = Record<string, OptionSpec>;

export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  quiet: { type: 'boolean', short: 'q' },
} as const satisfies OptionSpecs;

export const OUTPUT_OPTION = { output: { type: 'string', short: 'o' } } as const satisfies OptionSpecs;

export const RUN_OPTIONS = {
  concurrency: { type: 'string' },
  limit: { type: 'string' },
} as const satisfies OptionSpecs;

/** Help lines for the shared flags, so every command describes them the same way. */
export const COMMON_HELP = {
  run: `  --concurrency N         requests in flight (default 8)
  --limit N               only the first N inputs`,
  common: `  -q, --quiet             no progress on stderr
  -h, --help              this text`,
};

/** Reads checked values from parsed flags; every check throws UsageError naming the flag. */
export class Flags {
  constructor(
    readonly command: string,
    private readonly values: Record<string, string | boolean | undefined>,
    private readonly warn: (message: string) => void = (m) => process.stderr.write(`ipo ${command}: ${m}\n`),
  ) {}

  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  string(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : undefined;
  }

  required(name: string, what = ''): string {
    const v = this.string(name);
    if (v === undefined || v === '') throw new UsageError(`--${name} is required${what ? ` (${what})` : ''}`);
    return v;
  }

  bool(name: string): boolean {
    return this.values[name] === true;
  }

  /** An integer >= min (and <= max); `fallback` when the flag is absent. */
  int(name: string, min: number, fallback: number, max?: number): number;
  int(name: string, min: number, fallback?: number, max?: number): number | undefined;
  int(name: string, min: number, fallback?: number, max?: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || n < min || (max !== undefined && n > max)) {
      throw new UsageError(`--${name} must be an integer ${max === undefined ? `>= ${min}` : `in [${min}, ${max}]`}, got '${v}'`);
    }
    return n;
  }

  /** A finite number in [min, max] (`above` makes the lower end exclusive); `fallback` when absent. */
  number(name: string, range: { min: number; max?: number; above?: boolean }, fallback: number): number;
  number(name: string, range: { min: number; max?: number; above?: boolean }, fallback?: number): number | undefined;
  number(name: string, range: { min: number; max?: number; above?: boolean }, fallback?: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    const low = range.above ? n > range.min : n >= range.min;
    if (v.trim() === '' || !Number.isFinite(n) || !low || (range.max !== undefined && n > range.max)) {
      const what = range.max !== undefined ? `in [${range.min}, ${range.max}]` : `${range.above ? '>' : '>='} ${range.min}`;
      throw new UsageError(`--${name} must be a number ${what}, got '${v}'`);
    }
    return n;
  }

  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T;
  choice<T extends string>(name: string, choices: readonly T[], fallback?: T): T | undefined;
  choice<T extends string>(name: string, choices: readonly T[], fallback?: T): T | undefined {
    const v = this.string(name);
    if (v === undefined) return fallback;
    if (!(choices as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${v}'`);
    return v as T;
  }

  concurrency(): number {
    return this.int('concurrency', 1, 8);
  }

  limit(): number | undefined {
    return this.int('limit', 1);
  }

  quiet(): boolean {
    return this.bool('quiet');
  }

  /** Prints a deprecation or other notice on stderr. */
  notice(message: string): void {
    this.warn(message);
  }

  /** --output, or the deprecated `alias` spelling (with a warning), or `fallback`. */
  output(fallback?: string, alias?: string): string | undefined {
    if (alias && this.has(alias)) {
      if (this.has('output')) throw new UsageError(`give --output, not both --output and --${alias}`);
      this.warn(`--${alias} is deprecated: use --output`);
      return this.string(alias);
    }
    return this.string('output') ?? fallback;
  }
}

/** Configuration errors found while building library objects (missing endpoint, bad URL) are usage errors. */
export function asUsage<T>(build: () => T): T {
  try {
    return build();
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

export interface CommandSpec {
  /** The command's name after `ipo`. */
  name: string;
  /** The whole --help text; its first paragraph is the usage printed with a usage error. */
  help: string;
  options: OptionSpecs;
  /** What Ctrl-C prints after 'interrupted; ' (how to resume), from the parsed flags. */
  onInterrupt?: (flags: Flags) => string;
}

/**
 * Parses argv, answers --help, runs `body`, and turns errors into exit codes: 2 for a usage error
 * (the reason, then the command's usage), 1 for anything else (the reason, one line).
 */
export async function runCommand(spec: CommandSpec, argv: string[], body: (flags: Flags) => Promise<number>): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, strict: true, allowPositionals: false, options: spec.options }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    return usageFailure(spec, formatError(err));
  }
  if (values.help) {
    process.stdout.write(spec.help);
    return 0;
  }
  const flags = new Flags(spec.name, values);
  const interrupted = () => {
    process.stderr.write(`\nipo ${spec.name}: interrupted; ${spec.onInterrupt!(flags)}\n`);
    process.exit(130);
  };
  if (spec.onInterrupt) process.once('SIGINT', interrupted);
  try {
    return await body(flags);
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(spec, err.message);
    process.stderr.write(`ipo ${spec.name}: ${formatError(err)}\n`);
    if (process.env.IPO_DEBUG) console.error(err);
    return 1;
  } finally {
    process.removeListener('SIGINT', interrupted);
  }
}

function usageFailure(spec: CommandSpec, message: string): number {
  const usage = spec.help.split(/\n\s*\n/)[0]!.trimEnd();
  process.stderr.write(`ipo ${spec.name}: ${message.replace(/^TypeError: /, '')}\n${usage}\nRun 'ipo ${spec.name} --help' for every option.\n`);
  return 2;
}

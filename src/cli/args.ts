import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../common/errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Strict flag parsing for one subcommand; unknown flags become a UsageError (exit 2). */
export function parseCommandArgs(command: string, args: string[], options: OptionSpec, allowPositionals = true): Parsed {
  try {
    const r = parseArgs({ args, options, strict: true, allowPositionals });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (e) {
    const raw = e instanceof Error ? e.message : String(e);
    // Node's own message is long-winded; keep the part that names the offending flag.
    const flag = /^Unknown option '([^']+)'/.exec(raw)?.[1];
    const msg = flag !== undefined ? `unknown option '${flag}'` : raw.split('.')[0];
    throw new UsageError(`vem ${command}: ${msg}`, `see 'vem ${command} --help'`);
  }
}

export function stringOpt(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function boolOpt(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

/** Command-line helpers for `vem call`: arguments in, JSON out. */
import { fromJsonValue, toJsonValue, type XmlRpcValue } from './value.js';

/**
 * One CLI argument as an XML-RPC value: numbers, true/false, null, JSON
 * objects/arrays and "quoted" JSON strings are parsed; anything else is a string.
 * A leading "s:" forces a string ("s:42" is the string "42").
 */
export function parseCliArg(arg: string): XmlRpcValue {
  if (arg.startsWith('s:')) return arg.slice(2);
  if (arg === 'true') return true;
  if (arg === 'false') return false;
  if (arg === 'null') return null;
  if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(arg)) return Number(arg);
  if (/^[[{"]/.test(arg)) {
    try {
      return fromJsonValue(JSON.parse(arg) as unknown);
    } catch {
      return arg;
    }
  }
  return arg;
}

export function parseCliArgs(args: string[]): XmlRpcValue[] {
  return args.map(parseCliArg);
}

/** A result as indented JSON (Buffer as base64 text, Date as ISO text). */
export function formatResultJson(v: XmlRpcValue): string {
  return JSON.stringify(toJsonValue(v), null, 2);
}

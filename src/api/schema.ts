/**
 * A small runtime type language for the agent's wire shapes: each type knows its
 * XML-RPC type name (for signatures), checks a value (for the contract test and
 * the client) and carries its TypeScript type, so a shape is written once.
 */
import type { XmlRpcValue } from '../common/xmlrpc/value.js';

export type WireName = 'int' | 'double' | 'boolean' | 'string' | 'dateTime.iso8601' | 'base64' | 'struct' | 'array' | 'nil' | 'undef';

export interface CheckOptions {
  /** Report struct members the type does not declare (the contract test); clients ignore them. */
  strict?: boolean;
}

export interface Type<T> {
  /** The XML-RPC type names a value of this type travels as (more than one for a union). */
  readonly wire: readonly WireName[];
  /** Pushes "path: problem" for every mismatch. */
  check(v: unknown, path: string, out: string[], o: CheckOptions): void;
  /** Phantom: the TypeScript type. */
  readonly _t?: T;
}

export type Infer<S> = S extends Type<infer T> ? T : never;

function prim<T>(wire: WireName, what: string, ok: (v: unknown) => boolean): Type<T> {
  return {
    wire: [wire],
    check(v, path, out) {
      if (!ok(v)) out.push(`${path}: want ${what}, got ${describe(v)}`);
    },
  };
}

function describe(v: unknown): string {
  if (v === null) return 'nil';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a dateTime';
  if (Buffer.isBuffer(v)) return 'base64';
  if (typeof v === 'object') return 'a struct';
  return `${typeof v} ${JSON.stringify(v).slice(0, 40)}`;
}

export function isPlainStruct(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v);
}

/** An integral number (within int32 it travels as <int>, beyond as <double>). */
export const int = prim<number>('int', 'an integer', (v) => typeof v === 'number' && Number.isInteger(v));
/** Any finite number. */
export const double = prim<number>('double', 'a number', (v) => typeof v === 'number' && Number.isFinite(v));
export const bool = prim<boolean>('boolean', 'a boolean', (v) => typeof v === 'boolean');
export const string = prim<string>('string', 'a string', (v) => typeof v === 'string');
export const base64 = prim<Buffer>('base64', 'base64', (v) => Buffer.isBuffer(v));
export const dateTime = prim<Date>('dateTime.iso8601', 'a dateTime', (v) => v instanceof Date);
/** Anything (XML-RPC 'undef' in a signature): values the agent relays without owning their shape. */
export const any: Type<XmlRpcValue> = { wire: ['undef'], check: () => undefined };

/** One of a fixed set of strings. */
export function literal<const L extends readonly string[]>(...values: L): Type<L[number]> {
  return prim<L[number]>('string', `one of ${values.join('|')}`, (v) => typeof v === 'string' && values.includes(v));
}

export function array<T>(item: Type<T>): Type<T[]> {
  return {
    wire: ['array'],
    check(v, path, out, o) {
      if (!Array.isArray(v)) {
        out.push(`${path}: want an array, got ${describe(v)}`);
        return;
      }
      for (let i = 0; i < v.length && out.length < 20; i++) item.check(v[i], `${path}[${i}]`, out, o);
    },
  };
}

/** A struct whose keys are data (VM names, parameter names), every value of one type. */
export function record<T>(value: Type<T>): Type<Record<string, T>> {
  return {
    wire: ['struct'],
    check(v, path, out, o) {
      if (!isPlainStruct(v)) {
        out.push(`${path}: want a struct, got ${describe(v)}`);
        return;
      }
      for (const [k, x] of Object.entries(v)) value.check(x, `${path}.${k}`, out, o);
    },
  };
}

/** Marks a struct member (or a trailing method parameter) as optional. */
export interface Optional<T> {
  readonly optional: Type<T>;
}
export function opt<T>(t: Type<T>): Optional<T> {
  return { optional: t };
}

type Field = Type<unknown> | Optional<unknown>;
type Fields = Record<string, Field>;
type ReqKeys<F extends Fields> = { [K in keyof F]: F[K] extends Optional<unknown> ? never : K }[keyof F];
type OptKeys<F extends Fields> = { [K in keyof F]: F[K] extends Optional<unknown> ? K : never }[keyof F];
type FieldType<X> = X extends Optional<infer T> ? T : X extends Type<infer T> ? T : never;
type Flat<T> = { [K in keyof T]: T[K] };
export type StructOf<F extends Fields> = Flat<{ [K in ReqKeys<F>]: FieldType<F[K]> } & { [K in OptKeys<F>]?: FieldType<F[K]> }>;

export interface StructType<F extends Fields> extends Type<StructOf<F>> {
  readonly fields: F;
}

export function struct<F extends Fields>(fields: F): StructType<F> {
  const entries = Object.entries(fields).map(([k, f]) => [k, 'optional' in f ? f.optional : f, 'optional' in f] as const);
  return {
    fields,
    wire: ['struct'],
    check(v, path, out, o) {
      if (!isPlainStruct(v)) {
        out.push(`${path}: want a struct, got ${describe(v)}`);
        return;
      }
      for (const [k, t, optional] of entries) {
        const x = v[k];
        if (x === undefined) {
          if (!optional) out.push(`${path}.${k}: missing`);
          continue;
        }
        t.check(x, `${path}.${k}`, out, o);
      }
      if (o.strict) for (const k of Object.keys(v)) if (!(k in fields)) out.push(`${path}.${k}: not declared`);
    },
  };
}

/** A struct that extends another with more members. */
export function extend<A extends Fields, B extends Fields>(base: StructType<A>, more: B): StructType<A & B> {
  return struct({ ...base.fields, ...more } as A & B);
}

/** A value of either type (a parameter that takes a signal name or number). */
export function union<A, B>(a: Type<A>, b: Type<B>): Type<A | B> {
  return {
    wire: [...a.wire, ...b.wire],
    check(v, path, out, o) {
      const ea: string[] = [];
      a.check(v, path, ea, o);
      if (ea.length === 0) return;
      const eb: string[] = [];
      b.check(v, path, eb, o);
      if (eb.length === 0) return;
      out.push(...(ea.length <= eb.length ? ea : eb));
    },
  };
}

/** Every problem of a value against a type (empty = fits). */
export function problems<T>(t: Type<T>, v: unknown, o: CheckOptions = {}, path = 'result'): string[] {
  const out: string[] = [];
  t.check(v, path, out, o);
  return out;
}

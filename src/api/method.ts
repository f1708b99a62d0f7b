/**
 * One agent method, declared once: its wire name, typed parameters (trailing
 * ones may be optional), typed result, help text, whether it changes anything
 * and how the audit log records its arguments. The agent binds a handler to it
 * (src/api/serve.ts); clients call it (src/api/client.ts).
 */
import type { XmlRpcValue } from '../common/xmlrpc/value.js';
import type { Optional, Type, WireName } from './schema.js';

export type Param = Type<unknown> | Optional<unknown>;

type ParamType<X> = X extends Optional<infer T> ? T : X extends Type<infer T> ? T : never;

/** A parameter list as a tuple type: optional parameters become optional elements. */
export type ArgsOf<P extends readonly unknown[]> = P extends readonly []
  ? []
  : P extends readonly [infer H, ...infer R]
    ? H extends Optional<unknown>
      ? [ParamType<H>?, ...ArgsOf<R>]
      : [ParamType<H>, ...ArgsOf<R>]
    : never;

export interface Method<P extends readonly Param[] = readonly Param[], R = unknown> {
  readonly name: string;
  readonly help: string;
  readonly params: P;
  readonly result: Type<R>;
  readonly mutates: boolean;
  /** The arguments as the audit log records them (secrets replaced); absent: as given. */
  readonly redact?: (params: XmlRpcValue[]) => XmlRpcValue[];
  /** XML-RPC introspection: [returnType, ...paramTypes] per accepted arity and type. */
  readonly signature: string[][];
}

export type AnyMethod = Method<readonly Param[], unknown>;
export type Args<M> = M extends Method<infer P, unknown> ? ArgsOf<P> : never;
export type Result<M> = M extends Method<readonly Param[], infer R> ? R : never;

function typeOfParam(p: Param): Type<unknown> {
  return 'optional' in p ? p.optional : p;
}

/** Every [ret, ...params] combination: one per arity from the required count up, and per member of a union. */
export function signaturesOf(params: readonly Param[], result: Type<unknown>): string[][] {
  const required = params.findIndex((p) => 'optional' in p);
  const min = required < 0 ? params.length : required;
  for (let i = min; i < params.length; i++) {
    if (!('optional' in (params[i] as Param))) throw new Error(`parameter ${i + 1} is required but follows an optional one`);
  }
  const ret = result.wire.length === 1 ? (result.wire[0] as WireName) : 'undef';
  const out: string[][] = [];
  for (let n = min; n <= params.length; n++) {
    let combos: string[][] = [[]];
    for (const p of params.slice(0, n)) combos = combos.flatMap((c) => typeOfParam(p).wire.map((w) => [...c, w]));
    for (const c of combos) out.push([ret, ...c]);
  }
  return out;
}

export function method<const P extends readonly Param[], R>(d: {
  name: string;
  help: string;
  params: P;
  result: Type<R>;
  mutates?: boolean;
  redact?: (params: XmlRpcValue[]) => XmlRpcValue[];
}): Method<P, R> {
  return { ...d, mutates: d.mutates === true, signature: signaturesOf(d.params, d.result as Type<unknown>) };
}

/** The scope argument's help, shared by every method that takes one. */
export const SCOPE_HELP = 'Optional last argument: a scope struct {live: boolean, config: boolean} (default: the current state, as libvirt decides).';

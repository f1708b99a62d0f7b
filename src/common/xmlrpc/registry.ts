/**
 * The method table: registration, argument checking against the declared
 * signatures, and the standard introspection methods plus system.multicall.
 */
import { VemError } from '../errors.js';
import { FaultCode, XmlRpcFault } from './codec.js';
import { fitsType, isStruct, typeOf, type XmlRpcValue } from './value.js';

export interface CallContext {
  /** Who called: "unix:/run/vem/agent.sock", "tcp:127.0.0.1:50312", ... */
  caller: string;
  readOnly: boolean;
}

export interface MethodSpec {
  name: string;
  help: string;
  /** Each entry: [returnType, ...paramTypes] with XML-RPC type names ('undef' = any). */
  signature: string[][];
  /** Changes something: refused in read-only mode and written to the audit log. */
  mutates?: boolean;
  /** The arguments as logs may record them (secrets such as passwords replaced); default: as given. */
  redact?(params: XmlRpcValue[]): XmlRpcValue[];
  handler(params: XmlRpcValue[], ctx: CallContext): Promise<XmlRpcValue> | XmlRpcValue;
}

export interface DispatchRecord {
  method: string;
  params: XmlRpcValue[];
  ctx: CallContext;
  ok: boolean;
  result?: XmlRpcValue;
  fault?: { code: number; message: string };
  ms: number;
  /** What beforeChange returned for this call (the write-ahead audit record's id). */
  intent?: string;
}

/** Turns anything a handler throws into a fault: libvirt's code when it has one. */
export function toFault(e: unknown): XmlRpcFault {
  if (e instanceof XmlRpcFault) return e;
  if (e instanceof VemError) {
    const code = (e as { code?: unknown }).code;
    const msg = e.hint ? `${e.message} (${e.hint})` : e.message;
    return new XmlRpcFault(typeof code === 'number' && code > 0 ? code : FaultCode.APPLICATION_ERROR, msg);
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new XmlRpcFault(FaultCode.INTERNAL_ERROR, `internal error: ${msg}`);
}

function describeArgs(params: XmlRpcValue[]): string {
  return params.length === 0 ? 'no arguments' : `(${params.map(typeOf).join(', ')})`;
}

/** What the onCall hook (audit log) sees of a call's arguments. */
function logged(spec: MethodSpec | undefined, params: XmlRpcValue[]): XmlRpcValue[] {
  return spec?.redact ? spec.redact(params) : params;
}

/** What a declaration fixes about a method (the agent's come from src/api). */
export type MethodDeclaration = Pick<MethodSpec, 'help' | 'signature' | 'mutates' | 'redact'>;

export interface RegistryOptions {
  /**
   * The declared surface: when given, only declared methods may be registered and
   * their help, signatures, mutation flag and redaction come from the declaration.
   */
  declared?: (name: string) => MethodDeclaration | undefined;
}

export class MethodRegistry {
  private readonly methods = new Map<string, MethodSpec>();
  private readonly declared?: RegistryOptions['declared'];
  /** Called after every top-level and multicall-inner call (audit log, metrics). */
  onCall?: (r: DispatchRecord) => void;
  /** Called before a changing call's handler (write-ahead audit): a throw refuses the call. */
  beforeChange?: (r: { method: string; params: XmlRpcValue[]; ctx: CallContext }) => string | undefined;

  constructor(o: RegistryOptions = {}) {
    this.declared = o.declared;
    this.register({
      name: 'system.listMethods',
      help: 'The names of every method this server offers.',
      signature: [['array']],
      handler: () => this.names(),
    });
    this.register({
      name: 'system.methodHelp',
      help: 'A description of one method: what it does, its arguments and its result.',
      signature: [['string', 'string']],
      handler: (p) => this.spec(p[0] as string).help,
    });
    this.register({
      name: 'system.methodSignature',
      help: 'The signatures of one method: a list of [returnType, paramType...] arrays.',
      signature: [['array', 'string']],
      handler: (p) => this.spec(p[0] as string).signature,
    });
    this.register({
      name: 'system.multicall',
      help:
        'Runs several calls in one request. Argument: an array of structs {methodName, params}. ' +
        'Result: an array with, per call, either a one-element array holding its result or a struct {faultCode, faultString}. ' +
        'Calls run one after another, in order; system.multicall cannot be nested.',
      signature: [['array', 'array']],
      handler: (p, ctx) => this.multicall(p[0] as XmlRpcValue[], ctx),
    });
  }

  register(given: MethodSpec): void {
    let spec = given;
    if (this.declared) {
      const d = this.declared(given.name);
      if (!d) throw new VemError(`XML-RPC method ${given.name} is not declared (declare it in src/api first)`);
      spec = { ...given, help: d.help, signature: d.signature, mutates: d.mutates, redact: d.redact };
    }
    if (this.methods.has(spec.name)) throw new VemError(`XML-RPC method ${spec.name} registered twice`);
    if (spec.signature.length === 0) throw new VemError(`XML-RPC method ${spec.name} has no signature`);
    this.methods.set(spec.name, spec);
  }

  has(name: string): boolean {
    return this.methods.has(name);
  }

  names(): string[] {
    return [...this.methods.keys()].sort();
  }

  get(name: string): MethodSpec | undefined {
    return this.methods.get(name);
  }

  private spec(name: string): MethodSpec {
    const s = this.methods.get(name);
    if (!s) throw new XmlRpcFault(FaultCode.METHOD_NOT_FOUND, `unknown method '${name}'`);
    return s;
  }

  /** Throws an INVALID_PARAMS fault unless some signature accepts the arguments. */
  checkParams(spec: MethodSpec, params: XmlRpcValue[]): void {
    const sameArity = spec.signature.filter((s) => s.length - 1 === params.length);
    if (sameArity.length === 0) {
      const arities = [...new Set(spec.signature.map((s) => s.length - 1))].sort((a, b) => a - b);
      throw new XmlRpcFault(
        FaultCode.INVALID_PARAMS,
        `${spec.name} takes ${arities.join(' or ')} argument(s), got ${params.length}; signature: ${spec.signature.map((s) => `(${s.slice(1).join(', ')})`).join(' | ')}`,
      );
    }
    if (sameArity.some((s) => params.every((p, i) => fitsType(p, s[i + 1] as string)))) return;
    const want = sameArity.map((s) => `(${s.slice(1).join(', ')})`).join(' | ');
    throw new XmlRpcFault(FaultCode.INVALID_PARAMS, `${spec.name} wants ${want}, got ${describeArgs(params)}`);
  }

  /** Runs one call; every failure comes out as an XmlRpcFault. */
  async dispatch(method: string, params: XmlRpcValue[], ctx: CallContext): Promise<XmlRpcValue> {
    const t0 = performance.now();
    let spec: MethodSpec | undefined;
    let intent: string | undefined;
    try {
      spec = this.spec(method);
      this.checkParams(spec, params);
      if (spec.mutates && ctx.readOnly) throw new XmlRpcFault(FaultCode.SYSTEM_ERROR, `${method} changes state and this agent is read-only`);
      if (spec.mutates && this.beforeChange) intent = this.beforeChange({ method, params: logged(spec, params), ctx });
      const result = await spec.handler(params, ctx);
      if (method !== 'system.multicall') this.onCall?.({ method, params: logged(spec, params), ctx, ok: true, result, ms: performance.now() - t0, intent });
      return result;
    } catch (e) {
      const f = toFault(e);
      if (method !== 'system.multicall') this.onCall?.({ method, params: logged(spec, params), ctx, ok: false, fault: { code: f.code, message: f.message }, ms: performance.now() - t0, intent });
      throw f;
    }
  }

  /** Whether a method changes state (unknown methods count as not). */
  mutates(method: string): boolean {
    return this.methods.get(method)?.mutates === true;
  }

  private async multicall(calls: XmlRpcValue[], ctx: CallContext): Promise<XmlRpcValue[]> {
    const out: XmlRpcValue[] = [];
    for (const c of calls) {
      try {
        if (!isStruct(c) || typeof c.methodName !== 'string') {
          throw new XmlRpcFault(FaultCode.INVALID_PARAMS, 'each multicall entry must be a struct {methodName, params}');
        }
        if (c.methodName === 'system.multicall') throw new XmlRpcFault(FaultCode.INVALID_REQUEST, 'system.multicall cannot be nested');
        const params = c.params === undefined ? [] : c.params;
        if (!Array.isArray(params)) throw new XmlRpcFault(FaultCode.INVALID_PARAMS, `params of ${c.methodName} must be an array`);
        out.push([await this.dispatch(c.methodName, params, ctx)]);
      } catch (e) {
        const f = toFault(e);
        out.push({ faultCode: f.code, faultString: f.message });
      }
    }
    return out;
  }
}

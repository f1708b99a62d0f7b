/**
 * Several declared calls in one request (system.multicall, which every agent's
 * registry serves): one round trip instead of one per call. Each answer is
 * checked against its own declaration, as client() would; a call that faulted
 * throws the same XmlRpcFault it would have thrown alone.
 */
import { XmlRpcFault } from '../common/xmlrpc/codec.js';
import { isStruct, type XmlRpcValue } from '../common/xmlrpc/value.js';
import { checked, type Caller } from './client.js';
import type { AnyMethod, Args, Result } from './method.js';
import { system } from './system.js';

/** One call of a multicall, typed by its declaration. */
export interface Planned<M extends AnyMethod> {
  method: M;
  args: Args<M>;
}

export function planned<M extends AnyMethod>(method: M, ...args: Args<M>): Planned<M> {
  return { method, args };
}

type Results<T extends readonly Planned<AnyMethod>[]> = { -readonly [K in keyof T]: T[K] extends Planned<infer M> ? Result<M> : never };

export async function multicall<T extends readonly Planned<AnyMethod>[]>(c: Caller, ...calls: T): Promise<Results<T>> {
  const req: XmlRpcValue[] = calls.map((p) => {
    const params = [...(p.args as unknown as Array<XmlRpcValue | undefined>)];
    while (params.length > 0 && params[params.length - 1] === undefined) params.pop();
    return { methodName: p.method.name, params: params as XmlRpcValue[] };
  });
  const raw = await c.call(system.multicall.name, req);
  if (!Array.isArray(raw) || raw.length !== calls.length) throw new XmlRpcFault(-32603, `${system.multicall.name} answered ${Array.isArray(raw) ? `${raw.length} results for ${calls.length} calls` : 'something other than an array'}`);
  return calls.map((p, i) => {
    const r = raw[i];
    if (Array.isArray(r) && r.length === 1) return checked(p.method, r[0] as XmlRpcValue);
    if (isStruct(r) && typeof r['faultCode'] === 'number') throw new XmlRpcFault(r['faultCode'], String(r['faultString'] ?? ''));
    throw new XmlRpcFault(-32603, `${p.method.name} in ${system.multicall.name}: neither a result nor a fault`);
  }) as Results<T>;
}

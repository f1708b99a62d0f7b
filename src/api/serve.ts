/**
 * The agent's side: a handler bound to a declared method. Name, help,
 * signatures, mutation and audit redaction come from the declaration, so XML-RPC
 * introspection shows exactly what src/api declares.
 */
import type { CallContext, MethodRegistry } from '../common/xmlrpc/registry.js';
import type { XmlRpcValue } from '../common/xmlrpc/value.js';
import type { Args, Method, Param, Result } from './method.js';

export type Handler<M> = (args: Args<M>, ctx: CallContext) => Result<M> | Promise<Result<M>>;

/**
 * Registers `handler` for `m`. The registry has checked the arguments' XML-RPC
 * types against the declared signatures before the handler runs, so the typed
 * tuple is what arrived; a handler's answer is a plain value the codec encodes
 * (members left undefined are simply absent).
 */
export function serve<P extends readonly Param[], R>(r: MethodRegistry, m: Method<P, R>, handler: Handler<Method<P, R>>): void {
  r.register({
    name: m.name,
    help: m.help,
    signature: m.signature,
    mutates: m.mutates,
    redact: m.redact,
    handler: (params, ctx) => handler(params as unknown as Args<Method<P, R>>, ctx) as XmlRpcValue | Promise<XmlRpcValue>,
  });
}

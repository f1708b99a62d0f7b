/**
 * The typed client made from the declarations: `client(link).vm.list()` over any
 * link that can make one XML-RPC call (SSH, HTTPS, a unix socket, in-process).
 * Answers are checked against the declared result type, so a shape that drifted
 * fails loudly here, naming the method and the field, instead of deep in a view.
 */
import { VemError } from '../common/errors.js';
import type { XmlRpcValue } from '../common/xmlrpc/value.js';
import { api, type Api } from './index.js';
import type { AnyMethod, Args, Result } from './method.js';
import { problems } from './schema.js';

/** All a client needs of a link: one call. The transport's NodeLink, XmlRpcClient and the balancer's links have it. */
export interface Caller {
  call(method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue>;
}

/** An agent answered with something other than its declared type. */
export class WireShapeError extends VemError {
  constructor(
    readonly method: string,
    readonly problems: string[],
  ) {
    super(`${method} answered an unexpected shape: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (+${problems.length - 3} more)` : ''}`, 'the agent and this client may be different versions');
  }
}

export interface ClientOptions {
  /** Check each answer against its declared type (default true). */
  check?: boolean;
}

/** A raw answer of `m` (from a generic call) as its declared type, or a WireShapeError naming what differs. */
export function checked<M extends AnyMethod>(m: M, raw: XmlRpcValue): Result<M> {
  const p = problems(m.result, raw);
  if (p.length > 0) throw new WireShapeError(m.name, p);
  return raw as Result<M>;
}

/** One call of a declared method; trailing undefined arguments are not sent. */
export async function invoke<M extends AnyMethod>(c: Caller, m: M, args: Args<M>, o: ClientOptions = {}): Promise<Result<M>> {
  const params = [...(args as unknown as Array<XmlRpcValue | undefined>)];
  while (params.length > 0 && params[params.length - 1] === undefined) params.pop();
  if (params.includes(undefined)) throw new VemError(`${m.name}: an optional argument is missing before a given one`);
  const raw = await c.call(m.name, ...(params as XmlRpcValue[]));
  return o.check === false ? (raw as Result<M>) : checked(m, raw);
}

type Fn<M> = (...args: Args<M>) => Promise<Result<M>>;
export type Client = { [NS in keyof Api]: { [K in keyof Api[NS]]: Fn<Api[NS][K]> } };

/** The whole API as methods over one link: client(link).vm.setVcpus('web-01', 4). */
export function client(c: Caller, o: ClientOptions = {}): Client {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [ns, methods] of Object.entries(api)) {
    const fns: Record<string, unknown> = {};
    for (const [k, m] of Object.entries(methods as Record<string, AnyMethod>)) fns[k] = (...args: unknown[]) => invoke(c, m, args as never, o);
    out[ns] = fns;
  }
  return out as unknown as Client;
}

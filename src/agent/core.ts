/** The agent's shared state, handed to each group of methods, plus small argument helpers. */
import { XmlRpcFault } from '../common/xmlrpc/codec.js';
import { fromJsonValue, isStruct, type XmlRpcValue, type XmlRpcStruct } from '../common/xmlrpc/value.js';
import type { HostInfo, Hypervisor, Scope } from '../libvirt/hypervisor.js';
import type { Collector } from './collector.js';
import type { DomainCache } from './domains.js';
import type { EventLog } from './events.js';
import type { JobManager } from './jobs.js';
import { AgentFault, type HypervisorLink } from './link.js';

export interface AgentCore {
  link: HypervisorLink;
  collector: Collector;
  domains: DomainCache;
  events: EventLog;
  jobs: JobManager;
  startedAt: number;
  pollMs: number;
  historySeconds: number;
  readOnly: boolean;
  /** Last host info seen (kept while libvirt is down). */
  host?: HostInfo;
  hv(): Hypervisor;
}

export function badArg(msg: string): XmlRpcFault {
  return new XmlRpcFault(AgentFault.BAD_ARGUMENT, msg);
}

export function notFound(msg: string): XmlRpcFault {
  return new XmlRpcFault(AgentFault.NOT_FOUND, msg);
}

/** Handlers get their arguments as the declared tuple; these read one by position. */
type Params = readonly unknown[];

export function str(p: Params, i: number): string {
  return p[i] as string;
}

export function num(p: Params, i: number): number {
  return p[i] as number;
}

/** A plain copy of libvirt-layer data (undefined members dropped), keeping its type for the declared result. */
export function plain<T>(v: T): T {
  return fromJsonValue(v) as unknown as T;
}

/** An optional trailing struct argument (absent -> {}). */
export function opts(p: Params, i: number): XmlRpcStruct {
  const v = p[i] as XmlRpcValue | undefined;
  if (v === undefined || v === null) return {};
  if (!isStruct(v)) throw badArg(`argument ${i + 1} must be a struct`);
  return v;
}

export function optBool(o: XmlRpcStruct, k: string): boolean | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badArg(`option ${k} must be a boolean`);
  return v;
}

export function optNum(o: XmlRpcStruct, k: string): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badArg(`option ${k} must be a number`);
  return v;
}

export function optStr(o: XmlRpcStruct, k: string): string | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badArg(`option ${k} must be a string`);
  return v;
}

/** The {live, config} scope struct; libvirt's own default (current state) when absent. */
export function scopeArg(p: Params, i: number): Scope | undefined {
  if (p[i] === undefined) return undefined;
  const o = opts(p, i);
  const s: Scope = {};
  const live = optBool(o, 'live');
  const config = optBool(o, 'config');
  if (live !== undefined) s.live = live;
  if (config !== undefined) s.config = config;
  for (const k of Object.keys(o)) if (k !== 'live' && k !== 'config') throw badArg(`unknown scope field '${k}' (use live and/or config)`);
  return s;
}

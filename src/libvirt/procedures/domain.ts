import { DOMAIN_STATES, type DomainInfo, type DomainRef, type DomainState, type ListDomainsOptions, type SchedulerParams, type Scope } from '../hypervisor.js';
import { Proc } from '../rpc/constants.js';
import type { RpcConnection } from '../rpc/connection.js';
import { readTypedParamList, TypedParamType, writeTypedParams, type TypedParam } from '../xdr/typed-params.js';
import { LIST_MAX, readBool, readDomain, readString, scopeFlags, uuidBytes, uuidString, writeDomain, type DomainHandle } from './types.js';

export function toRef(d: DomainHandle): DomainRef {
  return { name: d.name, uuid: uuidString(d.uuid), id: d.id };
}

export function stateName(n: number): DomainState {
  return DOMAIN_STATES[n] ?? 'nostate';
}

export function lookupByName(rpc: RpcConnection, name: string): Promise<DomainHandle> {
  return rpc.call(Proc.DOMAIN_LOOKUP_BY_NAME, (w) => w.string(name), readDomain);
}

export function lookupByUuid(rpc: RpcConnection, uuid: string): Promise<DomainHandle> {
  return rpc.call(Proc.DOMAIN_LOOKUP_BY_UUID, (w) => w.fixedOpaque(uuidBytes(uuid)), readDomain);
}

/** VIR_CONNECT_LIST_DOMAINS_ACTIVE = 1, _INACTIVE = 2; neither = all. */
export function listAll(rpc: RpcConnection, opts: ListDomainsOptions = {}): Promise<DomainHandle[]> {
  const flags = (opts.active ? 1 : 0) | (opts.inactive ? 2 : 0);
  return rpc.call(
    Proc.CONNECT_LIST_ALL_DOMAINS,
    (w) => w.int(1).uint(flags),
    (r) => {
      const doms = r.array(LIST_MAX, readDomain, 24);
      r.uint();
      return doms;
    },
  );
}

export async function info(rpc: RpcConnection, d: DomainHandle): Promise<DomainInfo> {
  const dw = (w: import('../xdr/writer.js').XdrWriter): void => writeDomain(w, d);
  const [raw, persistent, autostart] = await Promise.all([
    rpc.call(Proc.DOMAIN_GET_INFO, dw, (r) => ({ state: r.uint(), maxMem: r.uhyper(), memory: r.uhyper(), vcpus: r.uint(), cpuTime: r.uhyper() })),
    rpc.call(Proc.DOMAIN_IS_PERSISTENT, dw, readBool),
    rpc.call(Proc.DOMAIN_GET_AUTOSTART, dw, readBool),
  ]);
  return {
    ...toRef(d),
    state: stateName(raw.state),
    maxMemKiB: raw.maxMem,
    memKiB: raw.memory,
    vcpus: raw.vcpus,
    cpuTimeNs: raw.cpuTime,
    persistent,
    autostart,
  };
}

export function getState(rpc: RpcConnection, d: DomainHandle): Promise<{ state: DomainState; reason: number }> {
  return rpc.call(Proc.DOMAIN_GET_STATE, (w) => (writeDomain(w, d), w.uint(0)), (r) => ({ state: stateName(r.int()), reason: r.int() }));
}

/** VIR_DOMAIN_XML_SECURE = 1, _INACTIVE = 2. */
export function xml(rpc: RpcConnection, d: DomainHandle, o: { inactive?: boolean; secure?: boolean } = {}): Promise<string> {
  const flags = (o.secure ? 1 : 0) | (o.inactive ? 2 : 0);
  return rpc.call(Proc.DOMAIN_GET_XML_DESC, (w) => (writeDomain(w, d), w.uint(flags)), readString);
}

export function define(rpc: RpcConnection, domainXml: string): Promise<DomainHandle> {
  return rpc.call(Proc.DOMAIN_DEFINE_XML_FLAGS, (w) => w.string(domainXml).uint(0), readDomain);
}

/** VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA = 2, _NVRAM = 4. */
export function undefine(rpc: RpcConnection, d: DomainHandle, o: { snapshots?: boolean; nvram?: boolean } = {}): Promise<void> {
  const flags = (o.snapshots ? 2 : 0) | (o.nvram ? 4 : 0);
  return rpc.call(Proc.DOMAIN_UNDEFINE_FLAGS, (w) => (writeDomain(w, d), w.uint(flags)));
}

export function createXml(rpc: RpcConnection, domainXml: string): Promise<DomainHandle> {
  return rpc.call(Proc.DOMAIN_CREATE_XML, (w) => w.string(domainXml).uint(0), readDomain);
}

export function start(rpc: RpcConnection, d: DomainHandle): Promise<DomainHandle> {
  return rpc.call(Proc.DOMAIN_CREATE_WITH_FLAGS, (w) => (writeDomain(w, d), w.uint(0)), readDomain);
}

/** The lifecycle calls that take only the domain. */
export function simple(rpc: RpcConnection, proc: number, d: DomainHandle, flags?: number): Promise<void> {
  return rpc.call(proc, (w) => {
    writeDomain(w, d);
    if (flags !== undefined) w.uint(flags);
  });
}

export const lifecycle = {
  shutdown: (rpc: RpcConnection, d: DomainHandle) => simple(rpc, Proc.DOMAIN_SHUTDOWN, d),
  destroy: (rpc: RpcConnection, d: DomainHandle) => simple(rpc, Proc.DOMAIN_DESTROY, d),
  reboot: (rpc: RpcConnection, d: DomainHandle) => simple(rpc, Proc.DOMAIN_REBOOT, d, 0),
  /** A hard reset, as the reset button: the guest OS is not asked (flags 0). */
  reset: (rpc: RpcConnection, d: DomainHandle) => simple(rpc, Proc.DOMAIN_RESET, d, 0),
  suspend: (rpc: RpcConnection, d: DomainHandle) => simple(rpc, Proc.DOMAIN_SUSPEND, d),
  resume: (rpc: RpcConnection, d: DomainHandle) => simple(rpc, Proc.DOMAIN_RESUME, d),
  abortJob: (rpc: RpcConnection, d: DomainHandle) => simple(rpc, Proc.DOMAIN_ABORT_JOB, d),
};

export function setAutostart(rpc: RpcConnection, d: DomainHandle, on: boolean): Promise<void> {
  return rpc.call(Proc.DOMAIN_SET_AUTOSTART, (w) => (writeDomain(w, d), w.int(on ? 1 : 0)));
}

export function setVcpus(rpc: RpcConnection, d: DomainHandle, count: number, scope?: Scope): Promise<void> {
  return rpc.call(Proc.DOMAIN_SET_VCPUS_FLAGS, (w) => (writeDomain(w, d), w.uint(count), w.uint(scopeFlags(scope))));
}

export function setMemory(rpc: RpcConnection, d: DomainHandle, kib: number, scope?: Scope): Promise<void> {
  return rpc.call(Proc.DOMAIN_SET_MEMORY_FLAGS, (w) => (writeDomain(w, d), w.uhyper(kib), w.uint(scopeFlags(scope))));
}

export function setMaxMemory(rpc: RpcConnection, d: DomainHandle, kib: number): Promise<void> {
  return rpc.call(Proc.DOMAIN_SET_MAX_MEMORY, (w) => (writeDomain(w, d), w.uhyper(kib)));
}

/** Device XML: attach (160), detach (161), update (174) with live/config scope. */
export function device(rpc: RpcConnection, proc: number, d: DomainHandle, deviceXml: string, scope?: Scope): Promise<void> {
  return rpc.call(proc, (w) => (writeDomain(w, d), w.string(deviceXml), w.uint(scopeFlags(scope))));
}

/** Our camelCase names for libvirt's scheduler fields; anything else keeps libvirt's name. */
const SCHED_NAMES: Record<string, string> = { cpu_shares: 'cpuShares', vcpu_period: 'vcpuPeriod', vcpu_quota: 'vcpuQuota' };
const SCHED_FIELDS: Record<string, string> = Object.fromEntries(Object.entries(SCHED_NAMES).map(([k, v]) => [v, k]));

/**
 * The flag-less call: through the daemon, the *Flags variant gets
 * VIR_TYPED_PARAM_STRING_OKAY added, which some drivers (test) refuse.
 */
async function schedulerList(rpc: RpcConnection, d: DomainHandle): Promise<TypedParam[]> {
  const n = await rpc.call(Proc.DOMAIN_GET_SCHEDULER_TYPE, (w) => writeDomain(w, d), (r) => (r.string(), r.int()));
  if (n <= 0) return [];
  return rpc.call(Proc.DOMAIN_GET_SCHEDULER_PARAMETERS, (w) => (writeDomain(w, d), w.int(n)), (r) => readTypedParamList(r, 16));
}

export async function getScheduler(rpc: RpcConnection, d: DomainHandle): Promise<SchedulerParams> {
  const out: SchedulerParams = {};
  for (const p of await schedulerList(rpc, d)) if (typeof p.value === 'number') out[SCHED_NAMES[p.field] ?? p.field] = p.value;
  return out;
}

/** Set scheduler fields with the types the driver itself reports (QEMU: ullong shares, llong quota; test: uint weight). */
export async function setScheduler(rpc: RpcConnection, d: DomainHandle, params: SchedulerParams, scope?: Scope): Promise<void> {
  const known = new Map((await schedulerList(rpc, d)).map((p) => [p.field, p.type]));
  const list: TypedParam[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    const field = SCHED_FIELDS[k] ?? k;
    const type = known.get(field) ?? (field.endsWith('_quota') ? TypedParamType.LLONG : TypedParamType.ULLONG);
    list.push({ field, type, value: v });
  }
  if (list.length === 0) return;
  await rpc.call(Proc.DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS, (w) => (writeDomain(w, d), writeTypedParams(w, list), w.uint(scopeFlags(scope))));
}

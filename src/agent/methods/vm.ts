/** vm.*: listing, details, stats history, lifecycle, definitions, resources and devices. */
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';
import { fromJsonValue, type XmlRpcStruct, type XmlRpcValue } from '../../common/xmlrpc/value.js';
import { round, VM_FIELDS } from '../history.js';
import { memUsedKiB } from '../rates.js';
import { summaryToValue } from '../domxml.js';
import type { VmEntry } from '../collector.js';
import { badArg, notFound, num, opts, optBool, scopeArg, SCOPE_HELP, str, withOptional, type AgentCore } from '../core.js';

const SAMPLE_HELP =
  'Per sample: cpuPct (% of the whole host), vcpuPct (% of the VM\'s own vCPUs), memUsedKiB (from balloon stats: available - unused; else the QEMU RSS), ' +
  'memKiB (balloon size), diskRdBps/diskWrBps/netRxBps/netTxBps (bytes per second). Large numbers travel as <double>.';

export function vmRow(core: AgentCore, e: VmEntry): XmlRpcStruct {
  const s = e.last;
  const d = core.domains.entries.get(e.name);
  const latest = e.ring && e.ring.lastTick() === e.lastTick ? e.ring.latest() : undefined;
  const row: XmlRpcStruct = {
    name: s.name,
    uuid: s.uuid,
    state: s.state?.state ?? d?.info?.state ?? 'nostate',
    reason: s.state?.reason ?? 0,
    vcpus: s.vcpu?.current ?? d?.info?.vcpus ?? 0,
    maxVcpus: s.vcpu?.maximum ?? s.vcpu?.current ?? d?.info?.vcpus ?? 0,
    memKiB: s.balloon?.currentKiB ?? d?.info?.memKiB ?? 0,
    maxMemKiB: s.balloon?.maximumKiB ?? d?.info?.maxMemKiB ?? 0,
    memUsedKiB: latest ? round(latest.memUsedKiB) : memUsedKiB(s),
    cpuTimeNs: s.cpu?.timeNs ?? 0,
    cpuPct: latest ? round(latest.cpuPct) : 0,
    vcpuPct: latest ? round(latest.vcpuPct) : 0,
    diskRdBps: latest ? round(latest.diskRdBps) : 0,
    diskWrBps: latest ? round(latest.diskWrBps) : 0,
    netRxBps: latest ? round(latest.netRxBps) : 0,
    netTxBps: latest ? round(latest.netTxBps) : 0,
    seenAt: core.collector.clock.timeOf(e.lastTick) || 0,
  };
  if (d?.info) {
    row.id = d.info.id;
    row.persistent = d.info.persistent;
    row.autostart = d.info.autostart;
  }
  return row;
}

function entry(core: AgentCore, name: string): VmEntry | undefined {
  return core.collector.vms.get(name);
}

/** Domain XML must name the VM being redefined (otherwise libvirt would define a second VM). */
export function checkRedefineXml(name: string, uuid: string | undefined, xml: string): void {
  const m = /<name>\s*([^<]*?)\s*<\/name>/.exec(xml);
  if (!m) throw badArg('the edited XML has no <name>');
  if (m[1] !== name) throw badArg(`the edited XML names '${m[1]}', not '${name}'; renaming is not a redefinition`);
  const u = /<uuid>\s*([^<]*?)\s*<\/uuid>/.exec(xml);
  if (u && uuid && u[1]?.toLowerCase() !== uuid.toLowerCase()) throw badArg(`the edited XML has uuid ${u[1]}, the VM has ${uuid}`);
}

export function registerVmMethods(r: MethodRegistry, core: AgentCore): void {
  const changed = (vm: string, kind: string, detail: XmlRpcStruct = {}): void => {
    core.domains.markDirty(vm);
    core.events.push('vm', kind, vm, detail);
  };

  r.register({
    name: 'vm.list',
    help:
      'Every VM on this node with its latest figures from the last collection: name, uuid, state, reason, vcpus, maxVcpus, memKiB, maxMemKiB, memUsedKiB, cpuTimeNs, ' +
      'cpuPct, vcpuPct, diskRdBps, diskWrBps, netRxBps, netTxBps, seenAt (ms since the epoch), and when known id, persistent, autostart. ' +
      'Optional struct {active: bool, inactive: bool} filters by state. No libvirt call: served from the collector (while libvirt is down: the last collected figures; seenAt tells their age). ' +
      'Numbers beyond 32 bits (cpuTimeNs, byte counts) travel as <double>, exact up to 2^53.',
    signature: withOptional('array', []),
    handler: (p) => {
      const o = opts(p, 0);
      const wantActive = optBool(o, 'active') ?? true;
      const wantInactive = optBool(o, 'inactive') ?? true;
      const recent = core.collector.tick - 3;
      const rows: XmlRpcValue[] = [];
      for (const e of core.collector.vms.values()) {
        if (e.lastTick < recent) continue;
        const st = e.last.state?.state;
        const active = st !== undefined && st !== 'shutoff' && st !== 'crashed' && st !== 'nostate';
        if ((active && wantActive) || (!active && wantInactive)) rows.push(vmRow(core, e));
      }
      return rows;
    },
  });

  r.register({
    name: 'vm.info',
    help:
      'One VM: libvirt\'s domain info (state, id, vcpus, memKiB, maxMemKiB, cpuTimeNs, persistent, autostart), a summary of its XML ' +
      '(disks, interfaces, graphics, consoles, channels, type, arch) and its latest figures (as in vm.list).',
    signature: [['struct', 'string']],
    handler: async (p) => {
      const name = str(p, 0);
      const hv = core.hv();
      // An explicit request reads the XML now (the cache serves the per-poll paths).
      const [info, d] = await Promise.all([hv.domainInfo(name), core.domains.refresh(hv, name)]);
      const v: XmlRpcStruct = { ...(fromJsonValue(info) as XmlRpcStruct) };
      if (d?.summary) v.xml = summaryToValue(d.summary);
      const e = entry(core, name);
      if (e) v.latest = vmRow(core, e);
      return v;
    },
  });

  r.register({
    name: 'vm.stats',
    help:
      `History of one VM after a cursor: vm.stats(name, cursor[, limit]). Pass cursor 0 for the whole window (default one hour), then the returned cursor to get only newer samples. ` +
      `Result: {vm, cursor, intervalMs, t: [ms since the epoch], cpuPct: [...], vcpuPct, memUsedKiB, memKiB, diskRdBps, diskWrBps, netRxBps, netTxBps} (one array per field, same length as t). ${SAMPLE_HELP}`,
    signature: [
      ['struct', 'string', 'int'],
      ['struct', 'string', 'int', 'int'],
    ],
    handler: (p) => {
      const name = str(p, 0);
      const e = entry(core, name);
      if (!e) throw notFound(`no VM named '${name}' in the collected stats of this node`);
      const cursor = num(p, 1);
      const limit = p[2] === undefined ? undefined : num(p, 2);
      const out: XmlRpcStruct = { vm: name, intervalMs: core.pollMs };
      if (!e.ring) {
        for (const f of VM_FIELDS) out[f] = [];
        return { ...out, cursor: Math.max(cursor, core.collector.tick), t: [] };
      }
      const { ticks, cols } = e.ring.columnsAfter(cursor, limit);
      out.cursor = ticks.length > 0 ? (ticks[ticks.length - 1] as number) : Math.max(cursor, e.ring.lastTick());
      out.t = ticks.map((k) => core.collector.clock.timeOf(k) || 0);
      for (const f of VM_FIELDS) out[f] = cols[f];
      return out;
    },
  });

  r.register({
    name: 'vm.xml',
    help: 'The domain XML: vm.xml(name[, {inactive: bool, secure: bool}]). inactive = the persistent definition rather than the running one.',
    signature: withOptional('string', ['string']),
    handler: (p) => {
      const o = opts(p, 1);
      return core.hv().domainXml(str(p, 0), { inactive: optBool(o, 'inactive') ?? false, secure: optBool(o, 'secure') ?? false });
    },
  });

  const lifecycle: Array<[string, string, (name: string) => Promise<void>]> = [
    ['start', 'Starts a defined VM.', (n) => core.hv().start(n)],
    ['shutdown', 'Asks the guest OS to shut down (ACPI); returns at once, the state change follows as an event.', (n) => core.hv().shutdown(n)],
    ['destroy', 'Stops the VM at once (power off); the definition stays.', (n) => core.hv().destroy(n)],
    ['reboot', 'Asks the guest OS to reboot.', (n) => core.hv().reboot(n)],
    ['suspend', 'Pauses the VM\'s vCPUs (memory stays).', (n) => core.hv().suspend(n)],
    ['resume', 'Resumes a paused VM.', (n) => core.hv().resume(n)],
  ];
  for (const [verb, help, fn] of lifecycle) {
    r.register({
      name: `vm.${verb}`,
      help: `${help} vm.${verb}(name) -> true.`,
      signature: [['boolean', 'string']],
      mutates: true,
      handler: async (p) => {
        await fn(str(p, 0));
        changed(str(p, 0), verb);
        return true;
      },
    });
  }

  r.register({
    name: 'vm.define',
    help: 'Defines a persistent VM from domain XML (libvirt validates it): vm.define(xml) -> {name, uuid, id}.',
    signature: [['struct', 'string']],
    mutates: true,
    handler: async (p) => {
      const ref = await core.hv().defineDomain(str(p, 0));
      changed(ref.name, 'defined', { uuid: ref.uuid });
      return fromJsonValue(ref);
    },
  });

  r.register({
    name: 'vm.undefine',
    help: 'Removes a VM\'s persistent definition (a running VM keeps running as transient): vm.undefine(name[, {snapshots: bool, nvram: bool}]) -> true.',
    signature: withOptional('boolean', ['string']),
    mutates: true,
    handler: async (p) => {
      const o = opts(p, 1);
      await core.hv().undefineDomain(str(p, 0), { snapshots: optBool(o, 'snapshots') ?? false, nvram: optBool(o, 'nvram') ?? false });
      changed(str(p, 0), 'undefined');
      return true;
    },
  });

  r.register({
    name: 'vm.redefine',
    help:
      'Replaces a VM\'s definition with edited XML: vm.redefine(name, xml) -> {name, uuid, appliesAtNextBoot}. libvirt validates the XML first; ' +
      'when it refuses, the old definition stays and the fault carries libvirt\'s message. The XML must keep the VM\'s name and uuid. ' +
      'A running VM keeps its live configuration until it is next started.',
    signature: [['struct', 'string', 'string']],
    mutates: true,
    handler: async (p) => {
      const name = str(p, 0);
      const xml = str(p, 1);
      const hv = core.hv();
      const info = await hv.domainInfo(name);
      checkRedefineXml(name, info.uuid, xml);
      const ref = await hv.defineDomain(xml);
      const running = info.state !== 'shutoff' && info.state !== 'crashed' && info.state !== 'nostate';
      changed(name, 'redefined', { uuid: ref.uuid });
      return { name: ref.name, uuid: ref.uuid, appliesAtNextBoot: running };
    },
  });

  r.register({
    name: 'vm.setAutostart',
    help: 'Starts the VM when the node boots, or not: vm.setAutostart(name, on) -> true.',
    signature: [['boolean', 'string', 'boolean']],
    mutates: true,
    handler: async (p) => {
      await core.hv().setAutostart(str(p, 0), p[1] as boolean);
      changed(str(p, 0), 'autostart', { on: p[1] as boolean });
      return true;
    },
  });

  r.register({
    name: 'vm.setVcpus',
    help: `Sets the number of vCPUs: vm.setVcpus(name, count[, scope]) -> true. ${SCOPE_HELP}`,
    signature: withOptional('boolean', ['string', 'int']),
    mutates: true,
    handler: async (p) => {
      if (num(p, 1) < 1) throw badArg('count must be at least 1');
      await core.hv().setVcpus(str(p, 0), num(p, 1), scopeArg(p, 2));
      changed(str(p, 0), 'vcpus', { count: num(p, 1) });
      return true;
    },
  });

  r.register({
    name: 'vm.setMemory',
    help: `Sets the memory (balloon target) in KiB: vm.setMemory(name, kib[, scope]) -> true. Use a <double> for sizes above 2^31 KiB. ${SCOPE_HELP}`,
    signature: withOptional('boolean', ['string', 'double']),
    mutates: true,
    handler: async (p) => {
      const kib = num(p, 1);
      if (!Number.isInteger(kib) || kib <= 0) throw badArg('kib must be a positive whole number');
      await core.hv().setMemory(str(p, 0), kib, scopeArg(p, 2));
      changed(str(p, 0), 'memory', { kib });
      return true;
    },
  });

  r.register({
    name: 'vm.setMaxMemory',
    help: 'Sets the maximum memory in KiB (persistent definition): vm.setMaxMemory(name, kib) -> true.',
    signature: [['boolean', 'string', 'double']],
    mutates: true,
    handler: async (p) => {
      const kib = num(p, 1);
      if (!Number.isInteger(kib) || kib <= 0) throw badArg('kib must be a positive whole number');
      await core.hv().setMaxMemory(str(p, 0), kib);
      changed(str(p, 0), 'maxMemory', { kib });
      return true;
    },
  });

  r.register({
    name: 'vm.schedinfo',
    help: 'Scheduler parameters by libvirt\'s names (cpuShares, vcpuPeriod, vcpuQuota, ...): vm.schedinfo(name) -> struct.',
    signature: [['struct', 'string']],
    handler: async (p) => fromJsonValue(await core.hv().getSchedulerParams(str(p, 0))),
  });

  r.register({
    name: 'vm.setSchedinfo',
    help: `Sets scheduler parameters: vm.setSchedinfo(name, {cpuShares: n, vcpuQuota: n, ...}[, scope]) -> true. ${SCOPE_HELP}`,
    signature: [
      ['boolean', 'string', 'struct'],
      ['boolean', 'string', 'struct', 'struct'],
    ],
    mutates: true,
    handler: async (p) => {
      const params: Record<string, number> = {};
      for (const [k, v] of Object.entries(opts(p, 1))) {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw badArg(`scheduler parameter ${k} must be a number`);
        params[k] = v;
      }
      await core.hv().setSchedulerParams(str(p, 0), params, scopeArg(p, 2));
      changed(str(p, 0), 'schedinfo', fromJsonValue(params) as XmlRpcStruct);
      return true;
    },
  });

  const devices: Array<[string, string, 'attachDevice' | 'detachDevice' | 'updateDevice']> = [
    ['attachDevice', 'Adds a device (disk, interface, ...) from its XML', 'attachDevice'],
    ['detachDevice', 'Removes the device the XML describes', 'detachDevice'],
    ['updateDevice', 'Changes a device in place (e.g. a CD-ROM medium, a link state)', 'updateDevice'],
  ];
  for (const [m, help, op] of devices) {
    r.register({
      name: `vm.${m}`,
      help: `${help}: vm.${m}(name, deviceXml[, scope]) -> true. ${SCOPE_HELP}`,
      signature: withOptional('boolean', ['string', 'string']),
      mutates: true,
      handler: async (p) => {
        await core.hv()[op](str(p, 0), str(p, 1), scopeArg(p, 2));
        changed(str(p, 0), m);
        return true;
      },
    });
  }
}

/** vm.*: listing, details, stats history, lifecycle, definitions, resources and devices. */
import { api } from '../../api/index.js';
import { serve } from '../../api/serve.js';
import { XmlRpcFault } from '../../common/xmlrpc/codec.js';
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';
import { AgentFault } from '../link.js';
import type { XmlRpcStruct } from '../../common/xmlrpc/value.js';
import { ringSeries, round, VM_FIELDS } from '../history.js';
import { isActive, memUsedKiB, present } from '../rates.js';
import { summaryToValue } from '../domxml.js';
import type { VmEntry } from '../collector.js';
import type { DomainSummary, VmInfo, VmRow, VmStats } from '../../api/index.js';
import { badArg, notFound, num, opts, optBool, plain, scopeArg, str, type AgentCore } from '../core.js';
import { templateMarkOf } from '../provision-xml.js';

export function vmRow(core: AgentCore, e: VmEntry): VmRow {
  const s = e.last;
  const d = core.domains.entries.get(e.name);
  const latest = e.ring && e.ring.lastTick() === e.lastTick ? e.ring.latest() : undefined;
  // Before the first rate: zero where the record has the counters or the VM is stopped (true on any
  // driver), absent where a running VM's driver has none.
  const active = isActive(s);
  const fig = (v: number | undefined, has: unknown): number | undefined => (latest ? opt(v) : has || !active ? 0 : undefined);
  const row: VmRow = {
    name: s.name,
    uuid: s.uuid,
    state: s.state?.state ?? d?.info?.state ?? 'nostate',
    reason: s.state?.reason ?? 0,
    vcpus: s.vcpu?.current ?? d?.info?.vcpus ?? 0,
    maxVcpus: s.vcpu?.maximum ?? s.vcpu?.current ?? d?.info?.vcpus ?? 0,
    memKiB: s.balloon?.currentKiB ?? d?.info?.memKiB ?? 0,
    maxMemKiB: s.balloon?.maximumKiB ?? d?.info?.maxMemKiB ?? 0,
    memUsedKiB: latest ? opt(latest.memUsedKiB) : active ? memUsedKiB(s) : 0,
    cpuTimeNs: s.cpu?.timeNs ?? 0,
    cpuPct: latest ? round(latest.cpuPct) : 0,
    vcpuPct: latest ? round(latest.vcpuPct) : 0,
    diskRdBps: fig(latest?.diskRdBps, s.block),
    diskWrBps: fig(latest?.diskWrBps, s.block),
    netRxBps: fig(latest?.netRxBps, s.net),
    netTxBps: fig(latest?.netTxBps, s.net),
    seenAt: core.collector.clock.timeOf(e.lastTick) || 0,
  };
  for (const k of ['memUsedKiB', 'diskRdBps', 'diskWrBps', 'netRxBps', 'netTxBps'] as const) if (row[k] === undefined) delete row[k];
  if (d?.info) {
    row.id = d.info.id;
    row.persistent = d.info.persistent;
    row.autostart = d.info.autostart;
  }
  return row;
}

/** A stored figure for the wire: rounded, or undefined where the driver gave none. */
function opt(v: number | undefined): number | undefined {
  const p = present(v);
  return p === undefined ? undefined : round(p);
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

/**
 * vm.start, except for a VM marked as a template: its disk is the backing file of
 * the VMs made from it, and a boot would write it under their overlays.
 */
async function startUnlessTemplate(core: AgentCore, name: string): Promise<void> {
  // A VM without a persistent definition cannot carry the mark; libvirt then answers start itself.
  const xml = await core.hv().domainXml(name, { inactive: true }).catch(() => undefined);
  if (xml !== undefined && templateMarkOf(xml)) {
    throw badArg(
      `${name} is a template and is not started: its disk is the base of the VMs made from it, and a boot would change it under their overlays. ` +
        `Make a VM from it instead (vem vm create NEW --node NODE --from ${name}, or the dashboard's create form with disk: template), or a full copy with vm.clone`,
    );
  }
  await core.hv().start(name);
}

export function registerVmMethods(r: MethodRegistry, core: AgentCore): void {
  const changed = (vm: string, kind: string, detail: XmlRpcStruct = {}): void => {
    core.domains.markDirty(vm);
    core.events.push('vm', kind, vm, detail);
  };

  serve(r, api.vm.list, (p) => {
      // While libvirt is down the VMs are unknown, not absent: an empty list would make a broken node look empty.
      const st = core.link.status();
      if (!st.up) throw new XmlRpcFault(AgentFault.LIBVIRT_DOWN, `libvirt is down since ${new Date(st.since).toISOString()} (${st.reason ?? 'unknown reason'}); this node's VMs are unknown until it is back (the agent retries on its own)`);
      const o = opts(p, 0);
      const wantActive = optBool(o, 'active') ?? true;
      const wantInactive = optBool(o, 'inactive') ?? true;
      const recent = core.collector.tick - 3;
      const rows: VmRow[] = [];
      for (const e of core.collector.vms.values()) {
        if (e.lastTick < recent) continue;
        const st = e.last.state?.state;
        const active = st !== undefined && st !== 'shutoff' && st !== 'crashed' && st !== 'nostate';
        if ((active && wantActive) || (!active && wantInactive)) rows.push(vmRow(core, e));
      }
      return rows;
    });

  serve(r, api.vm.info, async (p) => {
      const name = str(p, 0);
      const hv = core.hv();
      // An explicit request reads the XML now (the cache serves the per-poll paths).
      const [info, d] = await Promise.all([hv.domainInfo(name), core.domains.refresh(hv, name)]);
      const v: VmInfo = plain(info);
      // domxml.ts builds the summary untyped; the contract test checks it against DomainSummary.
      if (d?.summary) v.xml = summaryToValue(d.summary) as unknown as DomainSummary;
      const e = entry(core, name);
      if (e) v.latest = vmRow(core, e);
      return v;
    });

  serve(r, api.vm.stats, (p) => {
      const name = str(p, 0);
      const e = entry(core, name);
      if (!e) throw notFound(`no VM named '${name}' in the collected stats of this node`);
      const cursor = num(p, 1);
      const limit = p[2] === undefined ? undefined : num(p, 2);
      if (!e.ring) {
        const none = Object.fromEntries(VM_FIELDS.map((f) => [f, [] as number[]])) as Record<(typeof VM_FIELDS)[number], number[]>;
        return { vm: name, intervalMs: core.pollMs, ...none, cursor: Math.max(cursor, core.collector.tick), t: [] };
      }
      const { ticks, cols } = ringSeries(e.ring, cursor, limit);
      const out = {
        vm: name,
        intervalMs: core.pollMs,
        cursor: ticks.length > 0 ? (ticks[ticks.length - 1] as number) : Math.max(cursor, e.ring.lastTick()),
        t: Array.from(ticks, (k) => core.collector.clock.timeOf(k) || 0),
      } as VmStats;
      // A column the driver cannot give (NaN stored) is left out: an array has no "absent" sample,
      // so a column is sent only when every sample in it has the figure.
      for (const f of VM_FIELDS) if (!cols[f].some((x) => Number.isNaN(x))) out[f] = Array.from(cols[f], round);
      return out;
    });

  serve(r, api.vm.xml, (p) => {
      const o = opts(p, 1);
      return core.hv().domainXml(str(p, 0), { inactive: optBool(o, 'inactive') ?? false, secure: optBool(o, 'secure') ?? false });
    });

  // One handler shape for the seven lifecycle verbs; each has its own declaration.
  const lifecycle = [
    [api.vm.start, 'start', (n: string) => startUnlessTemplate(core, n)],
    [api.vm.shutdown, 'shutdown', (n: string) => core.hv().shutdown(n)],
    [api.vm.destroy, 'destroy', (n: string) => core.hv().destroy(n)],
    [api.vm.reboot, 'reboot', (n: string) => core.hv().reboot(n)],
    [api.vm.reset, 'reset', (n: string) => core.hv().reset(n)],
    [api.vm.suspend, 'suspend', (n: string) => core.hv().suspend(n)],
    [api.vm.resume, 'resume', (n: string) => core.hv().resume(n)],
  ] as const;
  for (const [m, verb, fn] of lifecycle) {
    serve(r, m, async ([name]) => {
      await fn(name);
      changed(name, verb);
      return true;
    });
  }

  serve(r, api.vm.define, async (p) => {
      const ref = await core.hv().defineDomain(str(p, 0));
      changed(ref.name, 'defined', { uuid: ref.uuid });
      return plain(ref);
    });

  serve(r, api.vm.undefine, async (p) => {
      const o = opts(p, 1);
      await core.hv().undefineDomain(str(p, 0), { snapshots: optBool(o, 'snapshots') ?? false, nvram: optBool(o, 'nvram') ?? false });
      changed(str(p, 0), 'undefined');
      return true;
    });

  serve(r, api.vm.redefine, async (p) => {
      const name = str(p, 0);
      const xml = str(p, 1);
      const hv = core.hv();
      const info = await hv.domainInfo(name);
      checkRedefineXml(name, info.uuid, xml);
      const ref = await hv.defineDomain(xml);
      const running = info.state !== 'shutoff' && info.state !== 'crashed' && info.state !== 'nostate';
      changed(name, 'redefined', { uuid: ref.uuid });
      return { name: ref.name, uuid: ref.uuid, appliesAtNextBoot: running };
    });

  serve(r, api.vm.setAutostart, async (p) => {
      await core.hv().setAutostart(str(p, 0), p[1] as boolean);
      changed(str(p, 0), 'autostart', { on: p[1] as boolean });
      return true;
    });

  serve(r, api.vm.setVcpus, async (p) => {
      if (num(p, 1) < 1) throw badArg('count must be at least 1');
      await core.hv().setVcpus(str(p, 0), num(p, 1), scopeArg(p, 2));
      changed(str(p, 0), 'vcpus', { count: num(p, 1) });
      return true;
    });

  serve(r, api.vm.setMemory, async (p) => {
      const kib = num(p, 1);
      if (!Number.isInteger(kib) || kib <= 0) throw badArg('kib must be a positive whole number');
      await core.hv().setMemory(str(p, 0), kib, scopeArg(p, 2));
      changed(str(p, 0), 'memory', { kib });
      return true;
    });

  serve(r, api.vm.setMaxMemory, async (p) => {
      const kib = num(p, 1);
      if (!Number.isInteger(kib) || kib <= 0) throw badArg('kib must be a positive whole number');
      await core.hv().setMaxMemory(str(p, 0), kib);
      changed(str(p, 0), 'maxMemory', { kib });
      return true;
    });

  serve(r, api.vm.schedinfo, async (p) => {
    const sp = await core.hv().getSchedulerParams(str(p, 0));
    return Object.fromEntries(Object.entries(sp).filter((e): e is [string, number] => e[1] !== undefined));
  });

  serve(r, api.vm.setSchedinfo, async (p) => {
      const params: Record<string, number> = {};
      for (const [k, v] of Object.entries(opts(p, 1))) {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw badArg(`scheduler parameter ${k} must be a number`);
        params[k] = v;
      }
      await core.hv().setSchedulerParams(str(p, 0), params, scopeArg(p, 2));
      changed(str(p, 0), 'schedinfo', { ...params });
      return true;
    });

  const devices = [
    [api.vm.attachDevice, 'attachDevice'],
    [api.vm.detachDevice, 'detachDevice'],
    [api.vm.updateDevice, 'updateDevice'],
  ] as const;
  for (const [m, op] of devices) {
    serve(r, m, async (p) => {
      await core.hv()[op](p[0], p[1], scopeArg(p, 2));
      changed(p[0], op);
      return true;
    });
  }
}

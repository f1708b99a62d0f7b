/** vCPUs, memory, scheduler parameters and devices of a simulated domain, live and/or in its persistent config. */
import type { SchedulerParams, Scope } from '../hypervisor.js';
import { zeroIo, type DomainConfig } from './domain-config.js';
import type { SimDomain } from './domain.js';
import { parseDeviceXml } from './domain-xml.js';
import { failed, invalid, invalidArg, notRunning } from './errors.js';
import { LibvirtError } from '../errors.js';
import type { NodeContext } from './node-context.js';
import { noNetwork } from './network.js';

/** Which definitions a change applies to; libvirt's "current" (no flag) means live when running, else config. */
export function targets(d: SimDomain, scope: Scope = {}): DomainConfig[] {
  let live = scope.live === true;
  let config = scope.config === true;
  if (!live && !config) {
    if (d.live) live = true;
    else config = true;
  }
  const out: DomainConfig[] = [];
  if (live) {
    if (!d.live) throw notRunning();
    out.push(d.live);
  }
  if (config) {
    if (!d.persistent) throw invalid('cannot change persistent config of a transient domain');
    out.push(d.config);
  }
  return out;
}

export function setVcpus(hv: NodeContext, name: string, count: number, scope?: Scope): void {
  hv.sync();
  const d = hv.dom(name);
  hv.lockFree(d);
  if (!Number.isInteger(count) || count < 1) throw invalidArg(`argument unsupported: vcpu count ${count} must be a positive integer`);
  for (const c of targets(d, scope)) {
    if (count > c.maxVcpus) throw invalidArg(`requested vcpus is greater than max allowable vcpus for the ${c === d.live ? 'live' : 'persistent'} domain: ${count} > ${c.maxVcpus}`);
  }
  for (const c of targets(d, scope)) c.vcpus = count;
  hv.host.invalidate();
}

export function setMemory(hv: NodeContext, name: string, kib: number, scope?: Scope): void {
  hv.sync();
  const d = hv.dom(name);
  hv.lockFree(d);
  if (!Number.isFinite(kib) || kib < 1024) throw invalidArg(`memory size ${kib} KiB is too small`);
  const ts = targets(d, scope);
  for (const c of ts) if (kib > c.maxMemKiB) throw invalidArg('cannot set memory higher than max memory');
  for (const c of ts) c.memKiB = Math.floor(kib);
  hv.host.invalidate();
  if (d.live && ts.includes(d.live)) hv.emit('balloon-change', d, { actualKiB: d.live.memKiB });
}

export function setMaxMemory(hv: NodeContext, name: string, kib: number): void {
  hv.sync();
  const d = hv.dom(name);
  hv.lockFree(d);
  if (d.live) throw invalid('cannot resize the maximum memory on an active domain');
  if (!Number.isFinite(kib) || kib < 1024) throw invalidArg(`memory size ${kib} KiB is too small`);
  d.config.maxMemKiB = Math.floor(kib);
  if (d.config.memKiB > d.config.maxMemKiB) d.config.memKiB = d.config.maxMemKiB;
}

/**
 * libxl's credit scheduler has weight (1..65535, default 256) and cap (% of one host CPU for the
 * whole domain, 0 = none), not cgroup shares; kept here as shares and a per-vCPU quota.
 */
function xenSchedulerParams(c: DomainConfig): SchedulerParams {
  return { weight: Math.max(1, Math.round(c.cpuShares / 4)), cap: c.vcpuQuota > 0 ? Math.round((c.vcpuQuota / c.vcpuPeriod) * Math.max(1, c.vcpus) * 100) : 0 };
}

function setXenScheduler(hv: NodeContext, d: SimDomain, p: SchedulerParams, scope?: Scope): void {
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    // virTypedParamsValidate in libxlDomainSetSchedulerParametersFlags: only weight and cap.
    if (k !== 'weight' && k !== 'cap') throw new LibvirtError(`argument unsupported: parameter '${k === 'cpuShares' ? 'cpu_shares' : k}' not supported`, 74, 41);
    if (!Number.isInteger(v) || v < 0) throw invalidArg(`value of ${k} must be a whole number`);
  }
  if (p['weight'] !== undefined && (p['weight'] < 1 || p['weight'] > 65535)) throw invalidArg('value of weight is out of range [1, 65535]');
  for (const c of targets(d, scope)) {
    const w = p['weight'];
    const cap = p['cap'];
    if (w !== undefined) c.cpuShares = w * 4;
    if (cap !== undefined) c.vcpuQuota = cap === 0 ? -1 : Math.round((cap / 100 / Math.max(1, c.vcpus)) * c.vcpuPeriod);
  }
  hv.host.invalidate();
}

export function getSchedulerParams(hv: NodeContext, name: string): SchedulerParams {
  hv.sync();
  const c = hv.dom(name).current;
  if (hv.kind === 'xen') return xenSchedulerParams(c);
  // lxc_driver.c's cgroup parameters: shares and the CFS period/quota; no emulator, global or iothread ones.
  if (hv.kind === 'lxc') return { cpuShares: c.cpuShares, vcpuPeriod: c.vcpuPeriod, vcpuQuota: c.vcpuQuota };
  return { cpuShares: c.cpuShares, vcpuPeriod: c.vcpuPeriod, vcpuQuota: c.vcpuQuota, emulatorPeriod: 100000, emulatorQuota: -1, globalPeriod: 100000, globalQuota: -1, iothreadPeriod: 100000, iothreadQuota: -1 };
}

export function setSchedulerParams(hv: NodeContext, name: string, p: SchedulerParams, scope?: Scope): void {
  hv.sync();
  const d = hv.dom(name);
  hv.lockFree(d);
  if (hv.kind === 'xen') return setXenScheduler(hv, d, p, scope);
  const known = new Set(['cpuShares', 'vcpuPeriod', 'vcpuQuota']);
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    if (!known.has(k)) throw invalidArg(`parameter '${k}' is not supported by the simulated hypervisor`);
    if (!Number.isFinite(v)) throw invalidArg(`value of ${k} must be a number`);
  }
  if (p.cpuShares !== undefined && (p.cpuShares < 2 || p.cpuShares > 262144)) throw invalidArg('value of cpu_shares is out of range [2, 262144]');
  if (p.vcpuPeriod !== undefined && (p.vcpuPeriod < 1000 || p.vcpuPeriod > 1000000)) throw invalidArg('value of vcpu_period is out of range [1000, 1000000]');
  if (p.vcpuQuota !== undefined && p.vcpuQuota !== -1 && (p.vcpuQuota < 1000 || p.vcpuQuota > 17592186044415)) throw invalidArg('value of vcpu_quota is out of range [1000, 17592186044415]');
  for (const c of targets(d, scope)) {
    if (p.cpuShares !== undefined) c.cpuShares = Math.round(p.cpuShares);
    if (p.vcpuPeriod !== undefined) c.vcpuPeriod = Math.round(p.vcpuPeriod);
    if (p.vcpuQuota !== undefined) c.vcpuQuota = Math.round(p.vcpuQuota);
  }
  hv.host.invalidate();
}

export function attachDevice(hv: NodeContext, name: string, xml: string, scope?: Scope): void {
  hv.sync();
  const d = hv.dom(name);
  hv.lockFree(d);
  const dev = parseDeviceXml(xml, () => hv.newMac());
  const ts = targets(d, scope);
  for (const c of ts) {
    if (dev.kind === 'disk' && c.disks.some((k) => k.target === dev.disk.target)) throw failed(`target ${dev.disk.target} already exists`);
    if (dev.kind === 'nic' && c.nics.some((n) => n.mac === dev.nic.mac)) throw failed(`a NIC with MAC address ${dev.nic.mac} already exists`);
  }
  if (dev.kind === 'nic' && dev.nic.type === 'network' && d.live && ts.includes(d.live) && !hv.networks.has(dev.nic.source)) throw noNetwork(dev.nic.source);
  for (const c of ts) {
    const live = c === d.live;
    if (dev.kind === 'disk') {
      c.disks.push({ ...dev.disk });
      if (live) d.diskIo.push(zeroIo());
    } else {
      c.nics.push({ ...dev.nic });
      if (live) d.nicIo.push(zeroIo());
    }
  }
  if (d.live && ts.includes(d.live)) hv.emit('device-added', d, { device: dev.kind === 'disk' ? dev.disk.target : `net${d.live.nics.length - 1}` });
}

export function detachDevice(hv: NodeContext, name: string, xml: string, scope?: Scope): void {
  hv.sync();
  const d = hv.dom(name);
  hv.lockFree(d);
  const dev = parseDeviceXml(xml, () => '');
  const ts = targets(d, scope);
  const found = (c: DomainConfig): number => (dev.kind === 'disk' ? c.disks.findIndex((k) => k.target === dev.disk.target) : c.nics.findIndex((n) => n.mac === dev.nic.mac));
  for (const c of ts) {
    if (found(c) < 0) throw failed(dev.kind === 'disk' ? `disk ${dev.disk.target} not found` : `no device matching MAC address ${dev.nic.mac} found`);
  }
  let alias = '';
  for (const c of ts) {
    const i = found(c);
    const live = c === d.live;
    if (dev.kind === 'disk') {
      alias = c.disks[i]?.target ?? '';
      c.disks.splice(i, 1);
      if (live) d.diskIo.splice(i, 1);
    } else {
      alias = `net${i}`;
      c.nics.splice(i, 1);
      if (live) d.nicIo.splice(i, 1);
    }
  }
  if (d.live && ts.includes(d.live)) hv.emit('device-removed', d, { device: alias });
}

/** Changes a device in place: a CD-ROM's media, a NIC's network or model (matched by target or MAC). */
export function updateDevice(hv: NodeContext, name: string, xml: string, scope?: Scope): void {
  hv.sync();
  const d = hv.dom(name);
  hv.lockFree(d);
  const dev = parseDeviceXml(xml, () => '');
  const ts = targets(d, scope);
  for (const c of ts) {
    if (dev.kind === 'disk') {
      const k = c.disks.find((x) => x.target === dev.disk.target);
      if (!k) throw failed(`disk ${dev.disk.target} not found`);
    } else {
      const n = c.nics.find((x) => x.mac === dev.nic.mac);
      if (!n) throw failed(`no device matching MAC address ${dev.nic.mac} found`);
      if (dev.nic.type === 'network' && c === d.live && !hv.networks.has(dev.nic.source)) throw noNetwork(dev.nic.source);
    }
  }
  for (const c of ts) {
    if (dev.kind === 'disk') {
      const k = c.disks.find((x) => x.target === dev.disk.target);
      if (!k) continue;
      if (dev.disk.source === undefined) delete k.source;
      else k.source = dev.disk.source;
      if (dev.disk.format) k.format = dev.disk.format;
    } else {
      const n = c.nics.find((x) => x.mac === dev.nic.mac);
      if (!n) continue;
      n.type = dev.nic.type;
      n.source = dev.nic.source;
      n.model = dev.nic.model;
    }
  }
}

/** Domain XML both ways: generated from the simulated state, parsed from what an admin sends. */
import type { DiskDef, DomainConfig, NicDef } from './domain-config.js';
import type { SimDomain } from './domain.js';
import { attr, checkName, checkUuid, child, children, escapeXml as e, parseRoot, positiveInt, sizeBytes, text, xmlError, type XmlNode } from './xml.js';

export const SIM_NS = 'https://ve-manager.dev/xmlns/sim/1';

export function diskXml(d: DiskDef, indent = '    '): string {
  const src =
    d.source === undefined ? '' : d.type === 'block' ? `\n${indent}  <source dev='${e(d.source)}'/>` : d.type === 'network' ? `\n${indent}  <source protocol='rbd' name='${e(d.source)}'/>` : `\n${indent}  <source file='${e(d.source)}'/>`;
  const ro = d.readonly ? `\n${indent}  <readonly/>` : '';
  return (
    `${indent}<disk type='${d.type}' device='${d.device}'>\n` +
    `${indent}  <driver name='qemu' type='${e(d.format ?? (d.device === 'cdrom' ? 'raw' : 'qcow2'))}'/>` +
    src +
    `\n${indent}  <target dev='${e(d.target)}' bus='${e(d.bus)}'/>` +
    ro +
    `\n${indent}</disk>\n`
  );
}

export function nicXml(n: NicDef, liveDev?: string, indent = '    '): string {
  const src = n.type === 'bridge' ? `<source bridge='${e(n.source)}'/>` : n.type === 'network' ? `<source network='${e(n.source)}'/>` : '';
  return (
    `${indent}<interface type='${n.type}'>\n` +
    `${indent}  <mac address='${e(n.mac)}'/>\n` +
    (src ? `${indent}  ${src}\n` : '') +
    (liveDev ? `${indent}  <target dev='${liveDev}'/>\n` : '') +
    (n.model ? `${indent}  <model type='${e(n.model)}'/>\n` : '') +
    `${indent}</interface>\n`
  );
}

/** The domain's XML, as `virsh dumpxml` would show it (inactive = the persistent definition). */
export function domainXml(dom: SimDomain, node: string, opts: { inactive?: boolean } = {}): string {
  const live = !opts.inactive && dom.live !== null;
  const c = live && dom.live ? dom.live : dom.config;
  const idAttr = live ? ` id='${dom.id}'` : '';
  const lines: string[] = [];
  lines.push(`<!-- Simulated by ve-manager: this domain lives in the simulated hypervisor sim://${e(node)}; no real VM exists. -->`);
  lines.push(`<domain type='${e(c.type)}'${idAttr}>`);
  lines.push(`  <name>${e(c.name)}</name>`);
  lines.push(`  <uuid>${c.uuid}</uuid>`);
  if (c.title) lines.push(`  <title>${e(c.title)}</title>`);
  if (c.description) lines.push(`  <description>${e(c.description)}</description>`);
  lines.push('  <metadata>');
  lines.push(`    <vemsim:sim xmlns:vemsim='${SIM_NS}' simulated='yes' node='${e(node)}' workload='${e(c.workloadKind ?? dom.workload.kind)}'${c.workloadUtil !== undefined ? ` util='${c.workloadUtil}'` : ''} os='${e(dom.os.id)}'/>`);
  if (c.foreignMetadata) lines.push(`    ${c.foreignMetadata}`);
  lines.push('  </metadata>');
  lines.push(`  <memory unit='KiB'>${c.maxMemKiB}</memory>`);
  lines.push(`  <currentMemory unit='KiB'>${c.memKiB}</currentMemory>`);
  lines.push(`  <vcpu placement='static'${c.vcpus !== c.maxVcpus ? ` current='${c.vcpus}'` : ''}>${c.maxVcpus}</vcpu>`);
  lines.push('  <cputune>');
  lines.push(`    <shares>${c.cpuShares}</shares>`);
  lines.push(`    <period>${c.vcpuPeriod}</period>`);
  if (c.vcpuQuota > 0) lines.push(`    <quota>${c.vcpuQuota}</quota>`);
  lines.push('  </cputune>');
  lines.push('  <os>');
  // A container runs an init program on the host's kernel (os type exe); KVM and Xen HVM guests boot a machine.
  if (c.type === 'lxc') lines.push(`    <type arch='${e(c.arch)}'>exe</type>\n    <init>/sbin/init</init>`);
  else lines.push(`    <type arch='${e(c.arch)}' machine='${e(c.machine)}'>hvm</type>`);
  if (c.kernel) lines.push(`    <kernel>${e(c.kernel)}</kernel>`);
  if (c.initrd) lines.push(`    <initrd>${e(c.initrd)}</initrd>`);
  for (const b of c.boot) lines.push(`    <boot dev='${e(b)}'/>`);
  lines.push('  </os>');
  if (c.type !== 'lxc') {
    lines.push('  <features>\n    <acpi/>\n    <apic/>\n  </features>');
    lines.push("  <cpu mode='host-passthrough' check='none'/>");
  }
  lines.push("  <clock offset='utc'/>");
  lines.push('  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>');
  lines.push('  <devices>');
  lines.push(`    <emulator>${c.type === 'lxc' ? '/usr/lib/libvirt/libvirt_lxc' : c.type === 'xen' ? '/usr/lib/xen/bin/qemu-system-i386' : '/usr/bin/qemu-system-x86_64'}</emulator>`);
  if (c.type === 'lxc') lines.push(`    <filesystem type='mount' accessmode='passthrough'>\n      <source dir='/var/lib/libvirt/lxc/${e(c.name)}/rootfs'/>\n      <target dir='/'/>\n    </filesystem>`);
  let out = lines.join('\n') + '\n';
  for (const d of c.disks) out += diskXml(d);
  c.nics.forEach((n, i) => {
    out += nicXml(n, live ? `vnet${dom.id * 4 + i}` : undefined);
  });
  const pty = live ? ` tty='/dev/pts/${(dom.id % 90) + 3}'` : '';
  if (c.type === 'lxc') out += `    <console type='pty'${pty}>\n      <target type='lxc' port='0'/>\n    </console>\n`;
  else {
    out += `    <serial type='pty'>\n      <target type='isa-serial' port='0'/>\n    </serial>\n`;
    out += `    <console type='pty'${pty}>\n      <target type='serial' port='0'/>\n    </console>\n`;
  }
  if (c.guestAgent) {
    const st = live ? " state='connected'" : '';
    out += `    <channel type='unix'>\n      <target type='virtio' name='org.qemu.guest_agent.0'${st}/>\n    </channel>\n`;
    out += `    <channel type='unix'>\n      <source mode='bind' path='/run/ve-manager/sim/${e(node)}/${e(c.name)}.guest'/>\n      <target type='virtio' name='org.vemanager.guest.0'${st}/>\n    </channel>\n`;
  }
  // Containers have no balloon device (their memory is a cgroup limit); Xen's is the hypervisor's own.
  if (c.type === 'xen') out += `    <memballoon model='xen'/>\n`;
  else if (c.type !== 'lxc') out += `    <memballoon model='virtio'>\n      <stats period='5'/>\n    </memballoon>\n`;
  out += '  </devices>\n</domain>\n';
  return out;
}

function parseDisk(d: XmlNode): DiskDef {
  const type = attr(d, 'type') ?? 'file';
  if (type !== 'file' && type !== 'block' && type !== 'network') throw xmlError(`unsupported disk type '${type}'`);
  const device = attr(d, 'device') ?? 'disk';
  if (device !== 'disk' && device !== 'cdrom') throw xmlError(`unsupported disk device '${device}'`);
  const target = attr(child(d, 'target'), 'dev');
  if (!target || !/^[a-z]{2,3}[a-z]+$/.test(target)) throw xmlError(`missing or invalid disk target device '${target ?? ''}'`);
  const src = child(d, 'source');
  const source = attr(src, 'file') ?? attr(src, 'dev') ?? attr(src, 'name');
  const bus = attr(child(d, 'target'), 'bus') ?? (target.startsWith('vd') ? 'virtio' : target.startsWith('sd') ? 'sata' : 'ide');
  const disk: DiskDef = { type, device, target, bus, format: attr(child(d, 'driver'), 'type') };
  if (source !== undefined) disk.source = source;
  if (child(d, 'readonly') !== undefined || device === 'cdrom') disk.readonly = true;
  return disk;
}

function parseNic(n: XmlNode, mac: () => string, defaultModel: string): NicDef {
  const type = attr(n, 'type') ?? 'network';
  if (type !== 'network' && type !== 'bridge' && type !== 'user') throw xmlError(`unsupported interface type '${type}'`);
  const src = child(n, 'source');
  const source = type === 'network' ? attr(src, 'network') : type === 'bridge' ? attr(src, 'bridge') : 'user';
  if (!source) throw xmlError(`missing source ${type} for interface`);
  const m = attr(child(n, 'mac'), 'address') ?? mac();
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(m)) throw xmlError(`unable to parse mac address '${m}'`);
  return { type, source, mac: m.toLowerCase(), model: attr(child(n, 'model'), 'type') ?? defaultModel };
}

/** The <metadata> elements other than the simulator's own, as written (libvirt keeps each namespace's element). */
function foreignMetadata(xml: string): string | undefined {
  const m = /<metadata>([\s\S]*?)<\/metadata>/.exec(xml);
  if (!m?.[1]) return undefined;
  const rest = m[1].replace(/<vemsim:sim\b[^>]*?(\/>|>[\s\S]*?<\/vemsim:sim>)/g, '').trim();
  return rest === '' ? undefined : rest.replace(/\s*\n\s*/g, ' ');
}

export interface ParsedDomain {
  config: Omit<DomainConfig, 'uuid'> & { uuid?: string };
}

/** A <domain> definition: name, memory and vCPUs are required and checked as libvirt checks them. */
export function parseDomainXml(xml: string, newMac: () => string): Omit<DomainConfig, 'uuid'> & { uuid?: string } {
  const d = parseRoot(xml, 'domain', 'domain_definition');
  const type = attr(d, 'type');
  if (!type) throw xmlError('missing domain type attribute');
  const name = checkName(text(child(d, 'name')), 'domain');
  const uuid = checkUuid(text(child(d, 'uuid')));
  const maxMem = sizeBytes(child(d, 'memory'), 'memory', 'KiB');
  if (maxMem === undefined) throw xmlError('missing memory element');
  const maxMemKiB = Math.floor(maxMem / 1024);
  if (maxMemKiB < 1024) throw xmlError(`memory size ${maxMemKiB} KiB is too small (at least 1024 KiB)`);
  const cur = sizeBytes(child(d, 'currentMemory'), 'currentMemory', 'KiB');
  const memKiB = cur === undefined ? maxMemKiB : Math.floor(cur / 1024);
  if (memKiB > maxMemKiB) throw xmlError(`current memory '${memKiB}' exceeds maximum '${maxMemKiB}'`);
  const vcpuNode = child(d, 'vcpu');
  if (!vcpuNode) throw xmlError('missing vcpu element');
  const maxVcpus = positiveInt(text(vcpuNode), 'vcpu');
  if (maxVcpus > 512) throw xmlError(`unsupported configuration: Maximum CPUs greater than specified machine type limit 512`);
  const curAttr = attr(vcpuNode, 'current');
  const vcpus = curAttr === undefined ? maxVcpus : positiveInt(curAttr, 'vcpu current');
  if (vcpus > maxVcpus) throw xmlError(`maximum vcpus count must not be less than current vcpus count`);
  const os = child(d, 'os');
  const osType = child(os, 'type');
  const cputune = child(d, 'cputune');
  const shares = text(child(cputune, 'shares'));
  const period = text(child(cputune, 'period'));
  const quota = text(child(cputune, 'quota'));
  const devices = child(d, 'devices');
  const disks = children(devices, 'disk').map(parseDisk);
  const seen = new Set<string>();
  for (const k of disks) {
    if (seen.has(k.target)) throw xmlError(`target '${k.target}' duplicated for disk sources`);
    seen.add(k.target);
  }
  // A container's veth and a Xen guest's netfront have no QEMU model.
  const nics = children(devices, 'interface').map((n) => parseNic(n, newMac, type === 'lxc' ? '' : type === 'xen' ? 'netfront' : 'virtio'));
  const agent = children(devices, 'channel').some((c) => /guest_agent|vemanager/.test(attr(child(c, 'target'), 'name') ?? ''));
  const meta = child(child(d, 'metadata'), 'vemsim:sim');
  const foreign = foreignMetadata(xml);
  return {
    ...(foreign !== undefined ? { foreignMetadata: foreign } : {}),
    name,
    uuid,
    type,
    title: text(child(d, 'title')),
    description: text(child(d, 'description')),
    vcpus,
    maxVcpus,
    memKiB,
    maxMemKiB,
    arch: attr(osType, 'arch') ?? 'x86_64',
    machine: attr(osType, 'machine') ?? (type === 'lxc' ? '' : type === 'xen' ? 'xenfv' : 'pc-q35-8.2'),
    boot: children(os, 'boot').map((b) => attr(b, 'dev') ?? 'hd'),
    kernel: text(child(os, 'kernel')),
    initrd: text(child(os, 'initrd')),
    disks,
    nics,
    guestAgent: agent,
    cpuShares: shares !== undefined ? positiveInt(shares, 'cputune shares') : 1024,
    vcpuPeriod: period !== undefined ? positiveInt(period, 'cputune period') : 100000,
    vcpuQuota: quota !== undefined && /^[0-9]+$/.test(quota) ? Number(quota) : -1,
    workloadKind: attr(meta, 'workload'),
    workloadUtil: utilAttr(attr(meta, 'util')),
  };
}

function utilAttr(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw xmlError(`invalid simulated workload util '${v}': expected a number from 0 to 1`);
  return n;
}

export type ParsedDevice = { kind: 'disk'; disk: DiskDef } | { kind: 'nic'; nic: NicDef };

/** One <disk> or <interface> element, as attach/detach/update receive it. */
export function parseDeviceXml(xml: string, newMac: () => string): ParsedDevice {
  const trimmed = xml.trim();
  if (/^(<\?xml[^>]*>\s*)?<disk[\s>]/.test(trimmed)) return { kind: 'disk', disk: parseDisk(parseRoot(xml, 'disk', 'device_definition')) };
  if (/^(<\?xml[^>]*>\s*)?<interface[\s>]/.test(trimmed)) return { kind: 'nic', nic: parseNic(parseRoot(xml, 'interface', 'device_definition'), newMac, 'virtio') };
  const m = /^<\s*([A-Za-z_][\w.-]*)/.exec(trimmed);
  if (!m) parseRoot(xml, 'device', 'device_definition');
  throw xmlError(`(device_definition): unsupported device type '${m?.[1] ?? '?'}' (the simulation knows disk and interface)`);
}

/** <domainsnapshot><name/><description/></domainsnapshot>; both optional. */
export function parseSnapshotXml(xml: string): { name?: string; description?: string } {
  const s = parseRoot(xml, 'domainsnapshot', 'domainsnapshot');
  const n = text(child(s, 'name'));
  return { name: n === undefined ? undefined : checkName(n, 'snapshot'), description: text(child(s, 'description')) };
}

/**
 * The create-VM form's pure part: what the admin typed, checked against what
 * the node has (names taken, memory and space free, networks, volumes), and the
 * domain XML it becomes. Nothing is sent unless `validateCreate` finds no error.
 */
import type { FieldError } from './manage-validate.js';
import { checkTemplate, type LocalInputs, type TemplateChoice, type TemplateFacts } from './manage-template.js';
import { fmtGiB, nameProblem, parseSize } from './manage-validate.js';
import type { PoolRow, VolumeRow } from '../store/manage-decode.js';
import { escapeXml as esc } from '../../common/xml.js';

export interface CreateInput {
  name: string;
  vcpus: string;
  memoryMiB: string;
  /**
   * "new" (a volume of diskSize in diskPool), "existing" (diskVolume), "template"
   * (an overlay of `template` grown to diskSize, booted with a cloud-init seed: the
   * agent's vm.provision job) or "none".
   */
  diskMode: string;
  diskPool: string;
  diskSize: string;
  diskVolume: string;
  network: string;
  /** "none", "iso" (an ISO volume "pool/volume"), or "kernel" (kernel and initrd paths on the node). */
  bootMode: string;
  iso: string;
  kernel: string;
  initrd: string;
  start: string;
  /** kvm (hardware) or qemu (TCG emulation: nodes without usable KVM, like nested test labs). */
  type: string;
  /** From a template: its name in template.list, or POOL/VOLUME; then the cloud-init fields. */
  template: string;
  /** Empty: made from the VM's name. */
  hostname: string;
  /** A public key file on the jump host, or the key itself, or "none". */
  sshKey: string;
  user: string;
  packages: string;
  /** A #cloud-config file on the jump host, merged under the fields. */
  userData: string;
  guestAgent: string;
}

export interface NodeFacts {
  node: string;
  vmNames: string[];
  cpus: number;
  freeMemKiB: number;
  pools: PoolRow[];
  volumes: ReadonlyMap<string, VolumeRow[]>;
  networks: string[];
  /** The node's templates (diskMode template). */
  templates?: TemplateFacts;
  /** The SSH key and user-data files, as read on the jump host (diskMode template). */
  local?: LocalInputs;
}

export interface CreatePlan {
  name: string;
  vcpus: number;
  memKiB: number;
  disk?: { pool: string; newBytes?: number; volume: string; path?: string; format: string };
  network?: string;
  iso?: string;
  kernel?: string;
  initrd?: string;
  start: boolean;
  type: 'kvm' | 'qemu';
}

export function emptyCreate(): CreateInput {
  return { name: '', vcpus: '1', memoryMiB: '1024', diskMode: 'new', diskPool: 'default', diskSize: '10G', diskVolume: '', network: 'default', bootMode: 'none', iso: '', kernel: '', initrd: '', start: 'no', type: 'kvm', template: '', hostname: '', sshKey: '', user: '', packages: '', userData: '', guestAgent: 'yes' };
}

function yes(s: string): boolean | undefined {
  const t = s.trim().toLowerCase();
  if (t === 'y' || t === 'yes' || t === 'true') return true;
  if (t === 'n' || t === 'no' || t === 'false' || t === '') return false;
  return undefined;
}

function findVolume(f: NodeFacts, ref: string): { pool: string; vol: VolumeRow } | { error: string } {
  const [pool = '', ...rest] = ref.split('/');
  const name = rest.join('/');
  if (!pool || !name) return { error: `'${ref}' is not POOL/VOLUME` };
  if (!f.pools.some((p) => p.name === pool)) return { error: `no pool '${pool}' on ${f.node}` };
  const vol = f.volumes.get(pool)?.find((v) => v.name === name);
  return vol ? { pool, vol } : { error: `no volume '${name}' in pool ${pool} on ${f.node}` };
}

export interface CreateCheck {
  errors: FieldError[];
  /** A VM defined by the form (new, existing or no disk). */
  plan?: CreatePlan;
  /** A VM made from a template by the agent's vm.provision job. */
  provision?: TemplateChoice;
  /** The user-data the seed will carry (diskMode template), when the cloud-init fields are good. */
  userData?: string;
}

/** Every problem, each naming its field; a plan (or a provisioning request) only when there are none. */
export function validateCreate(i: CreateInput, f: NodeFacts): CreateCheck {
  const errors: FieldError[] = [];
  const err = (field: string, message: string): void => void errors.push({ field, message });
  const name = i.name.trim();
  const np = nameProblem(name, 'name');
  if (np) err('name', np);
  else if (f.vmNames.includes(name)) err('name', `name: ${f.node} already has a VM '${name}'`);
  const vcpus = Number(i.vcpus);
  if (!Number.isInteger(vcpus) || vcpus < 1) err('vcpus', `vCPUs: '${i.vcpus}' is not a whole number of 1 or more`);
  else if (f.cpus > 0 && vcpus > f.cpus) err('vcpus', `vCPUs: ${vcpus} is more than the ${f.cpus} CPUs of ${f.node}`);
  const mem = Number(i.memoryMiB);
  if (!Number.isInteger(mem) || mem < 16) err('memory', `memory: '${i.memoryMiB}' is not a whole number of MiB (16 or more)`);
  else if (mem * 1024 > f.freeMemKiB) err('memory', `memory: ${mem} MiB is more than the ${Math.max(0, Math.floor(f.freeMemKiB / 1024))} MiB ${f.node} has free for VMs`);
  let disk: CreatePlan['disk'];
  const mode = i.diskMode.trim().toLowerCase();
  if (mode === 'template') return fromTemplate(i, f, errors, err);
  if (mode === 'new') {
    const pool = f.pools.find((p) => p.name === i.diskPool.trim());
    const bytes = parseSize(i.diskSize);
    if (!pool) err('disk pool', `disk pool: no pool '${i.diskPool}' on ${f.node} (${f.pools.map((p) => p.name).join(', ') || 'none'})`);
    else if (pool.state !== 'running') err('disk pool', `disk pool: ${pool.name} is ${pool.state}, not running`);
    if (bytes === undefined) err('disk size', `disk size: '${i.diskSize}' is not a size (e.g. 20G)`);
    else if (pool && bytes > pool.available) err('disk size', `disk size: ${i.diskSize} is more than the ${fmtGiB(pool.available)} available in pool ${pool.name}`);
    const volName = `${name}.qcow2`;
    const nameOk = errors.every((e) => e.field !== 'name');
    if (nameOk && pool && f.volumes.get(pool.name)?.some((v) => v.name === volName)) err('disk pool', `disk pool: ${pool.name} already has a volume '${volName}'`);
    if (pool && bytes !== undefined) disk = { pool: pool.name, newBytes: bytes, volume: volName, format: 'qcow2' };
  } else if (mode === 'existing') {
    const r = findVolume(f, i.diskVolume.trim());
    if ('error' in r) err('disk volume', `disk volume: ${r.error}`);
    else disk = { pool: r.pool, volume: r.vol.name, path: r.vol.path, format: r.vol.format === 'iso' ? 'raw' : r.vol.format || 'raw' };
  } else if (mode !== 'none') err('disk', `disk: '${i.diskMode}' is not new, existing, template or none`);
  const net = i.network.trim();
  if (net !== '' && net !== 'none' && !f.networks.includes(net)) err('network', `network: no network '${net}' on ${f.node} (${f.networks.join(', ') || 'none'})`);
  let iso: string | undefined;
  let kernel: string | undefined;
  let initrd: string | undefined;
  const boot = i.bootMode.trim().toLowerCase();
  if (boot === 'iso') {
    const r = findVolume(f, i.iso.trim());
    if ('error' in r) err('iso', `ISO: ${r.error}`);
    else iso = r.vol.path;
  } else if (boot === 'kernel') {
    if (!i.kernel.trim().startsWith('/')) err('kernel', `kernel: '${i.kernel}' is not an absolute path on ${f.node}`);
    if (!i.initrd.trim().startsWith('/')) err('initrd', `initrd: '${i.initrd}' is not an absolute path on ${f.node}`);
    kernel = i.kernel.trim();
    initrd = i.initrd.trim();
  } else if (boot !== 'none' && boot !== '') err('boot', `boot: '${i.bootMode}' is not none, iso or kernel`);
  const start = yes(i.start);
  if (start === undefined) err('start', `start now: '${i.start}' is not yes or no`);
  const type = i.type.trim().toLowerCase();
  if (type !== 'kvm' && type !== 'qemu') err('type', `type: '${i.type}' is not kvm or qemu`);
  if (errors.length > 0) return { errors };
  return { errors, plan: { name, vcpus, memKiB: mem * 1024, disk, network: net === '' || net === 'none' ? undefined : net, iso, kernel, initrd, start: start ?? false, type: type === 'qemu' ? 'qemu' : 'kvm' } };
}

/** diskMode template: the VM's own fields as for any VM, the rest by checkTemplate. */
function fromTemplate(i: CreateInput, f: NodeFacts, errors: FieldError[], err: (field: string, message: string) => void): CreateCheck {
  const nameOk = errors.every((e) => e.field !== 'name');
  const net = i.network.trim();
  if (net !== '' && net !== 'none' && !f.networks.includes(net)) err('network', `network: no network '${net}' on ${f.node} (${f.networks.join(', ') || 'none'})`);
  const start = yes(i.start);
  if (start === undefined) err('start', `start now: '${i.start}' is not yes or no`);
  const type = i.type.trim().toLowerCase();
  if (type !== 'kvm' && type !== 'qemu') err('type', `type: '${i.type}' is not kvm or qemu`);
  const r = checkTemplate(i, f, f.templates ?? {}, f.local ?? { sshKeys: [], errors: [] }, {
    nameOk,
    vcpus: Number(i.vcpus),
    memoryMiB: Number(i.memoryMiB),
    network: net === '' || net === 'none' ? undefined : net,
    start: start ?? false,
    virtType: type === 'qemu' ? 'qemu' : 'kvm',
  }, err);
  const out: CreateCheck = { errors, ...(r.userData !== undefined ? { userData: r.userData } : {}) };
  if (errors.length === 0 && r.choice) out.provision = r.choice;
  return out;
}

/** Domain XML for a plan; `diskPath` is the volume's path once it exists. */
export function domainXmlFor(p: CreatePlan, diskPath: string | undefined): string {
  const os = [`    <type arch='x86_64'>hvm</type>`];
  if (p.kernel) os.push(`    <kernel>${esc(p.kernel)}</kernel>`, `    <initrd>${esc(p.initrd ?? '')}</initrd>`, `    <cmdline>console=ttyS0</cmdline>`);
  else os.push(p.iso ? `    <boot dev='cdrom'/>\n    <boot dev='hd'/>` : `    <boot dev='hd'/>`);
  const dev: string[] = [];
  if (p.disk && diskPath) dev.push(`    <disk type='file' device='disk'>\n      <driver name='qemu' type='${esc(p.disk.format)}'/>\n      <source file='${esc(diskPath)}'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>`);
  if (p.iso) dev.push(`    <disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n      <source file='${esc(p.iso)}'/>\n      <target dev='sda' bus='sata'/>\n      <readonly/>\n    </disk>`);
  if (p.network) dev.push(`    <interface type='network'>\n      <source network='${esc(p.network)}'/>\n      <model type='virtio'/>\n    </interface>`);
  dev.push(`    <serial type='pty'>\n      <target port='0'/>\n    </serial>`, `    <console type='pty'>\n      <target type='serial' port='0'/>\n    </console>`);
  return [
    `<domain type='${p.type}'>`,
    `  <name>${esc(p.name)}</name>`,
    `  <memory unit='KiB'>${p.memKiB}</memory>`,
    `  <currentMemory unit='KiB'>${p.memKiB}</currentMemory>`,
    `  <vcpu placement='static'>${p.vcpus}</vcpu>`,
    `  <os>`,
    ...os,
    `  </os>`,
    `  <features>\n    <acpi/>\n    <apic/>\n  </features>`,
    `  <devices>`,
    ...dev,
    `  </devices>`,
    `</domain>`,
    '',
  ].join('\n');
}

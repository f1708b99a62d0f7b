/**
 * The XML side of templates and provisioning, pure: the template mark in a VM's
 * libvirt metadata (read, added, removed), what a VM template gives the VMs made
 * from it, the overlay volume backed by a template, and the new VM's domain XML.
 */
import { ATTR, decodeEntities as decode, escapeXml as esc, hasDtd, xmlParser, xmlProblem } from '../common/xml.js';
import { VemError } from '../common/errors.js';

/** Our namespace in libvirt's <metadata> (libvirt keeps elements there per namespace). */
export const VEM_NS = 'https://ve-manager.dev/xmlns/template/1';
export const GUEST_CHANNEL = 'org.vemanager.guest.0';

type Node = Record<string, unknown>;

function parse(xml: string): Node {
  if (hasDtd(xml)) throw new VemError('domain XML with a DTD is not accepted');
  const bad = xmlProblem(xml);
  if (bad) throw new VemError(`the VM's XML does not parse: ${bad.message} (line ${bad.line})`);
  const root = xmlParser(['disk', 'interface']).parse(xml) as Node;
  const d = root['domain'];
  if (typeof d !== 'object' || d === null) throw new VemError('the XML has no <domain> element');
  return d as Node;
}

function obj(v: unknown): Node | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Node) : undefined;
}

function attr(n: Node | undefined, name: string): string | undefined {
  const v = n?.[`${ATTR}${name}`];
  return typeof v === 'string' ? decode(v) : undefined;
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return decode(v).trim();
  const o = obj(v);
  return typeof o?.['#text'] === 'string' ? decode(o['#text']).trim() : undefined;
}

export interface TemplateMark {
  os?: string;
}

/** The template mark in a VM's XML, if it has one (an element of our namespace, any prefix). */
export function templateMarkOf(xml: string): TemplateMark | undefined {
  const meta = obj(parse(xml)['metadata']);
  if (!meta) return undefined;
  for (const [k, v] of Object.entries(meta)) {
    const el = obj(v) ?? (v === '' ? {} : undefined);
    if (!el || !/(^|:)template$/.test(k)) continue;
    const prefix = k.includes(':') ? k.slice(0, k.indexOf(':')) : '';
    if (attr(el, prefix === '' ? 'xmlns' : `xmlns:${prefix}`) !== VEM_NS) continue;
    const os = attr(el, 'os');
    return os !== undefined ? { os } : {};
  }
  return undefined;
}

const MARK_RE = /\s*<([A-Za-z_][\w.-]*:)?template\b[^>]*xmlns(:[A-Za-z_][\w.-]*)?=(['"])https:\/\/ve-manager\.dev\/xmlns\/template\/1\3[^>]*?(\/>|>[\s\S]*?<\/\1?template>)/g;

/** The VM's XML without our template mark (libvirt writes <metadata> elements back as it was given them). */
export function withoutTemplateMark(xml: string): string {
  return xml.replace(MARK_RE, '').replace(/\s*<metadata>\s*<\/metadata>|\s*<metadata\/>/, '');
}

/** The VM's XML with the template mark (any earlier mark replaced). */
export function withTemplateMark(xml: string, mark: TemplateMark): string {
  parse(xml);
  const el = `<vem:template xmlns:vem='${VEM_NS}'${mark.os !== undefined ? ` os='${esc(mark.os)}'` : ''}/>`;
  const clean = withoutTemplateMark(xml);
  if (/<metadata>/.test(clean)) return clean.replace(/<metadata>/, `<metadata>\n    ${el}`);
  const anchor = /<\/uuid>|<\/name>/.exec(clean);
  if (!anchor) throw new VemError('the VM\'s XML has no <name>');
  const at = anchor.index + anchor[0].length;
  return `${clean.slice(0, at)}\n  <metadata>\n    ${el}\n  </metadata>${clean.slice(at)}`;
}

/** What a VM template hands on: how it boots, its size, and its first disk (the base of the overlays). */
export interface VmTemplateBase {
  virtType?: string;
  arch?: string;
  machine?: string;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  vcpus?: number;
  memoryMiB?: number;
  /** The first writable disk: a pool volume or a file path. */
  disk?: { pool?: string; volume?: string; path?: string; format?: string };
}

const KIB: Record<string, number> = { b: 1 / 1024, bytes: 1 / 1024, k: 1, kib: 1, m: 1024, mib: 1024, g: 1024 ** 2, gib: 1024 ** 2 };

export function vmTemplateBase(xml: string): VmTemplateBase {
  const d = parse(xml);
  const os = obj(d['os']);
  const type = obj(os?.['type']);
  const mem = d['memory'];
  const memText = text(mem);
  const unit = (attr(obj(mem), 'unit') ?? 'KiB').toLowerCase();
  const out: VmTemplateBase = {};
  const put = <K extends keyof VmTemplateBase>(k: K, v: VmTemplateBase[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  put('virtType', attr(d, 'type'));
  put('arch', attr(type, 'arch'));
  put('machine', attr(type, 'machine'));
  put('kernel', text(os?.['kernel']));
  put('initrd', text(os?.['initrd']));
  put('cmdline', text(os?.['cmdline']));
  const vcpus = Number(text(d['vcpu']));
  if (Number.isInteger(vcpus) && vcpus > 0) out.vcpus = vcpus;
  if (memText !== undefined && KIB[unit] !== undefined) out.memoryMiB = Math.round((Number(memText) * (KIB[unit] as number)) / 1024);
  const disks = (obj(d['devices'])?.['disk'] as Node[] | undefined) ?? [];
  for (const disk of disks) {
    if ((attr(disk, 'device') ?? 'disk') !== 'disk' || disk['readonly'] !== undefined || disk['shareable'] !== undefined) continue;
    const src = obj(disk['source']);
    const fmt = attr(obj(disk['driver']), 'type');
    const kind = attr(disk, 'type') ?? 'file';
    const o: NonNullable<VmTemplateBase['disk']> = {};
    if (kind === 'volume') {
      const pool = attr(src, 'pool');
      const volume = attr(src, 'volume');
      if (pool !== undefined) o.pool = pool;
      if (volume !== undefined) o.volume = volume;
    } else {
      const path = attr(src, kind === 'block' ? 'dev' : 'file');
      if (path !== undefined) o.path = path;
    }
    if (fmt !== undefined) o.format = fmt;
    out.disk = o;
    break;
  }
  return out;
}

/** The overlay: a qcow2 volume whose backing file is the template, as big as asked. */
export function overlayVolumeXml(name: string, capacity: number, backingPath: string, backingFormat: string): string {
  return (
    `<volume><name>${esc(name)}</name><capacity unit='bytes'>${Math.round(capacity)}</capacity>` +
    `<target><format type='qcow2'/></target>` +
    `<backingStore><path>${esc(backingPath)}</path><format type='${esc(backingFormat)}'/></backingStore></volume>`
  );
}

/**
 * A full copy's volume: qcow2, no backing file. libvirt copies the template into it
 * at the template's size (the capacity here is ignored by the copy), then it is grown.
 */
export function copyVolumeXml(name: string, capacity: number, format: 'qcow2' | 'raw' = 'qcow2'): string {
  return `<volume><name>${esc(name)}</name><capacity unit='bytes'>${Math.round(capacity)}</capacity><target><format type='${format}'/></target></volume>`;
}

export interface DomainPlan {
  name: string;
  virtType: 'kvm' | 'qemu';
  arch?: string;
  machine?: string;
  vcpus: number;
  memoryMiB: number;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  networks: string[];
  /** Recorded in the VM's metadata: where it came from and its cloud-init instance id. */
  template: string;
  instanceId: string;
}

/** Where the overlay and the seed are on the node, once made (libvirt reports the paths). */
export interface DomainPaths {
  disk: string;
  seed: string;
}

/**
 * The new VM: the overlay as its virtio disk, the seed as a read-only CD-ROM on
 * virtio-SCSI (every machine type and cloud image has it), a NIC per network, a
 * serial console, and the channels of the ve-manager guest agent and of
 * qemu-guest-agent. Disks are files by path (every driver takes those; the
 * pool's own path is what libvirt reported for each volume).
 */
export function provisionDomainXml(p: DomainPlan, paths: DomainPaths): string {
  const boot = [
    p.kernel !== undefined ? `    <kernel>${esc(p.kernel)}</kernel>` : '',
    p.initrd !== undefined ? `    <initrd>${esc(p.initrd)}</initrd>` : '',
    p.cmdline !== undefined ? `    <cmdline>${esc(p.cmdline)}</cmdline>` : '',
    p.kernel === undefined ? "    <boot dev='hd'/>" : '',
  ].filter((l) => l !== '');
  const typeAttrs = `${p.arch !== undefined ? ` arch='${esc(p.arch)}'` : " arch='x86_64'"}${p.machine !== undefined ? ` machine='${esc(p.machine)}'` : ''}`;
  const nics = p.networks.map((n) => `    <interface type='network'><source network='${esc(n)}'/><model type='virtio'/></interface>`);
  return [
    `<domain type='${p.virtType}'>`,
    `  <name>${esc(p.name)}</name>`,
    '  <metadata>',
    `    <vem:provisioned xmlns:vem='${VEM_NS}' template='${esc(p.template)}' instance-id='${esc(p.instanceId)}'/>`,
    '  </metadata>',
    `  <memory unit='MiB'>${p.memoryMiB}</memory>`,
    `  <currentMemory unit='MiB'>${p.memoryMiB}</currentMemory>`,
    `  <vcpu placement='static'>${p.vcpus}</vcpu>`,
    '  <os>',
    `    <type${typeAttrs}>hvm</type>`,
    ...boot,
    '  </os>',
    '  <features><acpi/><apic/></features>',
    "  <clock offset='utc'/>",
    '  <on_poweroff>destroy</on_poweroff>',
    '  <on_reboot>restart</on_reboot>',
    '  <on_crash>destroy</on_crash>',
    '  <devices>',
    `    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${esc(paths.disk)}'/><target dev='vda' bus='virtio'/></disk>`,
    `    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='${esc(paths.seed)}'/><target dev='sda' bus='scsi'/><readonly/></disk>`,
    "    <controller type='scsi' model='virtio-scsi'/>",
    ...nics,
    "    <serial type='pty'><target port='0'/></serial>",
    "    <console type='pty'><target type='serial' port='0'/></console>",
    `    <channel type='unix'><source mode='bind'/><target type='virtio' name='${GUEST_CHANNEL}'/></channel>`,
    "    <channel type='unix'><source mode='bind'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>",
    "    <memballoon model='virtio'><stats period='5'/></memballoon>",
    '  </devices>',
    '</domain>',
    '',
  ].join('\n');
}

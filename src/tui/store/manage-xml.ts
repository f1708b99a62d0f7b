/**
 * What the storage and network views need from domain XML: each VM's disk
 * sources and network interfaces, so a volume or network can say which VMs use
 * it. Pure; entities are not expanded.
 */
import { decodeEntities, xmlParser, xmlProblem } from '../../common/xml.js';

type Node = Record<string, unknown>;

const parser = xmlParser(['disk', 'interface']);

function obj(v: unknown): Node | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Node) : undefined;
}
function list(v: unknown): Node[] {
  return Array.isArray(v) ? v.map(obj).filter((x): x is Node => x !== undefined) : [];
}
function attr(n: Node | undefined, name: string): string | undefined {
  const v = n?.[`@_${name}`];
  return typeof v === 'string' || typeof v === 'number' ? decodeEntities(String(v)) : undefined;
}

export interface DiskUse {
  device: string;
  target: string;
  /** A file or block device path, when the disk names one. */
  path?: string;
  pool?: string;
  volume?: string;
  /** libvirt's disk type: file, block, volume, network, ... */
  type?: string;
  /** Read-only or shareable: a clone shares it rather than copying it. */
  shared?: boolean;
}

export interface NicUse {
  type: string;
  network?: string;
  bridge?: string;
  mac?: string;
}

export interface DomainDevices {
  disks: DiskUse[];
  nics: NicUse[];
}

export function domainDevices(xml: string): DomainDevices {
  let doc: Node | undefined;
  try {
    doc = obj(obj(parser.parse(xml) as unknown)?.['domain']);
  } catch {
    return { disks: [], nics: [] };
  }
  const devices = obj(doc?.['devices']);
  const disks = list(devices?.['disk']).map((d) => {
    const src = obj(d['source']);
    return {
      device: attr(d, 'device') ?? 'disk',
      target: attr(obj(d['target']), 'dev') ?? '',
      path: attr(src, 'file') ?? attr(src, 'dev'),
      pool: attr(src, 'pool'),
      volume: attr(src, 'volume'),
      type: attr(d, 'type') ?? 'file',
      shared: d['readonly'] !== undefined || d['shareable'] !== undefined,
    };
  });
  const nics = list(devices?.['interface']).map((i) => {
    const src = obj(i['source']);
    return { type: attr(i, 'type') ?? '', network: attr(src, 'network'), bridge: attr(src, 'bridge'), mac: attr(obj(i['mac']), 'address') };
  });
  return { disks, nics };
}

/** True when a disk of a VM is this volume (by path, or by pool and volume name). */
export function diskIsVolume(d: DiskUse, pool: string, vol: { name: string; path: string }): boolean {
  if (d.path !== undefined && vol.path !== '' && d.path === vol.path) return true;
  return d.pool === pool && d.volume === vol.name;
}

/**
 * Whether edited XML is well formed, with the line and message when not: checked
 * before anything is sent. libvirt checks what it means (its error is shown as is).
 */
export function xmlWellFormed(xml: string): { ok: true } | { ok: false; line: number; message: string } {
  if (xml.trim() === '') return { ok: false, line: 1, message: 'the XML is empty' };
  const bad = xmlProblem(xml);
  return bad ? { ok: false, ...bad } : { ok: true };
}

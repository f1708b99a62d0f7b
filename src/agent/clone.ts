/**
 * Cloning a stopped VM, the pure part: which disks are copied and under what
 * names, which are shared, the new MACs, and the clone's domain XML. As
 * virt-clone does: writable disks are copied, CD-ROMs, floppies, read-only and
 * shareable disks stay shared; every NIC gets a new MAC; the UUID is left for
 * libvirt to make. No I/O: the agent supplies what the node holds.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import type { VolumeRef } from '../libvirt/hypervisor.js';

/** The clone cannot be made as asked; says what to change. */
export class CloneError extends Error {
  override name = 'CloneError';
}

export interface VolumeOnNode extends VolumeRef {
  format?: string;
  /** Bytes the copy will take in its pool (the source's allocation). */
  allocation: number;
  /** The source's size as the guest sees it; the copy gets the same. */
  capacity: number;
}

export interface CloneVolumePlan {
  /** The disk's target (vda, sdb). */
  target: string;
  from: VolumeOnNode;
  /** Same pool as the source; the name is new. */
  to: VolumeRef;
}

export interface ClonePlan {
  source: string;
  name: string;
  volumes: CloneVolumePlan[];
  /** Targets of disks the clone shares with its source (CD-ROMs, read-only, shareable). */
  shared: string[];
  macs: Array<{ from: string; to: string }>;
}

export interface NodeView {
  /** The pool volume at a path (file or block disk), if libvirt manages one there. */
  volumeAt(path: string): VolumeOnNode | undefined;
  volume(ref: VolumeRef): VolumeOnNode | undefined;
  volumeTaken(ref: VolumeRef): boolean;
  macTaken(mac: string): boolean;
  /** A random integer in [0, 2^24). */
  random24(): number;
}

type Tree = Array<Record<string, unknown>>;
interface El {
  tag: string;
  kids: Tree;
  attrs: Record<string, string>;
}

const OPTS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  processEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  commentPropName: '#comment',
  trimValues: false,
} as const;

/** The element view of one preserveOrder node (attributes live under ':@'). */
function el(n: Record<string, unknown>): El | undefined {
  const tag = Object.keys(n).find((k) => k !== ':@' && !k.startsWith('#'));
  if (tag === undefined) return undefined;
  const kids = n[tag];
  if (!Array.isArray(kids)) return undefined;
  if (typeof n[':@'] !== 'object' || n[':@'] === null) n[':@'] = {};
  return { tag, kids: kids as Tree, attrs: n[':@'] as Record<string, string> };
}

function children(t: Tree, tag?: string): El[] {
  return t.map(el).filter((e): e is El => e !== undefined && (tag === undefined || e.tag === tag));
}

function first(t: Tree, tag: string): El | undefined {
  return children(t, tag)[0];
}

function attr(e: El | undefined, name: string): string | undefined {
  const v = e?.attrs[`@_${name}`];
  return v === undefined ? undefined : decode(String(v));
}

function setAttr(e: El, name: string, value: string): void {
  e.attrs[`@_${name}`] = escape(value);
}

function textOf(e: El | undefined): string | undefined {
  if (!e) return undefined;
  const t = e.kids.map((k) => k['#text']).filter((x) => x !== undefined).join('');
  return decode(t).trim();
}

function decode(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos);/g, (_m, x: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[x] as string);
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function parse(xml: string): { tree: Tree; domain: El } {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new CloneError('domain XML with a DTD is not accepted');
  const bad = XMLValidator.validate(xml);
  if (bad !== true) throw new CloneError(`the VM's XML does not parse: ${bad.err.msg} (line ${bad.err.line})`);
  const tree = new XMLParser(OPTS).parse(xml) as Tree;
  const domain = first(tree, 'domain');
  if (!domain) throw new CloneError('the VM\'s XML has no <domain> element');
  return { tree, domain };
}

/** libvirt's own prefixes: QEMU/KVM (and most others) 52:54:00, Xen 00:16:3e. */
export function macPrefix(domainType: string | undefined): string {
  return domainType === 'xen' ? '00:16:3e' : '52:54:00';
}

/**
 * The copy's volume name: the source VM's name inside it becomes the new name
 * (web01.qcow2 -> web02.qcow2, web01-data.img -> web02-data.img); otherwise
 * <new>-<target> with the old extension. A taken name gets -1, -2, ...
 */
export function cloneVolumeName(old: string, sourceVm: string, newVm: string, target: string, taken: (name: string) => boolean): string {
  const dot = old.lastIndexOf('.');
  const ext = dot > 0 && /^\.[A-Za-z0-9]{1,8}$/.test(old.slice(dot)) ? old.slice(dot) : '';
  const base = sourceVm !== '' && old.includes(sourceVm) ? old.replace(sourceVm, newVm) : `${newVm}-${target}${ext}`;
  if (!taken(base)) return base;
  const stem = base.endsWith(ext) && ext !== '' ? base.slice(0, -ext.length) : base;
  for (let i = 1; i < 1000; i++) {
    const n = `${stem}-${i}${ext}`;
    if (!taken(n)) return n;
  }
  throw new CloneError(`no free volume name like '${base}'`);
}

/** What a clone of `xml` (the stopped VM's persistent definition) takes on this node. */
export function planClone(xml: string, newName: string, node: NodeView): ClonePlan {
  const { domain } = parse(xml);
  const source = textOf(first(domain.kids, 'name')) ?? '';
  const devices = first(domain.kids, 'devices');
  const plan: ClonePlan = { source, name: newName, volumes: [], shared: [], macs: [] };
  const chosen = new Set<string>();
  for (const disk of devices ? children(devices.kids, 'disk') : []) {
    const target = attr(first(disk.kids, 'target'), 'dev') ?? '?';
    const device = attr(disk, 'device') ?? 'disk';
    const src = first(disk.kids, 'source');
    const readOnly = first(disk.kids, 'readonly') !== undefined || first(disk.kids, 'shareable') !== undefined;
    if (device === 'cdrom' || device === 'floppy' || readOnly) {
      plan.shared.push(target);
      continue;
    }
    const type = attr(disk, 'type') ?? 'file';
    let vol: VolumeOnNode | undefined;
    let where: string;
    if (type === 'volume') {
      const ref = { pool: attr(src, 'pool') ?? '', volume: attr(src, 'volume') ?? '' };
      where = `volume ${ref.volume} in pool ${ref.pool}`;
      vol = node.volume(ref);
    } else if (type === 'file' || type === 'block') {
      const path = attr(src, type === 'file' ? 'file' : 'dev');
      if (path === undefined) {
        plan.shared.push(target); // an empty drive: nothing to copy
        continue;
      }
      where = path;
      vol = node.volumeAt(path);
    } else {
      throw new CloneError(`disk ${target} is a ${type} disk; only pool volumes can be copied (make it read-only or shareable to share it, or detach it first)`);
    }
    if (!vol) throw new CloneError(`disk ${target} (${where}) is not a volume of any storage pool on this node, so it cannot be copied; add its directory as a pool, or detach the disk first`);
    const name = cloneVolumeName(vol.volume, source, newName, target, (n) => chosen.has(`${vol.pool}/${n}`) || node.volumeTaken({ pool: vol.pool, volume: n }));
    chosen.add(`${vol.pool}/${name}`);
    plan.volumes.push({ target, from: vol, to: { pool: vol.pool, volume: name } });
  }
  const prefix = macPrefix(attr(domain, 'type'));
  const usedMacs = new Set<string>();
  for (const nic of devices ? children(devices.kids, 'interface') : []) {
    const mac = attr(first(nic.kids, 'mac'), 'address');
    if (mac === undefined) continue;
    let to = '';
    for (let i = 0; i < 64 && (to === '' || usedMacs.has(to) || node.macTaken(to)); i++) {
      const r = node.random24();
      to = `${prefix}:${[r >> 16, (r >> 8) & 255, r & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
    }
    usedMacs.add(to);
    plan.macs.push({ from: mac.toLowerCase(), to });
  }
  return plan;
}

/**
 * The clone's domain XML: new name, no UUID (libvirt makes one), new MACs, the
 * copied disks pointing at their copies (`paths`: target -> the new volume's
 * path), and nothing that would collide with the source when both run: host-side
 * NIC device names, fixed unix-socket paths of channels, the UEFI variables file.
 */
export function cloneDomainXml(xml: string, plan: ClonePlan, paths: ReadonlyMap<string, string>): string {
  const { tree, domain } = parse(xml);
  const nameEl = first(domain.kids, 'name');
  if (!nameEl) throw new CloneError('the VM\'s XML has no <name>');
  nameEl.kids.splice(0, nameEl.kids.length, { '#text': escape(plan.name) });
  removeWhere(domain.kids, (e) => e.tag === 'uuid');
  const os = first(domain.kids, 'os');
  const nvram = os && first(os.kids, 'nvram');
  if (nvram) nvram.kids.splice(0, nvram.kids.length);
  const devices = first(domain.kids, 'devices');
  const byTarget = new Map(plan.volumes.map((v) => [v.target, v]));
  for (const disk of devices ? children(devices.kids, 'disk') : []) {
    const v = byTarget.get(attr(first(disk.kids, 'target'), 'dev') ?? '');
    if (!v) continue;
    const src = first(disk.kids, 'source');
    if (!src) continue;
    const type = attr(disk, 'type') ?? 'file';
    if (type === 'volume') setAttr(src, 'volume', v.to.volume);
    else {
      const p = paths.get(v.target);
      if (p === undefined) throw new CloneError(`no path for the copy of disk ${v.target}`);
      setAttr(src, type === 'block' ? 'dev' : 'file', p);
    }
    // libvirt reads the copy's own chain when it starts.
    removeWhere(disk.kids, (e) => e.tag === 'backingStore');
  }
  const macs = new Map(plan.macs.map((m) => [m.from, m.to]));
  for (const nic of devices ? children(devices.kids, 'interface') : []) {
    const m = first(nic.kids, 'mac');
    const to = macs.get(attr(m, 'address')?.toLowerCase() ?? '');
    if (m && to) setAttr(m, 'address', to);
    removeWhere(nic.kids, (e) => e.tag === 'target');
  }
  for (const ch of devices ? children(devices.kids, 'channel') : []) {
    const src = first(ch.kids, 'source');
    if (attr(ch, 'type') === 'unix' && src && attr(src, 'path') !== undefined) delete src.attrs['@_path'];
  }
  return new XMLBuilder({ ...OPTS, suppressEmptyNode: true }).build(tree) as string;
}

function removeWhere(t: Tree, pred: (e: El) => boolean): void {
  for (let i = t.length - 1; i >= 0; i--) {
    const n = t[i];
    const e = n && el(n);
    if (!e || !pred(e)) continue;
    t.splice(i, 1);
    // Drop the whitespace the element stood on, so the XML keeps its shape.
    const prev = t[i - 1];
    if (prev && typeof prev['#text'] === 'string' && /^\s*$/.test(prev['#text'])) t.splice(i - 1, 1);
  }
}

/** The <volume> XML of a copy: its name, the source's capacity (some drivers, like the test driver, do not take it by default) and format. */
export function cloneVolumeXml(v: CloneVolumePlan): string {
  const fmt = v.from.format !== undefined ? `<target><format type='${escape(v.from.format)}'/></target>` : '';
  return `<volume><name>${escape(v.to.volume)}</name><capacity unit='bytes'>${v.from.capacity}</capacity>${fmt}</volume>`;
}

/** Bytes the clone needs per pool, for the check against each pool's available space. */
export function bytesPerPool(plan: ClonePlan): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of plan.volumes) m.set(v.to.pool, (m.get(v.to.pool) ?? 0) + v.from.allocation);
  return m;
}

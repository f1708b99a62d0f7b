/**
 * Clone planning, pure: which of a stopped VM's disks are copied and under what
 * names, which are shared, the new MACs, and every reason the clone cannot be
 * made as asked. The agent (which makes the clone) and the dashboard's clone
 * form (which previews it) both plan with this one module, so the preview
 * cannot drift from what is made.
 *
 * As virt-clone does: writable disks are copied, CD-ROMs, floppies, read-only
 * and shareable disks stay shared, an empty drive has nothing to copy; every
 * NIC gets a new MAC; the UUID is left for libvirt to make.
 */
import { VemError } from './errors.js';
import type { VmDisk } from './vm-disk.js';

/** The clone cannot be made as asked; the message says what to change. */
export class CloneError extends VemError {
  constructor(message: string, readonly problems: readonly CloneProblem[] = []) {
    super(message);
  }
}

/** A volume of a storage pool, by name. */
export interface PoolVolume {
  pool: string;
  volume: string;
}

export interface VolumeOnNode extends PoolVolume {
  format?: string;
  /** Bytes the copy will take in its pool (the source's allocation). */
  allocation: number;
  /** The source's size as the guest sees it; the copy gets the same. */
  capacity: number;
}

/** One disk of the source VM, as its domain XML describes it. */
export type CloneDisk = VmDisk;

/** What planning needs of the source VM. */
export interface CloneSource {
  name: string;
  /** The <domain type=...> (kvm, qemu, xen): picks the MAC prefix. */
  domainType?: string;
  disks: CloneDisk[];
  /** The MAC of each NIC, in order. */
  macs: string[];
}

/** What planning needs of the node the clone is made on. */
export interface NodeView {
  /** The node's name, for messages (default "this node"). */
  node?: string;
  /** The pool volume at a path (file or block disk), if libvirt manages one there. */
  volumeAt(path: string): VolumeOnNode | undefined;
  volume(ref: PoolVolume): VolumeOnNode | undefined;
  volumeTaken(ref: PoolVolume): boolean;
  macTaken(mac: string): boolean;
  /** A random integer in [0, 2^24). */
  random24(): number;
  /** Bytes a pool has available; when given, every pool the copies would overfill is a problem. */
  available?(pool: string): number | undefined;
}

export interface CloneVolumePlan {
  target: string;
  from: VolumeOnNode;
  /** Same pool as the source; the name is new. */
  to: PoolVolume;
}

export interface ClonePlan {
  source: string;
  name: string;
  volumes: CloneVolumePlan[];
  /** Targets of disks the clone shares with its source (CD-ROMs, read-only, shareable, empty drives). */
  shared: string[];
  macs: Array<{ from: string; to: string }>;
}

/** One reason the clone cannot be made: a disk that cannot be copied, or a pool without the space. */
export interface CloneProblem {
  kind: 'disk' | 'space';
  /** The disk's target, for a disk problem. */
  target?: string;
  /** The pool, for a space problem. */
  pool?: string;
  message: string;
}

/** The one rule of what happens to a disk: shared as is, copied, or not clonable (and why). */
export type DiskRole = { role: 'share' } | { role: 'copy' } | { role: 'refuse'; why: string };

export function diskRole(d: CloneDisk): DiskRole {
  if (d.device === 'cdrom' || d.device === 'floppy' || d.shared) return { role: 'share' };
  if (d.type === 'volume') return { role: 'copy' };
  if (d.type === 'file' || d.type === 'block') return d.path === undefined ? { role: 'share' } : { role: 'copy' };
  return { role: 'refuse', why: `disk ${d.target} is a ${d.type} disk; only pool volumes can be copied (make it read-only or shareable to share it, or detach it first)` };
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

/**
 * What a clone of the VM takes on this node, and every problem in its way (not
 * only the first): disks that cannot be copied, pools without the space. The
 * plan holds what can be planned even when there are problems, for a preview.
 */
export function planClone(src: CloneSource, newName: string, node: NodeView): { plan: ClonePlan; problems: CloneProblem[] } {
  const on = node.node ?? 'this node';
  const plan: ClonePlan = { source: src.name, name: newName, volumes: [], shared: [], macs: [] };
  const problems: CloneProblem[] = [];
  const chosen = new Set<string>();
  for (const d of src.disks) {
    const r = diskRole(d);
    if (r.role === 'share') {
      plan.shared.push(d.target);
      continue;
    }
    if (r.role === 'refuse') {
      problems.push({ kind: 'disk', target: d.target, message: r.why });
      continue;
    }
    const vol = d.type === 'volume' ? node.volume({ pool: d.pool ?? '', volume: d.volume ?? '' }) : d.path !== undefined ? node.volumeAt(d.path) : undefined;
    if (!vol) {
      const where = d.type === 'volume' ? `volume ${d.volume ?? '?'} in pool ${d.pool ?? '?'}` : (d.path ?? '?');
      problems.push({ kind: 'disk', target: d.target, message: `disk ${d.target} (${where}) is not a volume of any storage pool on ${on}, so it cannot be copied; add its directory as a pool, or detach the disk first` });
      continue;
    }
    try {
      const name = cloneVolumeName(vol.volume, src.name, newName, d.target, (n) => chosen.has(`${vol.pool}/${n}`) || node.volumeTaken({ pool: vol.pool, volume: n }));
      chosen.add(`${vol.pool}/${name}`);
      plan.volumes.push({ target: d.target, from: vol, to: { pool: vol.pool, volume: name } });
    } catch (e) {
      if (!(e instanceof CloneError)) throw e;
      problems.push({ kind: 'disk', target: d.target, message: `disk ${d.target}: ${e.message}` });
    }
  }
  if (node.available) {
    for (const [pool, bytes] of bytesPerPool(plan)) {
      const avail = node.available(pool);
      if (avail !== undefined && bytes > avail) problems.push({ kind: 'space', pool, message: `the copies need ${bytes} bytes in pool ${pool}, which has ${avail} available` });
    }
  }
  const prefix = macPrefix(src.domainType);
  const used = new Set<string>();
  for (const mac of src.macs) {
    let to = '';
    for (let i = 0; i < 64 && (to === '' || used.has(to) || node.macTaken(to)); i++) {
      const r = node.random24();
      to = `${prefix}:${[r >> 16, (r >> 8) & 255, r & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
    }
    used.add(to);
    plan.macs.push({ from: mac.toLowerCase(), to });
  }
  return { plan, problems };
}

/** Bytes the clone needs per pool, for the check against each pool's available space. */
export function bytesPerPool(plan: ClonePlan): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of plan.volumes) m.set(v.to.pool, (m.get(v.to.pool) ?? 0) + v.from.allocation);
  return m;
}

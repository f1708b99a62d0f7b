/**
 * Migrating a VM whose disks are not on storage the target sees, the planning
 * side (pure): which disks libvirt copies (VIR_MIGRATE_NON_SHARED_DISK with
 * `migrate_disks`), which the target already holds, which are not copied at
 * all, the volumes to create on the target first, and every reason the move
 * cannot start. The I/O (reading both nodes' pools, creating and removing the
 * target volumes) is in migrate-target.ts.
 *
 * The rule for a file or block disk: the target "sees" it when one of its
 * running pools has the disk's folder as its target path and holds a volume of
 * the disk's file name (after a refresh). Then nothing is copied: it is shared
 * storage, and libvirt's own check ("Migration without shared storage is
 * unsafe") still stands behind us for a local file of the same name. When the
 * pool is there but the volume is not, the disk is copied into a volume created
 * there first, same name, format and size, so the VM's XML stays valid on the
 * target. No pool at the folder is a refusal: libvirt would precreate nothing
 * and QEMU would fail to open the disk halfway through.
 *
 * The balancer costs a planned move with the same rule (diskCopy below): the
 * agent's vm.migrate and the planner read one function, so a target the
 * planner picks is one vm.migrate accepts, and the bytes it counts are the
 * bytes vm.migrate would have libvirt copy. This module lives in src/common
 * because both the agent and the balancer use it.
 */
import type { VmDisk } from './vm-disk.js';
import { ATTR, decodeEntities, hasDtd, xmlParser } from './xml.js';

/** One disk of the VM, as its live domain XML describes it, with what a copy of it needs. */
export interface MigrationDisk extends VmDisk {
  /** <driver type=...>: qcow2, raw, ... */
  format?: string;
  /** A <backingStore> with a source: the copy on the target holds the whole chain, so it may need the full capacity. */
  hasBacking: boolean;
}

/** What this node knows of the source file (from the pool that holds it, or the VM's block stats). */
export interface SourceVolume {
  capacity: number;
  allocation: number;
  format?: string;
}

export interface TargetPool {
  name: string;
  /** libvirt's pool type: dir, fs, netfs, logical, ... */
  type?: string;
  path?: string;
  running: boolean;
  available: number;
  /** Names of the volumes it holds. */
  volumes: ReadonlySet<string>;
}

/** The target node as planning sees it. */
export interface TargetView {
  /** The node's name, for messages. */
  node: string;
  pools: readonly TargetPool[];
}

export type DiskAction = 'copy' | 'shared' | 'not-copied';

export interface DiskPlan {
  target: string;
  path?: string;
  action: DiskAction;
  /** Why, in the admin's words. */
  why: string;
  /** copy and shared: the target's pool and volume. */
  pool?: string;
  volume?: string;
  /** copy: the volume to create. */
  format?: string;
  capacity?: number;
  /** copy: the bytes it may take in its pool (checked against its free space). */
  bytes?: number;
}

export interface StoragePlan {
  disks: DiskPlan[];
  /** The targets libvirt copies (the `migrate_disks` parameter); empty = no storage copy. */
  migrateDisks: string[];
  /** Every reason the move cannot start (empty = it can). */
  problems: string[];
}

/** The sizes written in messages. */
export function fmtBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${u[i]}`;
}

type Node = Record<string, unknown>;
const asNode = (v: unknown): Node | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Node) : undefined);
const at = (n: Node | undefined, a: string): string | undefined => {
  const v = n?.[`${ATTR}${a}`];
  return v === undefined ? undefined : decodeEntities(String(v));
};

/** The VM's <domain type=...> (kvm, qemu, test, lxc, xen) and its disks, from its (live) domain XML. */
export function migrationDisks(xml: string): { domainType?: string; disks: MigrationDisk[] } {
  if (hasDtd(xml)) throw new Error('domain XML with a DTD is not accepted');
  const doc = asNode(xmlParser(['disk']).parse(xml));
  const domain = asNode(doc?.['domain']);
  const domainType = at(domain, 'type');
  const devices = asNode(domain?.['devices']);
  const raw = devices?.['disk'];
  const list = Array.isArray(raw) ? raw.map(asNode).filter((d): d is Node => d !== undefined) : [];
  const disks = list.map((d) => {
    const type = at(d, 'type') ?? 'file';
    const src = asNode(d['source']);
    const path = type === 'file' ? at(src, 'file') : type === 'block' ? at(src, 'dev') : undefined;
    const backing = asNode(d['backingStore']);
    const out: MigrationDisk = {
      target: at(asNode(d['target']), 'dev') ?? '?',
      device: at(d, 'device') ?? 'disk',
      type,
      shared: d['readonly'] !== undefined || d['shareable'] !== undefined,
      hasBacking: backing !== undefined && backing['source'] !== undefined,
    };
    if (path !== undefined && path !== '') out.path = path;
    const pool = at(src, 'pool');
    const volume = at(src, 'volume');
    if (type === 'volume' && pool !== undefined) out.pool = pool;
    if (type === 'volume' && volume !== undefined) out.volume = volume;
    const format = at(asNode(d['driver']), 'type');
    if (format !== undefined) out.format = format;
    return out;
  });
  return { ...(domainType !== undefined ? { domainType } : {}), disks };
}

/** libvirt copies storage during a migration only in its QEMU driver (NBD and drive-mirror). */
export function copiesStorage(domainType: string | undefined): boolean {
  return domainType === 'qemu' || domainType === 'kvm';
}

function split(path: string): { dir: string; name: string } {
  const i = path.lastIndexOf('/');
  return { dir: i <= 0 ? '/' : path.slice(0, i), name: path.slice(i + 1) };
}

const norm = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, '') : p);

/** Pools whose volumes are devices, not files: a volume there takes no format. */
const BLOCK_POOLS = new Set(['logical', 'disk', 'iscsi', 'iscsi-direct', 'scsi', 'mpath', 'zfs']);

/**
 * The plan for moving these disks to `target`. `source` gives what this node knows of a
 * disk's file (undefined when it is in no pool here and the VM reported no size).
 */
export function planStorage(disks: readonly MigrationDisk[], source: (d: MigrationDisk) => SourceVolume | undefined, target: TargetView): StoragePlan {
  const out: DiskPlan[] = [];
  const problems: string[] = [];
  const node = target.node;
  for (const d of disks) {
    const base = { target: d.target, ...(d.path !== undefined ? { path: d.path } : {}) };
    if (d.device === 'cdrom' || d.device === 'floppy') {
      out.push({ ...base, action: 'not-copied', why: `a ${d.device}: the target needs the same medium path, libvirt does not copy it` });
      continue;
    }
    if (d.shared) {
      out.push({ ...base, action: 'not-copied', why: 'read-only or shareable: libvirt does not copy it' });
      continue;
    }
    if (d.type === 'network') {
      out.push({ ...base, action: 'shared', why: 'a network disk: the target reaches it itself' });
      continue;
    }
    let pool: TargetPool | undefined;
    let name: string;
    let where: string;
    if (d.type === 'volume') {
      if (d.pool === undefined || d.volume === undefined) {
        out.push({ ...base, action: 'not-copied', why: 'no source' });
        continue;
      }
      name = d.volume;
      where = `pool ${d.pool}`;
      pool = target.pools.find((p) => p.running && p.name === d.pool);
      if (!pool) {
        problems.push(`${node} has no running storage pool '${d.pool}' for disk ${d.target} (volume ${d.volume}): define and start it there, or pass copyStorage: false if the pool is shared storage both nodes see`);
        continue;
      }
    } else if (d.type === 'file' || d.type === 'block') {
      if (d.path === undefined) {
        out.push({ ...base, action: 'not-copied', why: 'an empty drive' });
        continue;
      }
      const s = split(d.path);
      name = s.name;
      where = s.dir;
      pool = target.pools.find((p) => p.running && p.path !== undefined && norm(p.path) === norm(s.dir));
      if (!pool) {
        problems.push(
          `${node} has no storage pool at ${s.dir} for disk ${d.target} (${d.path}): define and start one there ` +
            `(virsh pool-define-as NAME dir --target ${s.dir}; virsh pool-start NAME), or pass copyStorage: false if the disk is on storage both nodes share`,
        );
        continue;
      }
    } else {
      problems.push(`disk ${d.target} is a ${d.type} disk, which this agent cannot plan a copy of: detach it, or pass copyStorage: false if the target reaches it`);
      continue;
    }
    if (pool.volumes.has(name)) {
      out.push({ ...base, action: 'shared', pool: pool.name, volume: name, why: `${node}'s pool ${pool.name} already holds ${name}: shared storage (or a copy left there)` });
      continue;
    }
    const src = source(d);
    if (!src) {
      problems.push(`cannot tell the size of disk ${d.target} (${d.path ?? `${d.pool}/${d.volume}`}): it is in no storage pool on this node; define one holding ${where} here`);
      continue;
    }
    // A chain is copied flattened into one volume, which may grow to the full size; a
    // single file takes about what it takes here (QEMU skips zeroes on a new target).
    const bytes = d.hasBacking ? src.capacity : Math.min(src.capacity, src.allocation);
    const plan: DiskPlan = { ...base, action: 'copy', pool: pool.name, volume: name, capacity: src.capacity, bytes, why: `copied into a new volume ${name} of ${node}'s pool ${pool.name}` };
    const format = d.format ?? src.format;
    if (format !== undefined && !BLOCK_POOLS.has(pool.type ?? '')) plan.format = format;
    out.push(plan);
  }
  // Room: every copy into one pool together.
  for (const p of target.pools) {
    const into = out.filter((d) => d.action === 'copy' && d.pool === p.name);
    const need = into.reduce((a, d) => a + (d.bytes ?? 0), 0);
    if (into.length > 0 && need > p.available) {
      problems.push(`${node}'s pool ${p.name} has ${fmtBytes(p.available)} free, the copy of ${into.map((d) => d.target).join(', ')} needs ${fmtBytes(need)}: free space there or pick another node`);
    }
  }
  return { disks: out, migrateDisks: out.filter((d) => d.action === 'copy').map((d) => d.target), problems };
}

/** The <volume> XML of a target volume: the source's name, size and format. */
export function targetVolumeXml(d: DiskPlan): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');
  const fmt = d.format !== undefined ? `<target><format type='${esc(d.format)}'/></target>` : '';
  return `<volume><name>${esc(d.volume ?? '')}</name><capacity unit='bytes'>${d.capacity ?? 0}</capacity><allocation unit='bytes'>0</allocation>${fmt}</volume>`;
}

/** A disk with what its node knows of its file's size (absent: neither a pool nor the VM's block stats say). */
export interface SizedDisk extends MigrationDisk {
  size?: SourceVolume;
}

/** A VM's disks as a planner sees them. */
export interface VmDisks {
  /** <domain type=...>: only QEMU guests have their disks copied (copiesStorage). */
  domainType?: string;
  disks: SizedDisk[];
}

/**
 * What moving these disks to `target` costs, by vm.migrate's own rule (planStorage):
 * the bytes libvirt copies (0: every disk is shared or never copied), or why the
 * disks cannot be placed there. A driver that copies no storage costs 0 here: its
 * migration either needs shared storage or is refused by the driver itself.
 */
export function diskCopy(vm: VmDisks, target: TargetView): { bytes: number; into: Array<{ pool: string; bytes: number }> } | { refusal: string } {
  if (!copiesStorage(vm.domainType)) return { bytes: 0, into: [] };
  const plan = planStorage(vm.disks, (d) => (d as SizedDisk).size, target);
  if (plan.problems.length > 0) return { refusal: plan.problems.join('; ') };
  const into: Array<{ pool: string; bytes: number }> = [];
  let bytes = 0;
  for (const d of plan.disks) {
    if (d.action !== 'copy') continue;
    bytes += d.bytes ?? 0;
    into.push({ pool: d.pool ?? '', bytes: d.bytes ?? 0 });
  }
  return { bytes, into };
}

/** A volume of a pool on the VM's own node, as libvirt lists it. */
export interface VolumeFacts {
  name: string;
  path: string;
  capacity: number;
  allocation: number;
  format?: string;
}

/**
 * What this node knows of a disk's file: the pool volume at its path (or of its pool and
 * name), else the VM's block stats (capacity, and physical or allocation); undefined when
 * neither says. vm.migrate and node.migrationStorage both size disks so.
 */
export function sourceVolume(
  d: MigrationDisk,
  here: ReadonlyArray<{ name: string; infos: readonly VolumeFacts[] }>,
  block?: { capacity?: number; allocation?: number; physical?: number },
): SourceVolume | undefined {
  const v = here.flatMap((p) => p.infos).find((x) => (d.path !== undefined ? x.path === d.path : false)) ??
    (d.pool !== undefined ? here.find((p) => p.name === d.pool)?.infos.find((x) => x.name === d.volume) : undefined);
  if (v) return { capacity: v.capacity, allocation: v.allocation, ...(v.format !== undefined ? { format: v.format } : {}) };
  if (block?.capacity === undefined) return undefined;
  return { capacity: block.capacity, allocation: block.physical ?? block.allocation ?? block.capacity };
}

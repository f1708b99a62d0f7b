/** Simulated storage pools and volumes of one node: a disk-image pool, an ISO pool, a fast LVM pool. */
import type { StoragePoolInfo, StorageVolumeInfo, VolumeRef } from '../hypervisor.js';
import { ErrorCode, LibvirtError } from '../errors.js';
import { attr, checkName, checkUuid, child, escapeXml as e, parseRoot, sizeBytes, text, xmlError } from './xml.js';

const GiB = 1024 ** 3;

interface Pool {
  info: StoragePoolInfo;
  volumes: Map<string, StorageVolumeInfo>;
  /** Its target exists on the node (a pool defined here must be built before it starts). */
  built?: boolean;
}

/** Pool types the simulator keeps (libvirt knows more; they need real devices or servers). */
const POOL_TYPES = ['dir', 'fs', 'logical'] as const;

export function noPool(name: string): LibvirtError {
  return new LibvirtError(`Storage pool not found: no storage pool with matching name '${name}'`, ErrorCode.NO_STORAGE_POOL, 18);
}

export function noVolume(name: string): LibvirtError {
  return new LibvirtError(`Storage volume not found: no storage vol with matching name '${name}'`, ErrorCode.NO_STORAGE_VOL, 18);
}

export class SimStorage {
  private readonly pools = new Map<string, Pool>();
  /** Volume path -> volume, for block stats and "used by" lookups. */
  private readonly byPath = new Map<string, StorageVolumeInfo>();

  constructor(readonly node: string, private readonly uuid: () => string) {
    this.addPool({ name: 'default', uuid: uuid(), state: 'running', capacity: 0, allocation: 0, available: 0, autostart: true, persistent: true, type: 'dir', path: '/var/lib/libvirt/images' }, 4096 * GiB);
    this.addPool({ name: 'iso', uuid: uuid(), state: 'running', capacity: 0, allocation: 0, available: 0, autostart: true, persistent: true, type: 'dir', path: '/var/lib/libvirt/iso' }, 500 * GiB);
    this.addPool({ name: 'fast-ssd', uuid: uuid(), state: 'running', capacity: 0, allocation: 0, available: 0, autostart: true, persistent: true, type: 'logical', path: '/dev/vg_fast' }, 1024 * GiB);
    const isos: Array<[string, number]> = [
      ['debian-12.7.0-amd64-netinst.iso', 631 * 1024 ** 2],
      ['ubuntu-24.04.1-live-server-amd64.iso', 2.6 * GiB],
      ['Rocky-9.4-x86_64-minimal.iso', 1.8 * GiB],
      ['alpine-virt-3.20.3-x86_64.iso', 62 * 1024 ** 2],
    ];
    for (const [name, size] of isos) this.put('iso', { name, key: `/var/lib/libvirt/iso/${name}`, path: `/var/lib/libvirt/iso/${name}`, type: 'file', capacity: Math.round(size), allocation: Math.round(size), format: 'iso' });
  }

  /** A "templates" pool of cloud images (vem demo): what vm.provision makes VMs from on a SIMULATED node. */
  addTemplates(uuid: string): void {
    if (this.pools.has('templates')) return;
    const dir = '/var/lib/libvirt/templates';
    this.addPool({ name: 'templates', uuid, state: 'running', capacity: 0, allocation: 0, available: 0, autostart: true, persistent: true, type: 'dir', path: dir }, 200 * GiB);
    const images: Array<[string, number, number]> = [
      ['debian-12-genericcloud-amd64.qcow2', 2 * GiB, 420 * 1024 ** 2],
      ['ubuntu-24.04-server-cloudimg-amd64.img', 3.5 * GiB, 590 * 1024 ** 2],
      ['rocky-9.4-genericcloud-base.qcow2', 10 * GiB, 610 * 1024 ** 2],
    ];
    for (const [name, capacity, allocation] of images) this.put('templates', { name, key: `${dir}/${name}`, path: `${dir}/${name}`, type: 'file', capacity, allocation, format: 'qcow2' });
  }

  private addPool(info: StoragePoolInfo, capacity: number): void {
    info.capacity = capacity;
    info.available = capacity;
    this.pools.set(info.name, { info, volumes: new Map() });
  }

  private pool(name: string): Pool {
    const p = this.pools.get(name);
    if (!p) throw noPool(name);
    return p;
  }

  /** Adds a volume (inventory or createVolume), keeping the pool's allocation in step. */
  put(poolName: string, vol: StorageVolumeInfo): StorageVolumeInfo {
    const p = this.pool(poolName);
    p.volumes.set(vol.name, vol);
    this.byPath.set(vol.path, vol);
    this.recount(p);
    return vol;
  }

  private recount(p: Pool): void {
    let alloc = 0;
    for (const v of p.volumes.values()) alloc += v.allocation;
    p.info.allocation = alloc;
    p.info.available = Math.max(0, p.info.capacity - alloc);
  }

  /** Grows a pool so the inventory fits with room to spare (big clusters, big disks). */
  ensureRoom(poolName: string, free: number): void {
    const p = this.pool(poolName);
    if (p.info.available < free) {
      p.info.capacity += Math.ceil((free - p.info.available) / (512 * GiB)) * 512 * GiB;
      this.recount(p);
    }
  }

  volumeByPath(path: string | undefined): StorageVolumeInfo | undefined {
    return path === undefined ? undefined : this.byPath.get(path);
  }

  listPools(): StoragePoolInfo[] {
    return [...this.pools.values()].map((p) => ({ ...p.info }));
  }

  poolXml(name: string): string {
    const p = this.pool(name).info;
    const target = p.type === 'logical' ? `<path>${e(p.path ?? '')}</path>` : `<path>${e(p.path ?? '')}</path>\n    <permissions>\n      <mode>0711</mode>\n      <owner>0</owner>\n      <group>0</group>\n    </permissions>`;
    const source = p.type === 'logical' ? `\n  <source>\n    <device path='/dev/nvme1n1p1'/>\n    <name>${e((p.path ?? '').split('/').pop() ?? '')}</name>\n    <format type='lvm2'/>\n  </source>` : '\n  <source>\n  </source>';
    return (
      `<!-- Simulated by ve-manager: a storage pool of the simulated node sim://${e(this.node)}. -->\n` +
      `<pool type='${p.type ?? 'dir'}'>\n  <name>${e(p.name)}</name>\n  <uuid>${p.uuid}</uuid>\n` +
      `  <capacity unit='bytes'>${p.capacity}</capacity>\n  <allocation unit='bytes'>${p.allocation}</allocation>\n  <available unit='bytes'>${p.available}</available>` +
      `${source}\n  <target>\n    ${target}\n  </target>\n</pool>\n`
    );
  }

  refresh(name: string): void {
    this.recount(this.pool(name));
  }

  listVolumes(pool: string): StorageVolumeInfo[] {
    return [...this.pool(pool).volumes.values()].map((v) => ({ ...v }));
  }

  /** <volume><name/><capacity unit=.../><allocation/><target><format type=.../></target></volume> */
  createVolume(poolName: string, xml: string): StorageVolumeInfo {
    const p = this.pool(poolName);
    const v = parseRoot(xml, 'volume', 'volume_definition');
    const name = checkName(text(child(v, 'name')), 'volume');
    const capacity = sizeBytes(child(v, 'capacity'), 'capacity', 'bytes');
    if (capacity === undefined) throw xmlError('missing capacity element for volume');
    if (capacity <= 0) throw xmlError('volume capacity must be greater than 0');
    const format = attr(child(child(v, 'target'), 'format'), 'type') ?? (p.info.type === 'logical' ? 'raw' : 'raw');
    const allocation = sizeBytes(child(v, 'allocation'), 'allocation', 'bytes') ?? (format === 'qcow2' ? 196_608 : capacity);
    return this.add(poolName, name, capacity, Math.min(allocation, capacity), format);
  }

  /** A new volume in a pool, as libvirt refuses it: a name taken, or not enough space. */
  private add(poolName: string, name: string, capacity: number, allocation: number, format: string): StorageVolumeInfo {
    const p = this.pool(poolName);
    if (p.volumes.has(name)) throw new LibvirtError(`storage volume '${name}' exists already`, ErrorCode.OPERATION_FAILED, 18);
    if (allocation > p.info.available) {
      throw new LibvirtError(`operation failed: Not enough space in pool '${poolName}': need ${allocation} bytes, ${p.info.available} available`, ErrorCode.OPERATION_FAILED, 18);
    }
    const path = `${p.info.path}/${name}`;
    return { ...this.put(poolName, { name, key: path, path, type: p.info.type === 'logical' ? 'block' : 'file', capacity, allocation, format }) };
  }

  /**
   * As virStorageVolCreateXMLFrom: the new volume takes its name from the XML, and the source's
   * capacity and data (so its allocation). A bigger capacity in the XML is ignored, as libvirt's
   * directory pools do (seen on a lab node: a 16 MiB qcow2 copied with 64 MiB asked stays 16 MiB).
   */
  cloneVolume(poolName: string, xml: string, from: VolumeRef): StorageVolumeInfo {
    const src = this.pool(from.pool).volumes.get(from.volume);
    if (!src) throw noVolume(from.volume);
    this.pool(poolName); // an unknown target pool is named before the XML is read
    const v = parseRoot(xml, 'volume', 'volume_definition');
    const name = checkName(text(child(v, 'name')), 'volume');
    const asked = sizeBytes(child(v, 'capacity'), 'capacity', 'bytes') ?? src.capacity;
    if (asked < src.capacity) throw xmlError(`the new volume's capacity ${asked} is smaller than the source's ${src.capacity}`);
    const format = attr(child(child(v, 'target'), 'format'), 'type') ?? src.format ?? 'raw';
    return this.add(poolName, name, src.capacity, src.allocation, format);
  }

  /** As virStorageVolResize without flags: grows the capacity; the data (allocation) stays. */
  resizeVolume(poolName: string, name: string, capacity: number): StorageVolumeInfo {
    const p = this.pool(poolName);
    const v = p.volumes.get(name);
    if (!v) throw noVolume(name);
    if (capacity < v.capacity) throw new LibvirtError(`invalid argument: Can't shrink capacity below current capacity unless shrink flag explicitly specified`, ErrorCode.INVALID_ARG, 18);
    return { ...this.put(poolName, { ...v, capacity }) };
  }

  deleteVolume(poolName: string, name: string): void {
    const p = this.pool(poolName);
    const v = p.volumes.get(name);
    if (!v) throw noVolume(name);
    p.volumes.delete(name);
    this.byPath.delete(v.path);
    this.recount(p);
  }

  /** As virStoragePoolDefineXML: a persistent, inactive pool whose target is not made yet. */
  definePool(xml: string): string {
    const x = parseRoot(xml, 'pool', 'pool_definition');
    const type = attr(x, 'type');
    if (type === undefined) throw xmlError('storage pool type is missing');
    if (!(POOL_TYPES as readonly string[]).includes(type)) throw xmlError(`unknown storage pool type ${type} (the simulator keeps ${POOL_TYPES.join(', ')})`);
    const name = checkName(text(child(x, 'name')), 'pool');
    const uuid = checkUuid(text(child(x, 'uuid')));
    const path = text(child(child(x, 'target'), 'path'))?.trim();
    if (!path) throw xmlError(`missing storage pool target path for pool '${name}'`);
    if (!path.startsWith('/')) throw xmlError(`storage pool target path '${path}' must be absolute`);
    const existing = this.pools.get(name);
    if (existing) throw new LibvirtError(`operation failed: pool '${name}' already exists with uuid ${existing.info.uuid}`, ErrorCode.OPERATION_FAILED, 18);
    for (const p of this.pools.values()) {
      if (p.info.path === path) throw new LibvirtError(`operation failed: Storage source conflict with pool: '${p.info.name}'`, ErrorCode.OPERATION_FAILED, 18);
    }
    const capacity = type === 'logical' ? 1024 * GiB : 500 * GiB;
    this.pools.set(name, { info: { name, uuid: uuid ?? this.uuid(), state: 'inactive', capacity: 0, allocation: 0, available: 0, autostart: false, persistent: true, type, path }, volumes: new Map(), built: false });
    this.pendingCapacity.set(name, capacity);
    return name;
  }

  /** Capacity a defined pool shows once started (libvirt reads it from the target then). */
  private readonly pendingCapacity = new Map<string, number>();

  /** As virStoragePoolBuild: makes the target; refused while the pool runs. */
  buildPool(name: string): void {
    const p = this.pool(name);
    if (p.info.state === 'running') throw new LibvirtError(`Requested operation is not valid: storage pool '${name}' is already active`, ErrorCode.OPERATION_INVALID, 18);
    p.built = true;
  }

  /** As virStoragePoolCreate: starts a defined pool; its target must exist (built). */
  startPool(name: string): void {
    const p = this.pool(name);
    if (p.info.state === 'running') throw new LibvirtError(`Requested operation is not valid: storage pool '${name}' is already active`, ErrorCode.OPERATION_INVALID, 18);
    if (p.built === false) {
      throw new LibvirtError(p.info.type === 'logical' ? `internal error: volume group '${(p.info.path ?? '').split('/').pop() ?? ''}' not found` : `cannot open directory '${p.info.path ?? ''}': No such file or directory`, p.info.type === 'logical' ? ErrorCode.INTERNAL_ERROR : ErrorCode.SYSTEM_ERROR, 18);
    }
    const cap = this.pendingCapacity.get(name);
    if (cap !== undefined) {
      p.info.capacity = cap;
      this.pendingCapacity.delete(name);
    }
    p.info.state = 'running';
    this.recount(p);
  }
}

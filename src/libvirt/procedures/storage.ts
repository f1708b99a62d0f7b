import type { StoragePoolInfo, StorageVolumeInfo } from '../hypervisor.js';
import { Proc } from '../rpc/constants.js';
import type { RpcConnection } from '../rpc/connection.js';
import type { XdrWriter } from '../xdr/writer.js';
import { openStream, type LibvirtStream } from '../rpc/stream.js';
import { LIST_MAX, readBool, readPool, readString, readVolume, uuidString, writePool, writeVolume, type PoolHandle, type VolumeHandle } from './types.js';
import { section, tagAttr, tagText } from './xml.js';

const POOL_STATES: StoragePoolInfo['state'][] = ['inactive', 'building', 'running', 'degraded', 'inaccessible'];
const VOL_TYPES: StorageVolumeInfo['type'][] = ['file', 'block', 'dir', 'network', 'netdir', 'ploop'];

export function lookupPool(rpc: RpcConnection, name: string): Promise<PoolHandle> {
  return rpc.call(Proc.STORAGE_POOL_LOOKUP_BY_NAME, (w) => w.string(name), readPool);
}

export function listAllPools(rpc: RpcConnection): Promise<PoolHandle[]> {
  return rpc.call(Proc.CONNECT_LIST_ALL_STORAGE_POOLS, (w) => w.int(1).uint(0), (r) => {
    const pools = r.array(LIST_MAX, readPool, 20);
    r.uint();
    return pools;
  });
}

export function poolXml(rpc: RpcConnection, p: PoolHandle): Promise<string> {
  return rpc.call(Proc.STORAGE_POOL_GET_XML_DESC, (w) => (writePool(w, p), w.uint(0)), readString);
}

export async function poolInfo(rpc: RpcConnection, p: PoolHandle): Promise<StoragePoolInfo> {
  const pw = (w: XdrWriter): void => writePool(w, p);
  const [raw, autostart, persistent, xml] = await Promise.all([
    rpc.call(Proc.STORAGE_POOL_GET_INFO, pw, (r) => ({ state: r.uint(), capacity: r.uhyper(), allocation: r.uhyper(), available: r.uhyper() })),
    rpc.call(Proc.STORAGE_POOL_GET_AUTOSTART, pw, readBool),
    rpc.call(Proc.STORAGE_POOL_IS_PERSISTENT, pw, readBool),
    poolXml(rpc, p),
  ]);
  const info: StoragePoolInfo = {
    name: p.name,
    uuid: uuidString(p.uuid),
    state: POOL_STATES[raw.state] ?? 'inactive',
    capacity: raw.capacity,
    allocation: raw.allocation,
    available: raw.available,
    autostart,
    persistent,
  };
  const type = tagAttr(xml, 'pool', 'type');
  if (type !== undefined) info.type = type;
  const target = section(xml, 'target');
  const path = target ? tagText(target, 'path') : undefined;
  if (path !== undefined) info.path = path;
  return info;
}

export function refresh(rpc: RpcConnection, p: PoolHandle): Promise<void> {
  return rpc.call(Proc.STORAGE_POOL_REFRESH, (w) => (writePool(w, p), w.uint(0)));
}

export function listAllVolumes(rpc: RpcConnection, p: PoolHandle): Promise<VolumeHandle[]> {
  return rpc.call(Proc.STORAGE_POOL_LIST_ALL_VOLUMES, (w) => (writePool(w, p), w.int(1), w.uint(0)), (r) => {
    const vols = r.array(LIST_MAX, readVolume, 12);
    r.uint();
    return vols;
  });
}

export async function volumeInfo(rpc: RpcConnection, v: VolumeHandle): Promise<StorageVolumeInfo> {
  const vw = (w: XdrWriter): void => writeVolume(w, v);
  const [raw, path, xml] = await Promise.all([
    rpc.call(Proc.STORAGE_VOL_GET_INFO, vw, (r) => ({ type: r.int(), capacity: r.uhyper(), allocation: r.uhyper() })),
    rpc.call(Proc.STORAGE_VOL_GET_PATH, vw, readString),
    rpc.call(Proc.STORAGE_VOL_GET_XML_DESC, (w) => (writeVolume(w, v), w.uint(0)), readString),
  ]);
  const info: StorageVolumeInfo = { name: v.name, key: v.key, path, type: VOL_TYPES[raw.type] ?? 'file', capacity: raw.capacity, allocation: raw.allocation };
  const target = section(xml, 'target');
  const format = target ? tagAttr(target, 'format', 'type') : undefined;
  if (format !== undefined) info.format = format;
  const backing = section(xml, 'backingStore');
  const backingPath = backing ? tagText(backing, 'path') : undefined;
  if (backingPath) info.backing = backingPath;
  return info;
}

export function createVolume(rpc: RpcConnection, p: PoolHandle, xml: string): Promise<VolumeHandle> {
  return rpc.call(Proc.STORAGE_VOL_CREATE_XML, (w) => (writePool(w, p), w.string(xml), w.uint(0)), readVolume);
}

/** virStorageVolCreateXMLFrom: a new volume in `p` whose contents are copied from `from` (any pool of the node). */
export function cloneVolume(rpc: RpcConnection, p: PoolHandle, xml: string, from: VolumeHandle): Promise<VolumeHandle> {
  return rpc.call(Proc.STORAGE_VOL_CREATE_XML_FROM, (w) => (writePool(w, p), w.string(xml), writeVolume(w, from), w.uint(0)), readVolume);
}

/** virStorageVolResize: the volume's capacity becomes `capacity` bytes (growing only: no SHRINK flag). */
export function resizeVolume(rpc: RpcConnection, v: VolumeHandle, capacity: number): Promise<void> {
  return rpc.call(Proc.STORAGE_VOL_RESIZE, (w) => (writeVolume(w, v), w.uhyper(capacity), w.uint(0)), () => undefined);
}

/**
 * virStorageVolDownload / virStorageVolUpload of a whole volume (offset 0, length 0: all of it),
 * as a byte stream. Its bytes are the volume's file as it is (a qcow2 stays qcow2), not sparse.
 */
export function openVolumeStream(rpc: RpcConnection, v: VolumeHandle, direction: 'download' | 'upload'): Promise<LibvirtStream> {
  const proc = direction === 'download' ? Proc.STORAGE_VOL_DOWNLOAD : Proc.STORAGE_VOL_UPLOAD;
  return openStream(rpc, proc, (w) => (writeVolume(w, v), w.uhyper(0), w.uhyper(0), w.uint(0)));
}

export function lookupVolume(rpc: RpcConnection, p: PoolHandle, name: string): Promise<VolumeHandle> {
  return rpc.call(Proc.STORAGE_VOL_LOOKUP_BY_NAME, (w) => (writePool(w, p), w.string(name)), readVolume);
}

export function deleteVolume(rpc: RpcConnection, v: VolumeHandle): Promise<void> {
  return rpc.call(Proc.STORAGE_VOL_DELETE, (w) => (writeVolume(w, v), w.uint(0)));
}

/** virStoragePoolDefineXML: a persistent, inactive pool. */
export function definePool(rpc: RpcConnection, xml: string): Promise<PoolHandle> {
  return rpc.call(Proc.STORAGE_POOL_DEFINE_XML, (w) => w.string(xml).uint(0), readPool);
}

/** virStoragePoolCreate (start) or virStoragePoolBuild, flags 0. */
export function poolOp(rpc: RpcConnection, proc: typeof Proc.STORAGE_POOL_CREATE | typeof Proc.STORAGE_POOL_BUILD, p: PoolHandle): Promise<void> {
  return rpc.call(proc, (w) => (writePool(w, p), w.uint(0)));
}

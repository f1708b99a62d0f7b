/** storage.*: pools and volumes. */
import { method } from './method.js';
import { array, bool, string } from './schema.js';
import { pool, volume } from './types.js';

export const storage = {
  createVolume: method({
    name: 'storage.createVolume',
    help: 'Creates a volume from <volume> XML: storage.createVolume(pool, xml) -> the volume as in storage.volumes.',
    params: [string, string],
    result: volume,
    mutates: true,
  }),
  buildPool: method({
    name: 'storage.buildPool',
    help: 'Makes a defined pool\'s target on the node (a directory pool\'s folder, ...): storage.buildPool(pool) -> true. Refused while the pool runs.',
    params: [string],
    result: bool,
    mutates: true,
  }),
  definePool: method({
    name: 'storage.definePool',
    help: 'Defines a persistent storage pool from <pool> XML: storage.definePool(xml) -> its name. It stays inactive until storage.startPool (a new directory may need storage.buildPool first).',
    params: [string],
    result: string,
    mutates: true,
  }),
  deleteVolume: method({
    name: 'storage.deleteVolume',
    help: 'Deletes a volume: storage.deleteVolume(pool, volume) -> true.',
    params: [string, string],
    result: bool,
    mutates: true,
  }),
  poolXml: method({
    name: 'storage.poolXml',
    help: 'A storage pool\'s XML: storage.poolXml(pool).',
    params: [string],
    result: string,
  }),
  pools: method({
    name: 'storage.pools',
    help: 'Storage pools: [{name, uuid, state, capacity, allocation, available (bytes, as <double>), autostart, persistent, type, path}].',
    params: [],
    result: array(pool),
  }),
  refresh: method({
    name: 'storage.refresh',
    help: 'Rescans a pool for volumes made outside libvirt: storage.refresh(pool) -> true.',
    params: [string],
    result: bool,
    mutates: true,
  }),
  startPool: method({
    name: 'storage.startPool',
    help: 'Starts (activates) a defined pool: storage.startPool(pool) -> true.',
    params: [string],
    result: bool,
    mutates: true,
  }),
  volumes: method({
    name: 'storage.volumes',
    help: 'The volumes of a pool: storage.volumes(pool) -> [{name, key, path, type, capacity, allocation, format}] (bytes as <double>).' +
      ' Each volume also has usedBy: the VMs whose definition uses it (by path, or by pool and volume name).',
    params: [string],
    result: array(volume),
  }),
};

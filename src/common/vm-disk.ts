/** One disk of a VM as its domain XML names it: what cloning and migration planning both start from. */
export interface VmDisk {
  /** The guest's device name (vda, sdb): what `migrate_disks` lists. */
  target: string;
  /** libvirt's device: disk, cdrom, floppy, lun. */
  device: string;
  /** libvirt's disk type: file, block, volume, network, dir, ... */
  type: string;
  /** The file or block device path, when the disk names one. */
  path?: string;
  /** type='volume' disks: the pool and volume they name. */
  pool?: string;
  volume?: string;
  /** <readonly/> or <shareable/>: libvirt never copies these. */
  shared: boolean;
}

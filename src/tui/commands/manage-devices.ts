/** Device XML for the edit screen (attach, detach, change a NIC's network). Pure. */
import type { DiskUse, NicUse } from '../store/manage-xml.js';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The first free virtio target (vdb, vdc, ...) given the disks a VM has. */
export function nextDiskTarget(disks: DiskUse[], prefix = 'vd'): string {
  const used = new Set(disks.map((d) => d.target));
  for (let i = 0; i < 26; i++) {
    const t = `${prefix}${String.fromCharCode(97 + i)}`;
    if (!used.has(t)) return t;
  }
  throw new Error(`no free ${prefix}* disk target left`);
}

export function diskXml(path: string, format: string, target: string): string {
  return `<disk type='file' device='disk'><driver name='qemu' type='${esc(format === 'iso' ? 'raw' : format || 'raw')}'/><source file='${esc(path)}'/><target dev='${esc(target)}' bus='${target.startsWith('vd') ? 'virtio' : 'sata'}'/></disk>`;
}

/** libvirt finds the disk to detach by its target. */
export function detachDiskXml(d: DiskUse): string {
  return `<disk type='file' device='${esc(d.device)}'>${d.path ? `<source file='${esc(d.path)}'/>` : ''}<target dev='${esc(d.target)}'/></disk>`;
}

export function nicXml(network: string, mac?: string): string {
  return `<interface type='network'>${mac ? `<mac address='${esc(mac)}'/>` : ''}<source network='${esc(network)}'/><model type='virtio'/></interface>`;
}

/** libvirt finds the NIC to detach or update by its MAC address. */
export function detachNicXml(n: NicUse): string {
  return `<interface type='${esc(n.type || 'network')}'>${n.mac ? `<mac address='${esc(n.mac)}'/>` : ''}${n.network ? `<source network='${esc(n.network)}'/>` : n.bridge ? `<source bridge='${esc(n.bridge)}'/>` : ''}</interface>`;
}

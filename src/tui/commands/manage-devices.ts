/** Device XML for the edit screen (attach, detach, change a NIC's network). Pure. */
import { escapeXml as esc } from '../../common/xml.js';
import type { DiskUse, NicUse } from '../store/manage-xml.js';

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

export const BOOT_DEVICES = ['hd', 'cdrom', 'network', 'fd'] as const;

/** "cdrom,hd" -> ['cdrom', 'hd']; an error names the bad entry. */
export function parseBootOrder(text: string): { order: string[] } | { error: string } {
  const order = text.split(/[\s,]+/).filter((x) => x !== '');
  if (order.length === 0) return { error: 'boot order: empty (e.g. hd,cdrom)' };
  for (const d of order) if (!(BOOT_DEVICES as readonly string[]).includes(d)) return { error: `boot order: '${d}' is not one of ${BOOT_DEVICES.join(', ')}` };
  if (new Set(order).size !== order.length) return { error: 'boot order: a device is named twice' };
  return { order };
}

/** Domain XML with its <os> boot devices replaced (per-device <boot order=.../> elements are left alone). */
export function withBootOrder(xml: string, order: string[]): string {
  const m = /(<os\b[^>]*>)([\s\S]*?)(<\/os>)/.exec(xml);
  if (!m) throw new Error('the definition has no <os> element');
  const inner = (m[2] ?? '').replace(/\s*<boot\s+dev=['"][^'"]*['"]\s*\/>/g, '');
  const indent = /\n(\s*)<type/.exec(inner)?.[1] ?? '    ';
  const boots = order.map((d) => `\n${indent}<boot dev='${d}'/>`).join('');
  const typeEnd = /<\/type>|<type\b[^>]*\/>/.exec(inner);
  const at = typeEnd ? typeEnd.index + typeEnd[0].length : 0;
  const next = inner.slice(0, at) + boots + inner.slice(at);
  return xml.slice(0, m.index) + (m[1] ?? '') + next + (m[3] ?? '') + xml.slice(m.index + m[0].length);
}

/** The boot devices the <os> element lists, in order. */
export function bootOrderOf(xml: string): string[] {
  const os = /<os\b[^>]*>([\s\S]*?)<\/os>/.exec(xml)?.[1] ?? '';
  return [...os.matchAll(/<boot\s+dev=['"]([^'"]*)['"]/g)].map((x) => x[1] ?? '');
}

/** A simulated guest's disks and network as the guest sees them: filesystems from the VM's disks, interfaces from its NICs. */
import type { GuestFilesystem, GuestInterface, GuestVm } from './guest-types.js';
import { hashString } from './rng.js';

const GiB = 1024 ** 3;

export function guestFilesystems(d: GuestVm, role: string): GuestFilesystem[] {
  const c = d.current;
  const h = hashString(c.uuid);
  const fsType = d.os.family === 'rhel' ? 'xfs' : 'ext4';
  const fs = (device: string, mountPoint: string, type: string, total: number, usedShare: number): GuestFilesystem => {
    const used = Math.round(total * usedShare);
    return { device, mountPoint, fsType: type, readOnly: false, totalBytes: total, freeBytes: total - used, availableBytes: Math.round((total - used) * 0.95), usedBytes: used, files: Math.round(total / 16384), filesFree: Math.round((total - used) / 16384) };
  };
  const disks = c.disks.filter((k) => k.device === 'disk');
  const root = disks[0];
  const rootSize = (root?.capacity ?? 20 * GiB) - GiB;
  const out = [fs(`/dev/${root?.target ?? 'vda'}1`, '/', fsType, rootSize, 0.25 + 0.4 * ((h % 100) / 100)), fs(`/dev/${root?.target ?? 'vda'}2`, '/boot', fsType, GiB, 0.18)];
  disks.slice(1).forEach((k, i) => out.push(fs(`/dev/${k.target}`, role === 'db' && i === 0 ? '/var/lib/postgresql' : `/data${i || ''}`, 'xfs', k.capacity ?? 100 * GiB, 0.55)));
  return out;
}

export function guestInterfaces(d: GuestVm): GuestInterface[] {
  const c = d.current;
  const out: GuestInterface[] = [
    { name: 'lo', mac: '00:00:00:00:00:00', mtu: 65536, state: 'unknown', rxBytes: 0, txBytes: 0, addresses: [{ family: 'IPv4', address: '127.0.0.1', netmask: '255.0.0.0', cidr: '127.0.0.1/8' }, { family: 'IPv6', address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', cidr: '::1/128' }] },
  ];
  c.nics.forEach((n, i) => {
    // Addresses a DHCP server of the VM's network would hand out, stable per VM.
    const host = 10 + (hashString(`${c.uuid}/${i}`) % 240);
    const v4 = n.source === 'backend' ? `10.20.0.${host}` : n.source === 'default' ? `192.168.122.${host}` : `172.16.${i}.${host}`;
    const ll = macToLinkLocal(n.mac);
    const io = d.nicIo[i];
    out.push({ name: `enp${i + 1}s0`, mac: n.mac, mtu: 1500, state: 'up', rxBytes: Math.floor(io?.rxBytes ?? 0), txBytes: Math.floor(io?.txBytes ?? 0), addresses: [{ family: 'IPv4', address: v4, netmask: '255.255.255.0', cidr: `${v4}/24` }, { family: 'IPv6', address: ll, netmask: 'ffff:ffff:ffff:ffff::', cidr: `${ll}/64` }] });
  });
  return out;
}

/** The EUI-64 link-local address of a MAC. */
function macToLinkLocal(mac: string): string {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const h = (i: number): number => b[i] ?? 0;
  const w = (x: number, y: number): string => ((x << 8) | y).toString(16);
  return `fe80::${w(h(0) ^ 2, h(1))}:${w(h(2), 0xff)}:${w(0xfe, h(3))}:${w(h(4), h(5))}`;
}

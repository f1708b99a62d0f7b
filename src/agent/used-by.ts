/**
 * Who uses a volume or a network, from the VM definitions the agent already holds
 * (parsed once per change), so that no client fetches every VM's XML to find out.
 */
import type { DomainSummary } from './domxml.js';

type Defs = Iterable<[string, { summary?: DomainSummary | undefined }]>;

/** VMs (sorted) with a disk on the volume: by pool and volume name, or by the volume's path. */
export function volumeUsers(defs: Defs, pool: string, vol: { name: string; path: string }): string[] {
  const out: string[] = [];
  for (const [vm, d] of defs) {
    if (d.summary?.disks.some((k) => (k['pool'] === pool && k['source'] === vol.name) || (k['pool'] === undefined && vol.path !== '' && k['source'] === vol.path))) out.push(vm);
  }
  return out.sort();
}

/** VMs (sorted) with an interface on the network: by its name, or on its bridge (type='bridge' NICs). */
export function networkUsers(defs: Defs, network: string, bridge: string | undefined): string[] {
  const out: string[] = [];
  for (const [vm, d] of defs) {
    const on = d.summary?.interfaces.some((i) => (i['type'] === 'network' && i['source'] === network) || (i['type'] === 'bridge' && bridge !== undefined && bridge !== '' && i['source'] === bridge));
    if (on === true) out.push(vm);
  }
  return out.sort();
}

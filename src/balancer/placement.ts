/**
 * Initial placement shared by every policy in the simulator: first-fit
 * decreasing on the first sample, filling nodes to at most 80 % of CPU and
 * memory, so policies differ only in what they do afterwards.
 */
import type { HostSpec } from './trace.js';

export interface PlaceItem {
  name: string;
  cpu: number;
  memMiB: number;
}

export interface Placement {
  /** vm name -> host name */
  hostOf: Map<string, string>;
  /** VMs that fitted nowhere under the fill limit and went to the emptiest node. */
  overflow: string[];
}

export function firstFitDecreasing(hosts: readonly HostSpec[], vms: readonly PlaceItem[], fill = 0.8): Placement {
  if (hosts.length === 0) throw new Error('placement needs at least one host');
  const cpu = new Map(hosts.map((h) => [h.name, 0]));
  const mem = new Map(hosts.map((h) => [h.name, 0]));
  const hostOf = new Map<string, string>();
  const overflow: string[] = [];
  // Decreasing by the larger of the two normalised sizes (against the first host), then by name for ties.
  const ref = hosts[0] as HostSpec;
  const key = (v: PlaceItem): number => Math.max(v.cpu / ref.cores, v.memMiB / ref.memMiB);
  const order = [...vms].sort((a, b) => key(b) - key(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const v of order) {
    let placed: HostSpec | undefined;
    for (const h of hosts) {
      if ((cpu.get(h.name) as number) + v.cpu <= fill * h.cores + 1e-9 && (mem.get(h.name) as number) + v.memMiB <= fill * h.memMiB + 1e-9) {
        placed = h;
        break;
      }
    }
    if (!placed) {
      overflow.push(v.name);
      placed = hosts.reduce((best, h) => (
        Math.max((cpu.get(h.name) as number) / h.cores, (mem.get(h.name) as number) / h.memMiB) <
        Math.max((cpu.get(best.name) as number) / best.cores, (mem.get(best.name) as number) / best.memMiB) ? h : best));
    }
    cpu.set(placed.name, (cpu.get(placed.name) as number) + v.cpu);
    mem.set(placed.name, (mem.get(placed.name) as number) + v.memMiB);
    hostOf.set(v.name, placed.name);
  }
  return { hostOf, overflow };
}

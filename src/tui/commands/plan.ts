/** Pure placement logic for migration and evacuation: does a VM fit, and where do a node's VMs go. */
import type { NodeRecord, VmRecord } from '../store/model.js';
import { isActive } from '../store/model.js';

export interface Fit {
  node: string;
  fits: boolean;
  /** Memory left for VMs on the target after this one, KiB (negative when it does not fit). */
  freeAfterKiB: number;
  reason?: string;
}

/** Memory a node can still give to VMs: its total minus what its active VMs hold. */
export function freeForVmsKiB(n: NodeRecord, extraKiB = 0): number {
  const total = n.host?.memoryKiB ?? n.memTotalKiB ?? 0;
  return total - n.vmMemKiB - extraKiB;
}

export function fitOn(vm: VmRecord, target: NodeRecord, reservedKiB = 0): Fit {
  if (target.name === vm.node) return { node: target.name, fits: false, freeAfterKiB: 0, reason: 'same node' };
  if (target.link !== 'up') return { node: target.name, fits: false, freeAfterKiB: 0, reason: `link ${target.link}` };
  if (target.host && !target.host.libvirtUp) return { node: target.name, fits: false, freeAfterKiB: 0, reason: 'libvirt down' };
  const need = vm.memKiB || vm.maxMemKiB;
  const after = freeForVmsKiB(target, reservedKiB) - need;
  return after >= 0 ? { node: target.name, fits: true, freeAfterKiB: after } : { node: target.name, fits: false, freeAfterKiB: after, reason: 'not enough memory' };
}

/** Fit of a VM on every other node, fitting ones first, then by most memory left. */
export function targetsFor(vm: VmRecord, nodes: Iterable<NodeRecord>): Fit[] {
  const out: Fit[] = [];
  for (const n of nodes) if (n.name !== vm.node) out.push(fitOn(vm, n));
  return out.sort((a, b) => Number(b.fits) - Number(a.fits) || b.freeAfterKiB - a.freeAfterKiB || a.node.localeCompare(b.node));
}

export interface EvacuationStep {
  vm: VmRecord;
  target?: string;
  reason?: string;
}

/**
 * Where each VM of a node goes when it is evacuated: biggest VMs first onto the
 * node with the most memory left (worst-fit keeps room spread out). Stopped VMs
 * move offline; a VM that fits nowhere is listed with the reason.
 */
export function planEvacuation(node: string, nodes: NodeRecord[], vms: VmRecord[]): EvacuationStep[] {
  const reserved = new Map<string, number>();
  const ordered = vms.filter((v) => v.node === node).sort((a, b) => b.memKiB - a.memKiB || a.name.localeCompare(b.name));
  const steps: EvacuationStep[] = [];
  for (const vm of ordered) {
    const needsRoom = isActive(vm.state);
    let best: { node: string; after: number } | undefined;
    for (const n of nodes) {
      if (n.name === node) continue;
      const f = fitOn(vm, n, needsRoom ? reserved.get(n.name) ?? 0 : 0);
      const ok = needsRoom ? f.fits : f.reason === undefined || f.reason === 'not enough memory';
      if (ok && (!best || f.freeAfterKiB > best.after)) best = { node: n.name, after: f.freeAfterKiB };
    }
    if (best) {
      if (needsRoom) reserved.set(best.node, (reserved.get(best.node) ?? 0) + vm.memKiB);
      steps.push({ vm, target: best.node });
    } else steps.push({ vm, reason: 'no node has room' });
  }
  return steps;
}

/**
 * What the level-1 balancer sees after each collection: the node and each
 * active VM's latest figures (src/agent/level1.ts turns it into its own
 * Level1Observation; cpuPct is % of the whole node).
 */
import type { AgentCore } from './core.js';

export interface VmObservation {
  name: string;
  state: string;
  vcpus: number;
  memKiB: number;
  maxMemKiB: number;
  cpuPct: number;
  vcpuPct: number;
  memUsedKiB: number;
}

export interface NodeObservation {
  at: number;
  cpus: number;
  memTotalKiB: number;
  cpuPct: number;
  memUsedKiB: number;
  vms: VmObservation[];
}

export function level1Observation(core: AgentCore): NodeObservation {
  const c = core.collector;
  const n = c.node.latest();
  const vms: VmObservation[] = [];
  for (const e of c.vms.values()) {
    if (e.lastTick !== c.tick || !e.ring || e.ring.lastTick() !== c.tick) continue;
    const s = e.ring.latest();
    if (!s) continue;
    vms.push({
      name: e.name,
      state: e.last.state?.state ?? 'nostate',
      vcpus: e.last.vcpu?.current ?? 1,
      memKiB: e.last.balloon?.currentKiB ?? 0,
      maxMemKiB: e.last.balloon?.maximumKiB ?? 0,
      cpuPct: s.cpuPct,
      vcpuPct: s.vcpuPct,
      memUsedKiB: s.memUsedKiB,
    });
  }
  return { at: c.clock.timeOf(c.tick) || Date.now(), cpus: c.hostCpus, memTotalKiB: n?.memTotalKiB ?? 0, cpuPct: n?.cpuPct ?? 0, memUsedKiB: n?.memUsedKiB ?? 0, vms };
}

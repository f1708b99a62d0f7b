/** Random clusters for the property tests (seeded, so a failure names a case that repeats). */
import { createRng, type Rng } from '../../src/balancer/rng.js';
import type { HostState, InflightMigration, PlanInput, VmState } from '../../src/balancer/types.js';

export interface CaseOptions {
  evacuate?: boolean;
  labels?: boolean;
  inflight?: boolean;
  cooldowns?: boolean;
  maintenance?: boolean;
  /** Strict positive affinity: some VMs sharing a node get a label in common (a bundle). */
  affinity?: boolean;
}

function hist(r: Rng, n: number, level: number): number[] {
  return Array.from({ length: n }, () => Math.max(0, level * (0.7 + 0.6 * r.next())));
}

export function randomCase(seed: number, o: CaseOptions = {}): PlanInput {
  const r = createRng(seed);
  const H = r.int(2, 8);
  const hosts: HostState[] = Array.from({ length: H }, (_, i) => ({
    name: `n${i}`, cores: r.pick([4, 8, 16, 32]), memMiB: r.pick([8, 16, 32, 64]) * 1024, cpuHistory: [],
    maintenance: o.maintenance === true && r.next() < 0.15,
  }));
  const used = new Map(hosts.map((h) => [h.name, 0]));
  const cpu = new Map(hosts.map((h) => [h.name, 0]));
  const labelsOn = new Map(hosts.map((h) => [h.name, new Set<string>()]));
  const vms: VmState[] = [];
  const now = 10_000;
  const V = r.int(1, 40);
  for (let i = 0; i < V; i++) {
    const mem = r.pick([512, 1024, 2048, 4096, 8192]);
    const labels = o.labels && r.next() < 0.5 ? [r.pick(['db', 'web', 'cache'])] : [];
    const hostsOk = hosts.filter((h) => (used.get(h.name) as number) + mem <= h.memMiB && labels.every((l) => !labelsOn.get(h.name)?.has(l)));
    if (hostsOk.length === 0) continue;
    const h = r.pick(hostsOk);
    const vcpus = r.pick([1, 2, 4]);
    const level = vcpus * r.next();
    used.set(h.name, (used.get(h.name) as number) + mem);
    cpu.set(h.name, (cpu.get(h.name) as number) + level);
    for (const l of labels) labelsOn.get(h.name)?.add(l);
    vms.push({
      name: `vm${i}`, host: h.name, cpuHistory: hist(r, 6, level), memMiB: mem, vcpus, antiAffinity: labels,
      lastMigration: o.cooldowns && r.next() < 0.4 ? now - r.int(0, 2000) : undefined,
    });
  }
  for (const h of hosts) h.cpuHistory = hist(r, 6, (cpu.get(h.name) as number) / h.cores);
  const inflight: InflightMigration[] = [];
  if (o.inflight) {
    for (const v of vms) {
      if (r.next() < 0.1 && H > 1) {
        const room = hosts.filter((h) => h.name !== v.host && (used.get(h.name) as number) + v.memMiB <= h.memMiB);
        if (room.length === 0) continue;
        const to = r.pick(room);
        used.set(to.name, (used.get(to.name) as number) + v.memMiB);
        v.migrating = true;
        inflight.push({ vm: v.name, from: v.host, to: to.name });
      }
    }
  }
  if (o.evacuate) {
    const h = r.pick(hosts);
    h.evacuate = true;
  }
  if (o.affinity) {
    // A stream of its own, so the cases without affinity stay the ones they were.
    const ra = createRng(seed * 7919 + 13);
    for (const h of hosts) {
      const mine = vms.filter((v) => v.host === h.name && ra.next() < 0.5);
      if (mine.length >= 2) for (const v of mine) v.affinity = [`bundle-${h.name}`];
    }
  }
  return { now, period: 60, hosts, vms, inflight };
}

/**
 * A node's CPU load for level 2: what can be put down to that node.
 *
 * A node alone on its machine: the host-wide CPU busy, which counts its VMs and
 * the host's own (non-VM) work, as before. Nodes that share one machine (a lab
 * of libvirtds in namespaces, nested test clusters) all read the same host-wide
 * figure, so balancing on it sees no imbalance ever; for them the load is the
 * sum of their own VMs' CPU. The rest of that machine's work belongs to none of
 * them, and no migration between them changes it, so it is left out (each node
 * is judged by its VMs, as if the cores were its own).
 *
 * Nodes share a machine when their cumulative host CPU counters (node.stats'
 * `latest`: busy and idle nanoseconds since boot) and memory total agree within
 * what the time between the two readings explains: two separate hosts never
 * agree to a few core-seconds on both. Simulated nodes' counters are no
 * machine's and are never grouped. Pure.
 */

export interface MachineCounters {
  /** Cumulative kernel + user CPU time of the host, ns over all its CPUs. */
  busyNs: number;
  /** Cumulative idle + iowait CPU time of the host, ns over all its CPUs. */
  idleNs: number;
  memTotalKiB: number;
  /** When they were read (ms since the epoch; the agent's last sample time). */
  atMs: number;
}

export interface NodeLoadReading {
  name: string;
  cores: number;
  /** Host-wide CPU busy, 0..1 of the host's cores, per sample, oldest first. */
  host: number[];
  /** The node's VMs' CPU together, 0..1 of the host's cores, per sample aligned with `host`. */
  vms: number[];
  /** Absent: unknown (an older agent, a simulated node), taken as a machine of its own. */
  machine?: MachineCounters;
}

/** Seconds of reading skew allowed beyond the readings' time difference (collection latency, which a loaded host stretches). */
export const MACHINE_SLACK_SEC = 5;

/** Whether two nodes' counters are those of one machine. */
export function sameMachine(a: NodeLoadReading, b: NodeLoadReading, slackSec = MACHINE_SLACK_SEC): boolean {
  const x = a.machine;
  const y = b.machine;
  if (!x || !y || a.cores !== b.cores || x.memTotalKiB !== y.memTotalKiB) return false;
  // One machine's counters advance by at most cores x 1e9 ns per second between the two readings.
  const tol = a.cores * 1e9 * (Math.abs(x.atMs - y.atMs) / 1000 + slackSec);
  return Math.abs(x.busyNs - y.busyNs) <= tol && Math.abs(x.idleNs - y.idleNs) <= tol;
}

/** Groups of two or more nodes on one machine, each in the readings' order. */
export function machineGroups(readings: readonly NodeLoadReading[], slackSec = MACHINE_SLACK_SEC): string[][] {
  const parent = readings.map((_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i] as number] as number;
    return i;
  };
  for (let i = 0; i < readings.length; i++) {
    for (let j = i + 1; j < readings.length; j++) {
      if (sameMachine(readings[i] as NodeLoadReading, readings[j] as NodeLoadReading, slackSec)) parent[root(j)] = root(i);
    }
  }
  const groups = new Map<number, string[]>();
  readings.forEach((r, i) => groups.set(root(i), [...(groups.get(root(i)) ?? []), r.name]));
  return [...groups.values()].filter((g) => g.length > 1);
}

export interface NodeLoads {
  /** Node -> CPU load per sample (0..1 of its cores), oldest first. */
  load: Map<string, number[]>;
  /** Nodes found sharing a machine (their load is their VMs' CPU). */
  shared: string[][];
}

export function nodeLoads(readings: readonly NodeLoadReading[], slackSec = MACHINE_SLACK_SEC): NodeLoads {
  const shared = machineGroups(readings, slackSec);
  const inGroup = new Set(shared.flat());
  const load = new Map<string, number[]>();
  for (const r of readings) load.set(r.name, inGroup.has(r.name) ? [...r.vms] : [...r.host]);
  return { load, shared };
}

/**
 * ClusterSource over node agents (XML-RPC): builds a LiveSnapshot from
 * node.info, node.stats, vm.list, vm.stats and jobs.list, and runs a move as
 * vm.migrate on the source node followed by job.get until it ends. Agent
 * samples (one a second by default) are averaged into planning periods. A
 * node's load is what can be put down to it (node-load.ts): host-wide CPU for
 * a node alone on its machine, its VMs' CPU (node.stats vmCpuPct) for nodes
 * sharing one.
 */
import { client, type Caller } from '../api/client.js';
import { VemError } from '../common/errors.js';
import { isStruct, type XmlRpcStruct, type XmlRpcValue } from '../common/xmlrpc/value.js';
import type { MigrationStorageView, NodeStats } from '../api/types.js';
import type { SizedDisk, TargetPool, VmDisks } from '../common/migrate-storage.js';
import { canMigrateFrom, type ClusterSource, type LiveNode, type LiveSnapshot, type LiveVm } from './live.js';
import { nodeLoads, type NodeLoadReading } from './node-load.js';
import type { InflightMigration, Move } from './types.js';

/** What this needs of a node link (the transport's NodeLink has it). */
export interface AgentCaller extends Caller {
  readonly name: string;
}

export interface AgentSourceOptions {
  /** Seconds per planning sample (agent samples are averaged into these). */
  periodSec: number;
  /** Planning samples of history to read. */
  samples: number;
  /** Libvirt URI each node is reached at for migration, by node name. */
  destUri: Map<string, string>;
  labels?: Map<string, string[]>;
  /** How often job.get is polled while a migration runs. */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Average (t, x) samples into `count` buckets of `periodMs` ending at `end`; empty buckets repeat their neighbour. */
export function bucketize(t: number[], x: number[], end: number, periodMs: number, count: number): number[] {
  const sum = new Array<number>(count).fill(0);
  const cnt = new Array<number>(count).fill(0);
  const start = end - periodMs * count;
  for (let i = 0; i < t.length; i++) {
    const ti = t[i] as number;
    if (ti <= start || ti > end) continue;
    const b = Math.min(count - 1, Math.floor((ti - start - 1) / periodMs));
    sum[b]! += x[i] as number;
    cnt[b]!++;
  }
  const out: number[] = [];
  let lastVal: number | undefined;
  for (let b = 0; b < count; b++) {
    if (cnt[b]! > 0) lastVal = sum[b]! / cnt[b]!;
    if (lastVal !== undefined) out.push(lastVal);
  }
  return out;
}

/**
 * What node.info says the driver can migrate, if it says: a capabilities struct
 * with migrateLive / migrateOffline (or one migrate) booleans. Unknown = able; the
 * migration itself then says why not.
 */
export function migrationCapability(info: XmlRpcStruct): LiveNode['canMigrate'] {
  const c = info.capabilities;
  if (!isStruct(c)) return undefined;
  const b = (v: XmlRpcValue | undefined): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
  // The node's libvirt refused a migration (src/libvirt's capability layer records it): no kind of move.
  if (isStruct(c.unsupported) && Object.keys(c.unsupported).some((k) => k === 'migration' || k === 'offline-migration')) return canMigrateFrom(c.unsupported);
  const one = b(c.migrate) ?? b(c.migration);
  const live = b(c.migrateLive) ?? b(c.liveMigration) ?? one;
  const offline = b(c.migrateOffline) ?? b(c.offlineMigration) ?? one;
  return live === undefined && offline === undefined ? undefined : { live, offline };
}

/** node.migrationStorage's answer as the planner takes it: the node's pools, and each VM's disks by name (a VM absent: unknown). */
export function storageFromWire(w: MigrationStorageView): { pools: TargetPool[]; disks: Map<string, VmDisks> } {
  const pools: TargetPool[] = w.pools.map((p) => ({
    name: p.name, running: true, available: p.available, volumes: new Set(p.volumes),
    ...(p.type !== undefined ? { type: p.type } : {}), ...(p.path !== undefined ? { path: p.path } : {}),
  }));
  const disks = new Map<string, VmDisks>();
  for (const v of w.vms) {
    disks.set(v.name, {
      ...(v.domainType !== undefined ? { domainType: v.domainType } : {}),
      disks: v.disks.map(({ capacity, allocation, ...d }): SizedDisk => ({
        ...d, ...(capacity !== undefined && allocation !== undefined ? { size: { capacity, allocation, ...(d.format !== undefined ? { format: d.format } : {}) } } : {}),
      })),
    });
  }
  return { pools, disks };
}

/**
 * A node's storage for the planner, or undefined when its agent does not say (an agent older
 * than node.migrationStorage, libvirt down): the planner then costs moves by memory alone.
 */
export async function readStorage(l: Caller): Promise<ReturnType<typeof storageFromWire> | undefined> {
  try {
    return storageFromWire(await client(l).node.migrationStorage());
  } catch {
    return undefined;
  }
}

export function agentSource(links: readonly AgentCaller[], o: AgentSourceOptions): ClusterSource {
  const byName = new Map(links.map((l) => [l.name, l]));
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const periodMs = o.periodSec * 1000;

  /** node.stats as a load reading: host-wide and VM CPU averaged into planning periods, and the host's counters (its machine). */
  const loadReading = (name: string, cores: number, simulated: boolean, stats: NodeStats, now: number): NodeLoadReading => {
    const atMs = stats.t.at(-1);
    const c = stats.latest;
    return {
      name, cores,
      host: bucketize(stats.t, stats.cpuPct.map((x) => x / 100), now, periodMs, o.samples),
      vms: bucketize(stats.t, stats.vmCpuPct.map((x) => x / 100), now, periodMs, o.samples),
      // A simulated node's counters are no machine's: it is never grouped with another.
      ...(c && atMs !== undefined && !simulated
        ? { machine: { busyNs: c.cpu.kernelNs + c.cpu.userNs, idleNs: c.cpu.idleNs + c.cpu.iowaitNs, memTotalKiB: c.memory.totalKiB, atMs } }
        : {}),
    };
  };

  const readNode = async (l: AgentCaller, now: number): Promise<{ node: LiveNode; vms: LiveVm[]; inflight: InflightMigration[]; reading: NodeLoadReading }> => {
    const agent = client(l);
    const info = await agent.node.info();
    const cores = Math.max(1, info.node?.cpus ?? 1);
    const stats = await agent.node.stats(0);
    const node: LiveNode = {
      name: l.name, cores, memMiB: (info.node?.memoryKiB ?? 0) / 1024, reachable: true, labels: o.labels?.get(l.name),
      // capabilities is not declared in src/api yet (its helper adds it): read from the answer as sent.
      driver: info.driver, canMigrate: migrationCapability(info as unknown as XmlRpcStruct),
      cpuHistory: [], // set once every node is read: the load depends on which nodes share a machine (node-load.ts)
    };
    const reading = loadReading(l.name, cores, info.simulated === true, stats, now);
    const storage = await readStorage(l);
    if (storage) node.pools = storage.pools;
    const vms: LiveVm[] = [];
    for (const r of await agent.vm.list()) {
      const running = r.state === 'running';
      const vcpus = Math.max(1, r.vcpus);
      let cpuHistory: number[] = [];
      if (running) {
        const s = await agent.vm.stats(r.name, 0);
        cpuHistory = bucketize(s.t, s.cpuPct.map((x) => Math.min(vcpus, (x / 100) * cores)), now, periodMs, o.samples);
      }
      const disks = storage?.disks.get(r.name);
      vms.push({ name: r.name, node: l.name, vcpus, memMiB: (r.memKiB || r.maxMemKiB) / 1024, cpuHistory, running, state: r.state, ...(disks ? { disks } : {}) });
    }
    const inflight: InflightMigration[] = [];
    const destNode = (uri: string): string | undefined => [...o.destUri].find(([, u]) => u === uri)?.[0];
    for (const j of await agent.job.list()) {
      if (j.kind !== 'migrate') continue;
      const vm = vms.find((v) => v.name === j.vm);
      if (j.status === 'running') {
        const to = destNode(j.dest);
        if (vm) vm.migrating = true;
        if (to) inflight.push({ vm: j.vm, from: l.name, to });
      } else if (j.status === 'completed' && j.endedAt !== undefined) {
        // The VM has left this node; the target will report it. Remember when, for the cooldown.
        lastMoves.set(j.vm, Math.max(lastMoves.get(j.vm) ?? 0, j.endedAt / 1000));
      }
    }
    return { node, vms, inflight, reading };
  };
  const lastMoves = new Map<string, number>();

  return {
    async snapshot(): Promise<LiveSnapshot> {
      const now = Date.now();
      const nodes: LiveNode[] = [];
      const vms: LiveVm[] = [];
      const inflight: InflightMigration[] = [];
      const results = await Promise.allSettled(links.map((l) => readNode(l, now)));
      const readings: NodeLoadReading[] = [];
      results.forEach((r, i) => {
        const l = links[i] as AgentCaller;
        if (r.status === 'fulfilled') {
          nodes.push(r.value.node);
          vms.push(...r.value.vms);
          inflight.push(...r.value.inflight);
          readings.push(r.value.reading);
        } else {
          nodes.push({ name: l.name, cores: 1, memMiB: 0, cpuHistory: [], reachable: false });
        }
      });
      const { load, shared } = nodeLoads(readings);
      for (const n of nodes) n.cpuHistory = load.get(n.name) ?? n.cpuHistory;
      for (const v of vms) {
        const t = lastMoves.get(v.name);
        if (t !== undefined) v.lastMigration = t;
      }
      return { now: now / 1000, period: o.periodSec, nodes, vms, inflight, ...(shared.length > 0 ? { shared } : {}) };
    },

    async migrate(move: Move): Promise<void> {
      const src = byName.get(move.from);
      const dest = o.destUri.get(move.to);
      if (!src) throw new VemError(`no link to node ${move.from}`);
      if (!dest) throw new VemError(`no migration URI for node ${move.to}`, `set 'migrate-uri: qemu+ssh://HOST/system' for ${move.to} in the cluster file, or give --dest-uri ${move.to}=URI`);
      const agent = client(src);
      const id = await agent.vm.migrate(move.vm, dest, { live: move.live !== false });
      for (;;) {
        await sleep(o.pollMs ?? 1000);
        const j = await agent.job.get(id);
        if (j.status === 'completed') {
          lastMoves.set(move.vm, Date.now() / 1000);
          return;
        }
        if (j.status === 'failed' || j.status === 'cancelled') throw new VemError(`${move.vm}: migration ${j.status}${j.reason !== undefined ? `: ${j.reason}` : ''}`);
      }
    },
  };
}

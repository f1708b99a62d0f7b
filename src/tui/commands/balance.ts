/**
 * Level 2 from the dashboard: the balancer's own planner (planLive, the one
 * `vem balance plan|apply` runs) over a snapshot of the dashboard's store, and
 * its moves carried out through the command layer, so they show in the tasks
 * view. Automatic mode plans and applies every interval on the same terms as
 * `vem balance apply --auto`, holding the agents' `balance` lease (so a second
 * dashboard or CLI balancing the same cluster moves nothing and is told who
 * holds it); every decision, taken or declined, is kept with its reason.
 */
import { applyMoves, planLive, storageNotes, type ClusterSource, type LiveSnapshot } from '../../balancer/live.js';
import { DEFAULT_LEVEL2, cooldownOf, type Level2Config } from '../../balancer/level2.js';
import type { EvacuationPlan } from '../../balancer/evacuate.js';
import type { Move } from '../../balancer/types.js';
import { stddev } from '../../balancer/mathx.js';
import { nodeLoads, type NodeLoadReading } from '../../balancer/node-load.js';
import { readStorage } from '../../balancer/agent-source.js';
import { client } from '../../api/client.js';
import { BalanceLease, describeHolder, whoAmI } from '../../link/balance-lease.js';
import type { Link } from '../store/link.js';
import type { ClusterStore } from '../store/store.js';
import type { CommandCenter } from './index.js';
import { plannerCores, plannerDriver, plannerMemMiB, plannerVmMemMiB } from './plan.js';

/** Samples of history the planner sees (its window n). */
const SAMPLES = DEFAULT_LEVEL2.n;

export interface BalancePlan {
  at: number;
  snapshot: LiveSnapshot;
  moves: Move[];
  evacuation: EvacuationPlan;
  /** The balancer's imbalance measure: the standard deviation of node CPU load (0..1; node-load.ts says what a node's load is). */
  imbalance: number;
  /** Node -> CPU utilisation now (0..1) and memory used (0..1). */
  util: Map<string, { cpu: number; mem: number }>;
  /** What ruled VMs or nodes out of this round, one line each. */
  constraints: string[];
}

export interface Decision {
  at: number;
  taken: boolean;
  text: string;
}

export interface BalanceOptions {
  config?: Partial<Level2Config>;
  /** Seconds between automatic rounds (vem balance apply --auto --every; default 300). */
  everySec?: number;
  now?: () => number;
  /** A node's labels from the cluster file ('maintenance' keeps VMs off it and, in automatic mode, on it). */
  labels?: (node: string) => readonly string[] | undefined;
  /** Who the `balance` lease names as its holder (default whoAmI('vem tui')). */
  holder?: string;
  /** The clock that times plans for the background pace, ms (default performance.now). */
  paceClock?: () => number;
}

/** The store as the balancer's ClusterSource: history from the dashboard's rings, migrations through the command layer. */
export function storeSource(store: ClusterStore, cmd: CommandCenter, now: () => number, labelsOf?: (node: string) => readonly string[] | undefined): ClusterSource {
  const storage = new StorageCache((name) => storageOf(cmd, name), STORAGE_TTL_MS);
  return {
    async snapshot(): Promise<LiveSnapshot> {
      const nodes = [...store.nodes.values()].map((n) => ({
        name: n.name,
        cores: n.host?.cpus ?? 0,
        memMiB: plannerMemMiB(n),
        cpuHistory: n.cpuHist.values(SAMPLES).map((p) => p / 100),
        reachable: n.link === 'up' && (n.host?.libvirtUp ?? false),
        ...plannerDriver(n),
        ...(labelsOf?.(n.name)?.length ? { labels: [...(labelsOf(n.name) ?? [])] } : {}),
      }));
      // The node's load as `vem balance` reads it (node-load.ts): its VMs' CPU when nodes share a machine.
      const readings = await Promise.all(nodes.filter((n) => n.reachable).map((n) => loadReading(store, cmd, n.name, n.cpuHistory)));
      const { load, shared } = nodeLoads(readings);
      for (const n of nodes) n.cpuHistory = load.get(n.name) ?? n.cpuHistory;
      // Disks and pools for the move cost: node.migrationStorage, read again at most every STORAGE_TTL_MS per node
      // (every node every plan cost 115 % of a core at 10,000 VMs with the balance view open).
      const byNode = new Map(await Promise.all(nodes.filter((n) => n.reachable).map(async (n) => [n.name, await storage.get(n.name)] as const)));
      for (const n of nodes) {
        const st = byNode.get(n.name);
        if (st) Object.assign(n, { pools: st.pools });
      }
      const vms = [...store.vms.values()].map((v) => {
        const disks = byNode.get(v.node)?.disks.get(v.name);
        const m = cmd.migrations.get(v.key);
        const hist = v.cpuHist.values(SAMPLES).map((p) => plannerCores(v, store.nodes, p));
        return {
          name: v.key,
          node: v.node,
          vcpus: v.vcpus,
          memMiB: plannerVmMemMiB(v),
          cpuHistory: hist.length > 0 ? hist : [0],
          running: v.state === 'running',
          state: v.state,
          ...(m && !m.finished ? { migrating: true } : {}),
          ...(m ? { lastMigration: m.startedAt / 1000 } : {}),
          ...(disks ? { disks } : {}),
        };
      });
      return { now: now() / 1000, period: 1, nodes, vms, inflight: [], ...(shared.length > 0 ? { shared } : {}) };
    },
    async migrate(move: Move): Promise<void> {
      const vm = store.vms.get(move.vm);
      if (!vm) throw new Error(`${move.vm} is gone`);
      if (vm.node !== move.from) throw new Error(`${vm.name} is on ${vm.node} now, not ${move.from}`);
      const m = await cmd.migrate(vm, move.to, move.live !== false);
      while (!m.finished) await new Promise((r) => setTimeout(r, 200).unref());
      if (m.job.state !== 'completed') throw new Error(`${m.job.state}${m.job.error ? `: ${m.job.error}` : ''}`);
    },
  };
}

/** How long a node.stats read may take before the plan goes on with the store's host-wide figures for that node. */
const READ_TIMEOUT_MS = 3000;

/**
 * A node's load reading from its agent (node.stats of the last SAMPLES: host-wide and
 * VM CPU, and the host counters that tell a shared machine). The store keeps neither
 * vmCpuPct nor the counters, so this one small call per node and plan reads them; an
 * agent that does not answer in time leaves the node on the store's host-wide history.
 */
async function loadReading(store: ClusterStore, cmd: CommandCenter, name: string, hostHist: number[]): Promise<NodeLoadReading> {
  const n = store.nodes.get(name);
  const cores = n?.host?.cpus ?? 0;
  const fallback: NodeLoadReading = { name, cores, host: hostHist, vms: [] };
  try {
    const link = cmd.host.link(name);
    if (!link) return fallback;
    const s = await withinReadTimeout(client(link).node.stats(0, SAMPLES));
    if (!s || s.t.length === 0) return fallback;
    const c = s.latest;
    const atMs = s.t.at(-1) as number;
    return {
      name, cores,
      host: s.cpuPct.map((x) => x / 100),
      vms: s.vmCpuPct.map((x) => x / 100),
      // A simulated node's counters are no machine's: never grouped.
      ...(c && !n?.host?.simulated ? { machine: { busyNs: c.cpu.kernelNs + c.cpu.userNs, idleNs: c.cpu.idleNs + c.cpu.iowaitNs, memTotalKiB: c.memory.totalKiB, atMs } } : {}),
    };
  } catch {
    return fallback;
  }
}

/** The answer, or undefined when it does not come within READ_TIMEOUT_MS (the plan goes on without it). */
async function withinReadTimeout<T>(p: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), READ_TIMEOUT_MS).unref()))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A background replan waits at least this many times the last plan's duration after it. */
export const PLAN_PACE = 9;

/** How old a node's storage reading may be before a plan asks again (pools and disks change seldom; vm.migrate decides at move time). */
export const STORAGE_TTL_MS = 30_000;

type Storage = Awaited<ReturnType<typeof readStorage>>;

/**
 * Each node's last storage reading: the first plan waits for it, later ones take it as it is and
 * refresh it in the background once it is older than the TTL (one read per node at a time).
 */
export class StorageCache {
  private readonly held = new Map<string, { at: number; value: Storage; reading?: Promise<Storage> }>();
  constructor(
    private readonly read: (node: string) => Promise<Storage>,
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  get(node: string): Promise<Storage> {
    const h = this.held.get(node);
    if (h && this.clock() - h.at < this.ttlMs) return Promise.resolve(h.value);
    if (h?.reading) return h.value !== undefined ? Promise.resolve(h.value) : h.reading;
    const entry = h ?? { at: 0, value: undefined };
    const reading = this.read(node).then((v) => {
      entry.value = v;
      entry.at = this.clock();
      return v;
    }).finally(() => delete entry.reading);
    entry.reading = reading;
    this.held.set(node, entry);
    // A held answer is used while the next one is read; none held yet: this plan waits for it.
    return entry.value !== undefined ? Promise.resolve(entry.value) : reading;
  }
}

/** A node's storage for the planner, undefined when its agent does not say within READ_TIMEOUT_MS. */
async function storageOf(cmd: CommandCenter, name: string): Promise<Storage> {
  const link = cmd.host.link(name);
  return link ? withinReadTimeout(readStorage(link)) : undefined;
}

function vmName(key: string): string {
  return key.slice(key.indexOf('/') + 1);
}

export function describeMove(m: Move): string {
  return `${vmName(m.vm)}  ${m.from} -> ${m.to}`;
}

export class BalanceCenter {
  plan: BalancePlan | undefined;
  error: string | undefined;
  auto = false;
  readonly decisions: Decision[] = [];
  readonly cfg: Level2Config;
  everySec: number;
  private timer: NodeJS.Timeout | undefined;
  private planning: Promise<BalancePlan | undefined> | undefined;
  private readonly src: ClusterSource;
  private readonly now: () => number;
  private readonly listeners: Array<() => void> = [];
  private readonly labelsOf: ((node: string) => readonly string[] | undefined) | undefined;
  /** The agents' `balance` lease, held while automatic mode is on. */
  readonly lease: BalanceLease;
  private leaseHeld = false;
  private releasing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ClusterStore,
    private readonly cmd: CommandCenter,
    o: BalanceOptions = {},
  ) {
    this.now = o.now ?? Date.now;
    this.paceClock = o.paceClock ?? (() => performance.now());
    this.cfg = { ...DEFAULT_LEVEL2, ...o.config };
    this.everySec = o.everySec ?? 300;
    this.labelsOf = o.labels;
    this.src = storeSource(store, cmd, this.now, o.labels);
    const links = (): Link[] =>
      [...store.nodes.keys()].flatMap((n) => {
        const l = cmd.host.link(n);
        return l ? [l] : [];
      });
    this.lease = new BalanceLease(links, { holder: o.holder ?? whoAmI('vem tui'), ttlSec: this.everySec + 60 });
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  private readonly deciders: Array<(d: Decision) => void> = [];

  /** Every decision, taken or declined, as it is made (the :events log). */
  onDecision(cb: (d: Decision) => void): void {
    this.deciders.push(cb);
  }

  private changed(): void {
    for (const cb of this.listeners) cb();
  }

  private decide(taken: boolean, text: string): void {
    const d = { at: this.now(), taken, text };
    this.decisions.unshift(d);
    for (const cb of this.deciders) cb(d);
    if (this.decisions.length > 200) this.decisions.length = 200;
    this.changed();
  }

  /** How long the last plan took, and when it ended (performance.now()), for the background pace. */
  private lastPlanMs = 0;
  private lastPlanEnd = -Infinity;
  private readonly paceClock: () => number;

  /**
   * Plan again from the store now; a call while one runs shares it. A background replan (a
   * screen's timer) is skipped while less than PLAN_PACE times the last plan's duration has
   * passed since it ended, so planning stays near a tenth of the time however big the
   * cluster (at 10,000 VMs a plan every 3 s kept a core busy); `r`, apply and the rounds plan at once.
   */
  refresh(o: { background?: boolean } = {}): Promise<BalancePlan | undefined> {
    if (o.background && !this.planning && this.plan && this.paceClock() - this.lastPlanEnd < this.lastPlanMs * PLAN_PACE) return Promise.resolve(this.plan);
    this.planning ??= (async () => {
      const t0 = this.paceClock();
      try {
        return await this.doPlan();
      } finally {
        this.lastPlanEnd = this.paceClock();
        this.lastPlanMs = this.lastPlanEnd - t0;
      }
    })().finally(() => (this.planning = undefined));
    return this.planning;
  }

  private async doPlan(): Promise<BalancePlan | undefined> {
    try {
      const r = await planLive(this.src, { config: this.cfg });
      const util = new Map<string, { cpu: number; mem: number }>();
      // CPU as the planner saw it (the node's load: host-wide, or its VMs' when nodes share a machine).
      const load = new Map(r.snapshot.nodes.map((n) => [n.name, n.cpuHistory.at(-1)]));
      // Memory likewise: on a shared machine the host-wide figure is every node's; a node's own is its VMs'.
      const shared = new Set(r.snapshot.shared?.flat());
      for (const n of this.store.nodes.values()) {
        const used = shared.has(n.name) ? n.vmMemKiB : (n.memUsedKiB ?? 0);
        util.set(n.name, { cpu: load.get(n.name) ?? (n.cpuPct ?? 0) / 100, mem: n.memTotalKiB ? used / n.memTotalKiB : 0 });
      }
      const up = r.snapshot.nodes.filter((n) => n.reachable).map((n) => util.get(n.name)?.cpu ?? 0);
      this.plan = { at: this.now(), ...r, imbalance: up.length > 1 ? stddev(up) : 0, util, constraints: this.constraints(r.snapshot) };
      this.error = undefined;
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
    this.changed();
    return this.plan;
  }

  /** What keeps VMs or nodes out of the plan, as the planner's rules say. */
  private constraints(s: LiveSnapshot): string[] {
    const out: string[] = [];
    for (const g of s.shared ?? []) out.push(`nodes ${g.join(', ')} share one machine (same host CPU counters): each is judged by its own VMs' CPU; the rest of that machine's load is no node's`);
    for (const n of s.nodes) if (!n.reachable) out.push(`node ${n.name}: unreachable or libvirt down, takes no VMs`);
    const now = s.now;
    for (const v of s.vms) {
      if (v.migrating) out.push(`${vmName(v.name)}: a migration of it is running`);
      else if (v.lastMigration !== undefined) {
        const cd = cooldownOf({ name: v.name, host: v.node, cpuHistory: v.cpuHistory, memMiB: v.memMiB, vcpus: v.vcpus, lastMigration: v.lastMigration }, this.cfg);
        const left = v.lastMigration + cd - now;
        if (left > 0) out.push(`${vmName(v.name)}: in cooldown for ${Math.ceil(left)} s more (moved recently)`);
      }
    }
    out.push(...storageNotes(s));
    const stopped = s.vms.filter((v) => !v.running && v.state !== 'paused').length;
    if (stopped > 0) out.push(`${stopped} stopped VMs are not balanced (they hold no CPU or memory)`);
    out.push(`a target stays at or below ${Math.round(this.cfg.targetCeiling * 100)}% CPU and must have the memory; hot at ${Math.round(this.cfg.hot * 100)}% on ${this.cfg.k} of ${this.cfg.n} samples; gain below ${this.cfg.minGain} is not worth a move`);
    return out;
  }

  /** Carry out moves as one task (tasks view), at most cfg.maxPerNode at a time per node. */
  async apply(all: readonly Move[], why: string): Promise<void> {
    // Migrations already running count against the per-node cap, as they would in one vem balance round.
    const busy = new Map<string, number>();
    for (const m of this.cmd.migrations.values()) {
      if (m.finished) continue;
      busy.set(m.from, (busy.get(m.from) ?? 0) + 1);
      busy.set(m.to, (busy.get(m.to) ?? 0) + 1);
    }
    const moves: Move[] = [];
    for (const m of all) {
      const full = [m.from, m.to].find((n) => (busy.get(n) ?? 0) >= this.cfg.maxPerNode);
      if (full) {
        this.decide(false, `${describeMove(m)} (${why}): ${full} already runs ${this.cfg.maxPerNode} migrations, the cap`);
        continue;
      }
      moves.push(m);
      busy.set(m.from, (busy.get(m.from) ?? 0) + 1);
      busy.set(m.to, (busy.get(m.to) ?? 0) + 1);
    }
    if (moves.length === 0) return;
    for (const m of moves) this.decide(true, `${why}: ${describeMove(m)} (${m.reason}, score ${m.score.toFixed(3)}, ~${Math.round(m.estSeconds)} s)`);
    const vms = moves.map((m) => this.store.vms.get(m.vm)).filter((v) => v !== undefined);
    const byVm = new Map(moves.map((m) => [m.vm, m]));
    try {
      // One task line per VM; the migrations run through the balancer's applyMoves (its per-node cap), each line ending with its own.
      const waiting = new Map<string, { ok: (t: string) => void; fail: (e: Error) => void }>();
      const results = new Map(moves.map((m) => [m.vm, new Promise<string>((ok, fail) => waiting.set(m.vm, { ok, fail }))]));
      const all = applyMoves(this.src, moves, this.cfg.maxPerNode, (r) => {
        const w = waiting.get(r.move.vm);
        if (r.ok) w?.ok(`-> ${r.move.to} in ${r.seconds.toFixed(1)} s`);
        else {
          this.decide(false, `${describeMove(r.move)} failed: ${r.error ?? ''} (the VM stays where it was)`);
          w?.fail(new Error(r.error ?? 'failed'));
        }
      });
      await this.cmd.forEachVm(`balance (${why})`, vms, (vm) => results.get(vm.key) ?? Promise.resolve(`${byVm.get(vm.key)?.to ?? ''}`), moves.length);
      await all;
    } finally {
      void this.refresh();
    }
  }

  setAuto(on: boolean): void {
    this.auto = on;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.decide(true, `automatic mode ${on ? `on: a round every ${this.everySec} s, at most ${this.cfg.maxPerNode} migrations per node at once` : 'off'}`);
    if (!on) {
      this.giveBack();
      return;
    }
    const round = (): void => void this.autoRound();
    this.timer = setInterval(round, this.everySec * 1000);
    this.timer.unref();
    round();
  }

  /**
   * Takes (or renews) the `balance` lease on every reachable agent for this round
   * and the next (TTL: the interval plus 60 s, so a dashboard that dies frees it).
   * False, with the holder in the event log, when another balancer holds it.
   */
  private async takeLease(): Promise<boolean> {
    this.lease.ttlSec = this.everySec + 60;
    const o = await this.lease.acquire();
    if (!this.auto) {
      // Turned off while the agents answered: give back what this round took.
      this.giveBack();
      return false;
    }
    if (!o.ok) {
      this.leaseHeld = false;
      this.decide(false, `automatic round: nothing moved: no balance lease on ${o.refused.node}: ${describeHolder(o.refused)}`);
      return false;
    }
    if (!this.leaseHeld) {
      const skipped = o.skipped.map((s) => `${s.node} (${s.why})`).join(', ');
      this.decide(true, `automatic: balance lease taken on ${o.nodes.join(', ') || 'no node'} as ${this.lease.holder}, ${this.lease.ttlSec} s unless renewed${skipped ? `; not reached: ${skipped}` : ''}`);
    }
    this.leaseHeld = true;
    return true;
  }

  private giveBack(): void {
    const had = this.leaseHeld || this.lease.held().length > 0;
    this.leaseHeld = false;
    if (!had) return;
    this.releasing = this.releasing.then(() => this.lease.release()).then(() => this.decide(true, 'automatic: balance lease released'));
  }

  private async autoRound(): Promise<void> {
    if (!(await this.takeLease())) return;
    const p = await this.refresh();
    if (!this.auto || !p) return;
    if (p.moves.length === 0) {
      this.decide(false, `automatic round: no move (imbalance ${p.imbalance.toFixed(3)}, threshold ${this.cfg.imbalance}; no node hot)`);
      return;
    }
    // A node in maintenance is the admin's: automatic mode moves nothing off it (nor onto it: the planner closes it).
    const moves = p.moves.filter((m) => {
      if (!this.labelsOf?.(m.from)?.includes('maintenance')) return true;
      this.decide(false, `automatic: ${describeMove(m)}: ${m.from} is in maintenance (cluster file label), its VMs stay`);
      return false;
    });
    if (moves.length > 0) await this.apply(moves, 'automatic');
  }

  /** Stops automatic mode and gives the lease back; `released()` resolves once the agents heard it. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.auto = false;
    this.giveBack();
  }

  /** Resolves when every lease release sent so far has been answered or failed, or after `timeoutMs` (an agent that does not answer lets it run out). */
  released(timeoutMs = 5000): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      t.unref();
      void this.releasing.catch(() => undefined).then(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

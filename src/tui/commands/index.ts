/**
 * The command layer: every action the dashboard takes goes through here. Each
 * one becomes a task with per-VM progress and a result or error that the status
 * line shows; nothing here blocks the UI (all calls are promises).
 */
import { migrationUri } from '../../link/migrate-uri.js';
import { client, type Client } from '../../api/client.js';
import type { Link } from '../store/link.js';
import type { ClusterStore } from '../store/store.js';
import type { VmRecord } from '../store/model.js';
import { jobView, type WireJob } from '../store/decode.js';

export type VmOp = 'start' | 'shutdown' | 'destroy' | 'reboot' | 'reset' | 'suspend' | 'resume';

/** Operations that lose work or availability: the UI asks before running them. */
export const DESTRUCTIVE: ReadonlySet<string> = new Set(['destroy', 'shutdown', 'reboot', 'reset', 'snapshot-revert', 'snapshot-delete', 'evacuate', 'migrate']);

export interface TaskItem {
  vm: string;
  state: 'waiting' | 'running' | 'ok' | 'failed';
  message?: string;
}

export interface Task {
  id: number;
  label: string;
  items: TaskItem[];
  done: boolean;
  startedAt: number;
}

export interface Migration {
  id: string;
  vmKey: string;
  vm: string;
  from: string;
  to: string;
  live: boolean;
  job: WireJob;
  startedAt: number;
  /** True once the VM has been seen on the target. */
  finished: boolean;
}

export interface CommandHost {
  store: ClusterStore;
  link(node: string): Link | undefined;
  /** Ask a node's poller to re-read its VM list now. */
  invalidate(node: string): void;
  now?: () => number;
  /** What the cluster file says of a node: its migrate-uri and SSH host. */
  nodeConfig?(node: string): { migrateUri?: string; sshHost?: string } | undefined;
}

function errText(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s+/g, ' ').slice(0, 200);
}

export class CommandCenter {
  readonly tasks: Task[] = [];
  readonly migrations = new Map<string, Migration>();
  /** The latest line for the status bar. */
  status = '';
  statusIsError = false;
  private seq = 0;
  private listeners: Array<() => void> = [];
  private readonly now: () => number;

  constructor(readonly host: CommandHost) {
    this.now = host.now ?? Date.now;
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  private changed(): void {
    for (const cb of this.listeners) cb();
  }

  say(text: string, isError = false): void {
    this.status = text;
    this.statusIsError = isError;
    this.changed();
  }

  /** The typed agent API of a node, over its link (method names and shapes from src/api). */
  private agent(node: string): Client {
    const l = this.host.link(node);
    if (!l) throw new Error(`no link to node ${node}`);
    return client(l);
  }

  /**
   * Run one operation over several VMs (possibly on many nodes) with bounded
   * concurrency; every VM gets its own progress line and result.
   */
  async forEachVm(label: string, vms: VmRecord[], fn: (vm: VmRecord) => Promise<string | void>, concurrency = 8): Promise<Task> {
    const task: Task = { id: ++this.seq, label, items: vms.map((v) => ({ vm: v.key, state: 'waiting' })), done: false, startedAt: this.now() };
    this.tasks.unshift(task);
    if (this.tasks.length > 50) this.tasks.length = 50;
    this.say(`${label}: ${vms.length === 1 ? vms[0]?.name : `${vms.length} VMs`}...`);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < vms.length) {
        const i = next++;
        const vm = vms[i];
        const item = task.items[i];
        if (!vm || !item) continue;
        item.state = 'running';
        this.changed();
        try {
          const msg = await fn(vm);
          item.state = 'ok';
          item.message = msg ?? 'ok';
        } catch (e) {
          item.state = 'failed';
          item.message = errText(e);
        }
        this.host.invalidate(vm.node);
        this.changed();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, vms.length) }, worker));
    task.done = true;
    const failed = task.items.filter((i) => i.state === 'failed');
    if (failed.length === 0) this.say(`${label}: ${vms.length === 1 ? `${vms[0]?.name} ok` : `${vms.length} VMs ok`}`);
    else if (vms.length === 1) this.say(`${label} ${vms[0]?.name} failed: ${failed[0]?.message ?? ''}`, true);
    else this.say(`${label}: ${vms.length - failed.length} ok, ${failed.length} failed (${failed[0]?.vm}: ${failed[0]?.message ?? ''})`, true);
    return task;
  }

  vmOp(op: VmOp, vms: VmRecord[]): Promise<Task> {
    const after: Partial<Record<VmOp, string>> = { start: 'running', destroy: 'shutoff', suspend: 'paused', resume: 'running' };
    return this.forEachVm(op, vms, async (vm) => {
      await this.agent(vm.node).vm[op](vm.name);
      const s = after[op];
      if (s) this.host.store.setVmState(vm.key, s);
    });
  }

  setVcpus(vm: VmRecord, n: number): Promise<Task> {
    return this.forEachVm(`vcpus=${n}`, [vm], async () => {
      await this.agent(vm.node).vm.setVcpus(vm.name, n);
    });
  }

  setMemory(vm: VmRecord, kib: number): Promise<Task> {
    return this.forEachVm(`memory=${Math.round(kib / 1024)}MiB`, [vm], async () => {
      await this.agent(vm.node).vm.setMemory(vm.name, kib);
    });
  }

  snapshotCreate(vms: VmRecord[], name: string): Promise<Task> {
    return this.forEachVm(`snapshot ${name}`, vms, async (vm) => {
      await this.agent(vm.node).vm.snapshotCreate(vm.name, name);
    });
  }

  snapshotRevert(vm: VmRecord, name: string): Promise<Task> {
    return this.forEachVm(`revert to ${name}`, [vm], async () => {
      await this.agent(vm.node).vm.snapshotRevert(vm.name, name);
    });
  }

  snapshotDelete(vm: VmRecord, name: string): Promise<Task> {
    return this.forEachVm(`delete snapshot ${name}`, [vm], async () => {
      await this.agent(vm.node).vm.snapshotDelete(vm.name, name);
    });
  }

  async snapshotList(vm: VmRecord): Promise<string[]> {
    return (await this.agent(vm.node).vm.snapshotList(vm.name)).map((s) => s.name);
  }

  /** The libvirt URI the source node's libvirtd migrates to (see migrationUri). */
  destUri(node: string): string {
    const n = this.host.store.nodes.get(node);
    const c = this.host.nodeConfig?.(node);
    return migrationUri({
      node,
      ...(c?.migrateUri ? { configured: c.migrateUri } : {}),
      ...(c?.sshHost ? { sshHost: c.sshHost } : {}),
      ...(n?.host?.uri ? { reported: n.host.uri } : {}),
      ...(n?.host?.hostname ? { hostname: n.host.hostname } : {}),
    });
  }

  /** Start a migration as an agent job and follow it with job.get until it ends. */
  async migrate(vm: VmRecord, to: string, live: boolean): Promise<Migration> {
    const id = await this.agent(vm.node).vm.migrate(vm.name, this.destUri(to), { live });
    const m: Migration = { id, vmKey: vm.key, vm: vm.name, from: vm.node, to, live, job: { id, state: 'running' }, startedAt: this.now(), finished: false };
    this.migrations.set(vm.key, m);
    this.host.store.pinned.add(vm.key);
    this.say(`migrating ${vm.name} ${vm.node} -> ${to} (${live ? 'live' : 'offline'})`);
    void this.follow(m);
    return m;
  }

  private async follow(m: Migration): Promise<void> {
    while (m.job.state === 'running') {
      // Unref: a migration being followed must not keep a closed dashboard alive.
      await new Promise((r) => setTimeout(r, 400).unref());
      try {
        // A finished job may come back without its statistics: keep the last ones seen.
        const next = jobView(await this.agent(m.from).job.get(m.id));
        const merged: WireJob = { ...m.job };
        for (const [k, v] of Object.entries(next)) if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
        m.job = { ...merged, id: m.id };
      } catch (e) {
        // The source's link is down (an SSH cut): the migration goes on in libvirt, so follow it again once the link is back.
        if (this.host.link(m.from)?.state !== 'up') continue;
        m.job = { ...m.job, state: 'failed', error: errText(e) };
      }
      this.changed();
    }
    m.finished = true;
    this.host.store.pinned.delete(m.vmKey);
    this.host.invalidate(m.from);
    this.host.invalidate(m.to);
    if (m.job.state === 'completed') this.say(`migrated ${m.vm} to ${m.to}`);
    else this.say(`migration of ${m.vm} ${m.job.state}${m.job.error ? `: ${m.job.error}` : ''}`, m.job.state === 'failed');
  }

  async cancelMigration(m: Migration): Promise<void> {
    try {
      await this.agent(m.from).job.cancel(m.id);
      this.say(`cancelling migration of ${m.vm}`);
    } catch (e) {
      this.say(`cancel failed: ${errText(e)}`, true);
    }
  }

  /** Migrate a node's VMs following a plan, two at a time, each with its own line. */
  evacuate(node: string, steps: Array<{ vm: VmRecord; target?: string; live?: boolean }>): Promise<Task> {
    const movable = steps.filter((s) => s.target !== undefined);
    const targets = new Map(movable.map((s) => [s.vm.key, s.target ?? '']));
    const live = new Map(movable.map((s) => [s.vm.key, s.live ?? (s.vm.state === 'running' || s.vm.state === 'paused')]));
    return this.forEachVm(
      `evacuate ${node}`,
      movable.map((s) => s.vm),
      async (vm) => {
        const to = targets.get(vm.key) ?? '';
        const m = await this.migrate(vm, to, live.get(vm.key) ?? false);
        while (!m.finished) await new Promise((r) => setTimeout(r, 200).unref());
        if (m.job.state !== 'completed') throw new Error(`${m.job.state}${m.job.error ? `: ${m.job.error}` : ''}`);
        return `-> ${to}`;
      },
      2,
    );
  }
}

/**
 * vm.watch: the dashboard's per-tick call. The inventory (what changes on a state
 * or configuration change) travels as changes since a version the client holds;
 * live figures only for the VMs the client shows and the node's top rows by its
 * sort column, as packed columns. So a dashboard's tick costs what it shows and
 * the number of nodes, not the number of VMs.
 */
import { api, type VmInventory, type VmRow, type WatchView } from '../../api/index.js';
import { packFloat32, packInt32 } from '../../api/packed.js';
import { serve } from '../../api/serve.js';
import { XmlRpcFault } from '../../common/xmlrpc/codec.js';
import type { MethodRegistry } from '../../common/xmlrpc/registry.js';
import { AgentFault } from '../link.js';
import type { AgentCore } from '../core.js';
import { vmRow } from './vm.js';

interface Tracked {
  inv: VmInventory;
  /** Inventory version at which the VM appeared, and at which it last changed. */
  addedAt: number;
  changedAt: number;
  sig: string;
}

/** Removals kept for clients that are behind; older ones get a full answer. */
const KEEP_REMOVED = 2000;

function inventoryOf(key: number, r: VmRow): VmInventory {
  return { key, name: r.name, uuid: r.uuid, state: r.state, reason: r.reason, vcpus: r.vcpus, maxVcpus: r.maxVcpus, memKiB: r.memKiB, maxMemKiB: r.maxMemKiB, id: r.id, persistent: r.persistent, autostart: r.autostart };
}

function signature(i: VmInventory): string {
  return `${i.uuid}|${i.state}|${i.reason}|${i.vcpus}|${i.maxVcpus}|${i.memKiB}|${i.maxMemKiB}|${i.id}|${i.persistent}|${i.autostart}`;
}

function isActive(state: string): boolean {
  return state !== 'shutoff' && state !== 'crashed' && state !== 'nostate';
}

/** The sort key; a figure the driver cannot give ranks below every real one, zero included. */
function sortValue(r: VmRow, sort: NonNullable<WatchView['sort']>): number {
  switch (sort) {
    case 'cpuPct':
      return r.cpuPct;
    case 'memPct':
      return r.memUsedKiB === undefined ? -1 : r.memKiB > 0 ? r.memUsedKiB / r.memKiB : 0;
    case 'diskBps':
      return r.diskRdBps === undefined ? -1 : r.diskRdBps + (r.diskWrBps ?? 0);
    case 'netBps':
      return r.netRxBps === undefined ? -1 : r.netRxBps + (r.netTxBps ?? 0);
  }
}

/** The node's best figure by a sort column now (what events.poll's rank wake compares). */
export interface VmRanker {
  /** The highest figure among running VMs (-Infinity when none has one). */
  top(sort: NonNullable<WatchView['sort']>): number;
}

export function registerWatchMethods(r: MethodRegistry, core: AgentCore): VmRanker {
  const tracked = new Map<string, Tracked>();
  const removed: Array<{ name: string; at: number }> = [];
  let version = 0;
  let nextKey = 1;
  /** The oldest `since` that removals still cover. */
  let floor = 0;
  let scanned = '';
  let rows = new Map<string, VmRow>();

  /** Once per collection (or VM cache change): the rows, and the inventory changes they show. */
  const scan = (): void => {
    const c = core.collector;
    const at = `${c.tick}|${core.domains.version}`;
    if (at === scanned) return;
    scanned = at;
    const recent = c.tick - 3;
    const now = new Map<string, VmRow>();
    for (const e of c.vms.values()) if (e.lastTick >= recent) now.set(e.name, vmRow(core, e));
    for (const [name, row] of now) {
      const t = tracked.get(name);
      if (!t) {
        const inv = inventoryOf(nextKey++, row);
        version++;
        tracked.set(name, { inv, addedAt: version, changedAt: version, sig: signature(inv) });
        continue;
      }
      const inv = inventoryOf(t.inv.key, row);
      const sig = signature(inv);
      if (sig !== t.sig) {
        version++;
        t.inv = inv;
        t.sig = sig;
        t.changedAt = version;
      }
    }
    for (const name of tracked.keys()) {
      if (now.has(name)) continue;
      tracked.delete(name);
      version++;
      removed.push({ name, at: version });
    }
    if (removed.length > KEEP_REMOVED) floor = (removed.splice(0, removed.length - KEEP_REMOVED).pop() as { at: number }).at;
    rows = now;
  };

  serve(r, api.vm.watch, ([since, view = {}]) => {
    // As vm.list: a node whose libvirt is down has unknown VMs, not none.
    const st = core.link.status();
    if (!st.up) throw new XmlRpcFault(AgentFault.LIBVIRT_DOWN, `libvirt is down since ${new Date(st.since).toISOString()} (${st.reason ?? 'unknown reason'}); this node's VMs are unknown until it is back (the agent retries on its own)`);
    scan();
    const full = since <= 0 || since > version || since < floor;
    const added: VmInventory[] = [];
    const changed: VmInventory[] = [];
    for (const t of tracked.values()) {
      if (full || t.addedAt > since) added.push(t.inv);
      else if (t.changedAt > since) changed.push(t.inv);
    }
    const gone = full ? [] : removed.filter((x) => x.at > since).map((x) => x.name);

    const want = new Set<string>();
    let running = 0;
    for (const row of rows.values()) {
      // Every VM of a node on screen, stopped ones too (their figures are zeros: the table shows 0%).
      if (view.all) want.add(row.name);
      if (isActive(row.state)) running++;
    }
    for (const n of view.vms ?? []) if (rows.has(n)) want.add(n);
    let top: number[] = [];
    if (view.sort) {
      const sort = view.sort;
      const n = Math.min(Math.max(view.top ?? 50, 0), 1000);
      const ranked = [...rows.values()].filter((x) => isActive(x.state)).sort((a, b) => sortValue(b, sort) - sortValue(a, sort)).slice(0, n);
      for (const x of ranked) want.add(x.name);
      top = ranked.map((x) => tracked.get(x.name)?.inv.key ?? 0);
    }
    const picked = [...want].map((n) => rows.get(n) as VmRow);
    // A figure the driver cannot give travels as NaN (a packed column has no "absent").
    const col = (f: (x: VmRow) => number | undefined): Buffer => packFloat32(picked.map((x) => f(x) ?? NaN));
    let seenAt = 0;
    for (const x of picked) seenAt = Math.max(seenAt, x.seenAt);
    return {
      agentStart: core.startedAt,
      version,
      full,
      added,
      changed,
      removed: gone,
      seenAt: seenAt || core.collector.clock.timeOf(core.collector.tick) || 0,
      live: {
        keys: packInt32(picked.map((x) => tracked.get(x.name)?.inv.key ?? 0)),
        cpuPct: col((x) => x.cpuPct),
        vcpuPct: col((x) => x.vcpuPct),
        memUsedKiB: col((x) => x.memUsedKiB),
        diskRdBps: col((x) => x.diskRdBps),
        diskWrBps: col((x) => x.diskWrBps),
        netRxBps: col((x) => x.netRxBps),
        netTxBps: col((x) => x.netTxBps),
      },
      top,
      vmsTotal: rows.size,
      vmsRunning: running,
    };
  });

  // One pass per collection and column, however many dashboards wait.
  const best = new Map<string, number>();
  let bestAt = '';
  return {
    top(sort) {
      scan();
      if (bestAt !== scanned) {
        best.clear();
        bestAt = scanned;
      }
      let v = best.get(sort);
      if (v === undefined) {
        v = -Infinity;
        for (const x of rows.values()) if (isActive(x.state)) v = Math.max(v, sortValue(x, sort));
        best.set(sort, v);
      }
      return v;
    },
  };
}

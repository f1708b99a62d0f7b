/** Snapshots of simulated domains: a tree with a current one; revert restores state and definition. */
import type { SnapshotInfo } from '../hypervisor.js';
import { LifecycleDetail, Reason } from './constants.js';
import { cloneConfig } from './domain-config.js';
import { parseSnapshotXml } from './domain-xml.js';
import { failed, noSnapshot } from './errors.js';
import type { NodeContext } from './node-context.js';

export function create(hv: NodeContext, name: string, xml: string): string {
  const now = hv.sync();
  const d = hv.dom(name);
  hv.lockFree(d);
  const s = parseSnapshotXml(xml);
  const snap = s.name ?? String(Math.floor(now / 1000));
  if (d.snapshots.has(snap)) throw failed(`domain snapshot '${snap}' already exists`);
  const state = d.state === 'running' ? 'running' : d.state === 'paused' ? 'paused' : 'shutoff';
  const rec = { name: snap, creationTime: Math.floor(now / 1000), state, config: cloneConfig(d.current) } as const;
  d.snapshots.set(snap, { ...rec, config: cloneConfig(rec.config), ...(s.description !== undefined ? { description: s.description } : {}), ...(d.currentSnapshot ? { parent: d.currentSnapshot } : {}) });
  d.currentSnapshot = snap;
  return snap;
}

export function list(hv: NodeContext, name: string): SnapshotInfo[] {
  hv.sync();
  const d = hv.dom(name);
  return [...d.snapshots.values()].map((s) => {
    const i: SnapshotInfo = { name: s.name, creationTime: s.creationTime, state: s.state, current: s.name === d.currentSnapshot };
    if (s.parent !== undefined) i.parent = s.parent;
    if (s.description !== undefined) i.description = s.description;
    return i;
  });
}

export function revert(hv: NodeContext, name: string, snapshot: string): void {
  const now = hv.sync();
  const d = hv.dom(name);
  hv.lockFree(d);
  const s = d.snapshots.get(snapshot);
  if (!s) throw noSnapshot(snapshot);
  if (d.persistent) d.config = cloneConfig(s.config);
  if (s.state === 'shutoff') {
    if (d.active) hv.powerOff(d, Reason.shutoffFromSnapshot, LifecycleDetail.stopped.fromSnapshot);
  } else {
    if (!d.active) {
      hv.checkStartable(s.config);
      hv.boot(d, cloneConfig(s.config), Reason.runningFromSnapshot, now);
      hv.lifecycle(d, 'started', LifecycleDetail.started.fromSnapshot);
    } else {
      d.live = cloneConfig(s.config);
      d.resetCounters();
      d.startedAt = now;
    }
    d.state = s.state === 'paused' ? 'paused' : 'running';
    d.reason = s.state === 'paused' ? Reason.pausedFromSnapshot : Reason.runningFromSnapshot;
    d.guest?.rebooted(now);
    hv.host.invalidate();
  }
  d.currentSnapshot = snapshot;
}

export function remove(hv: NodeContext, name: string, snapshot: string): void {
  hv.sync();
  const d = hv.dom(name);
  hv.lockFree(d);
  const s = d.snapshots.get(snapshot);
  if (!s) throw noSnapshot(snapshot);
  // Children move up to the deleted snapshot's parent, as libvirt does.
  for (const c of d.snapshots.values()) {
    if (c.parent !== snapshot) continue;
    if (s.parent === undefined) delete c.parent;
    else c.parent = s.parent;
  }
  d.snapshots.delete(snapshot);
  if (d.currentSnapshot === snapshot) d.currentSnapshot = s.parent ?? null;
}

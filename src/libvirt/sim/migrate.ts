/** Live migration between simulated nodes of one cluster (destUri sim://<node>). */
import type { JobStats, MigrateOptions } from '../hypervisor.js';
import { ErrorCode, LibvirtError } from '../errors.js';
import { LifecycleDetail, Reason } from './constants.js';
import { cloneConfig } from './domain-config.js';
import { SimDomain } from './domain.js';
import { failed, From, invalid, invalidArg, jobLocked, noDomain, notRunning, outOfMemory } from './errors.js';
import { MigrationJob } from './migration.js';
import type { NodeContext } from './node-context.js';
import { noNetwork } from './network.js';

const MiB = 1024 * 1024;
/** CPU a migration costs on each end while it runs (sending, receiving). */
const SRC_OVERHEAD = 0.6;
const DEST_OVERHEAD = 0.4;

function overhead(src: NodeContext, dest: NodeContext, sign: 1 | -1): void {
  src.host.overheadCores = Math.max(0, src.host.overheadCores + sign * SRC_OVERHEAD);
  dest.host.overheadCores = Math.max(0, dest.host.overheadCores + sign * DEST_OVERHEAD);
  src.host.invalidate();
  dest.host.invalidate();
}

interface Flight {
  dest: NodeContext;
  needKiB: number;
  lastT: number;
  pausedForCopy: boolean;
}
const flights = new WeakMap<MigrationJob, Flight>();

export function parseSimUri(uri: string): string {
  const m = /^sim:\/\/([^/?#]+)\/?(?:[?#].*)?$/.exec(uri.trim());
  if (!m?.[1]) throw invalidArg(`no simulated node at '${uri}': use sim://<node> of the same simulated cluster`);
  return m[1];
}

export function start(src: NodeContext, name: string, destUri: string, opts: MigrateOptions): Promise<void> {
  const now = src.sync();
  const d = src.dom(name);
  const destNode = parseSimUri(destUri);
  const dest = src.peers.get(destNode);
  if (!dest || !dest.isAlive()) throw new LibvirtError(`operation failed: Failed to connect to remote libvirt URI ${destUri}: no such simulated node`, ErrorCode.OPERATION_FAILED, From.QEMU);
  if (dest === src) throw invalid(`Attempt to migrate guest to the same host ${src.node}`);
  if (d.job?.active) throw jobLocked();
  dest.sync();
  const there = dest.host.byName.get(name);
  if (there?.active) throw invalid(`domain '${name}' is already active`);
  if (there && there.config.uuid !== d.config.uuid) throw failed(`domain '${name}' already exists with uuid ${there.config.uuid}`);

  if (!d.active) {
    // Offline migration: only the persistent definition moves.
    if (!opts.persistOnTarget || d.live !== null) throw notRunning();
    offline(src, dest, d, opts);
    return Promise.resolve();
  }
  const live = d.live;
  if (!live) throw notRunning();
  for (const n of live.nics) if (n.type === 'network' && !dest.networks.isActive(n.source)) throw noNetwork(n.source);
  const free = dest.host.spec.memKiB - dest.host.committedKiB() - dest.incomingKiB;
  if (live.memKiB > free) throw outOfMemory(dest.node, live.memKiB, free);
  if (opts.bandwidthMiBs !== undefined && !(opts.bandwidthMiBs >= 0)) throw invalidArg(`bandwidth ${opts.bandwidthMiBs} MiB/s is negative`);

  let diskBytes = 0;
  if (opts.copyStorage) for (const k of live.disks) diskBytes += src.storage.volumeByPath(k.source)?.allocation ?? 0;
  const link = Math.min(src.host.spec.linkMiBs, dest.host.spec.linkMiBs);
  const bw = (opts.bandwidthMiBs && opts.bandwidthMiBs > 0 ? Math.min(link, opts.bandwidthMiBs) : link) * MiB;
  const memBytes = live.memKiB * 1024;
  const job = new MigrationJob({
    vm: name,
    destNode,
    memBytes,
    wssBytes: memBytes * Math.min(1, Math.max(0.05, d.memFrac || d.workload.memBase)),
    diskBytes,
    bandwidthBps: bw,
    live: opts.live !== false,
    maxDowntimeMs: opts.maxDowntimeMs ?? 300,
    startedAt: now,
    opts,
  });
  const pausedForCopy = opts.live === false && d.state === 'running';
  flights.set(job, { dest, needKiB: live.memKiB, lastT: now, pausedForCopy });
  dest.incomingKiB += live.memKiB;
  dest.sync();
  overhead(src, dest, 1);
  d.job = job;
  if (pausedForCopy) {
    d.state = 'paused';
    d.reason = Reason.pausedMigration;
    src.host.invalidate();
    src.lifecycle(d, 'suspended', LifecycleDetail.suspended.migrated);
  }
  src.kick(d);
  return job.settled;
}

/** Moves a migration on to `now`: pages dirtied follow the CPU the guest actually gets. */
export function step(src: NodeContext, d: SimDomain, now: number): void {
  const job = d.job;
  const f = job ? flights.get(job) : undefined;
  if (!job || !f) return;
  const dt = now - f.lastT;
  f.lastT = now;
  const dirty = d.state === 'running' ? d.allocCores * d.workload.dirtyBpsPerCore : 0;
  job.advance(dt, dirty);
  if (job.throttle !== d.throttle) {
    d.throttle = job.throttle;
    src.host.invalidate();
  }
  if (job.phase === 'done') finish(src, d, job, f, now);
}

function finish(src: NodeContext, d: SimDomain, job: MigrationJob, f: Flight, now: number): void {
  const { dest } = f;
  const opts = job.input.opts;
  const stats = job.stats();
  const live = d.live;
  if (!live) return;
  dest.incomingKiB -= f.needKiB;
  dest.sync();
  overhead(src, dest, -1);
  src.emit('job-completed', d, { stats: stats.raw });
  const old = dest.host.byName.get(live.name);
  if (old) dest.host.remove(old);
  const moved = new SimDomain(opts.persistOnTarget ? cloneConfig(live) : cloneConfig(live), d.workload, opts.persistOnTarget === true, d.os);
  moved.snapshots = d.snapshots;
  moved.currentSnapshot = d.currentSnapshot;
  moved.guest = d.guest;
  moved.guest?.movedTo(moved, dest.guestClock);
  moved.lastJob = stats;
  dest.host.add(moved);
  const startedAt = d.startedAt;
  dest.boot(moved, cloneConfig(live), Reason.runningMigrated, now);
  moved.startedAt = startedAt;
  if (opts.copyStorage) {
    for (const k of live.disks) {
      const v = src.storage.volumeByPath(k.source);
      if (v && !dest.storage.volumeByPath(v.path)) {
        const pool = src.storage.listPools().find((p) => p.path !== undefined && v.path.startsWith(p.path + '/'))?.name ?? 'default';
        dest.storage.ensureRoom(pool, v.allocation);
        dest.storage.put(pool, { ...v });
      }
    }
  }
  d.job = null;
  d.lastJob = stats;
  d.guest = null;
  const keepSource = d.persistent && !opts.undefineSource;
  d.persistent = keepSource;
  src.powerOff(d, Reason.shutoffMigrated, LifecycleDetail.stopped.migrated);
  if (opts.persistOnTarget) dest.lifecycle(moved, 'defined', LifecycleDetail.defined.added);
  dest.lifecycle(moved, 'started', LifecycleDetail.started.migrated);
  dest.lifecycle(moved, 'resumed', LifecycleDetail.resumed.migrated);
  job.finishedAt = now;
  job.resolve();
}

/** Aborts a migration: the VM goes on running on the source. */
export function cancel(src: NodeContext, d: SimDomain, why: string): void {
  const job = d.job;
  if (!job) return;
  const f = flights.get(job);
  job.phase = 'cancelled';
  d.job = null;
  d.lastJob = job.stats();
  d.throttle = 0;
  if (f) {
    f.dest.sync();
    overhead(src, f.dest, -1);
    f.dest.incomingKiB -= f.needKiB;
    if (f.pausedForCopy && d.state === 'paused') {
      d.state = 'running';
      src.lifecycle(d, 'resumed', LifecycleDetail.resumed.unpaused);
    }
  }
  if (d.state === 'running') d.reason = Reason.runningMigrationCanceled;
  src.host.invalidate();
  job.reject(new LibvirtError(`operation aborted: migration out: ${why}`, ErrorCode.OPERATION_ABORTED, From.QEMU));
}

function offline(src: NodeContext, dest: NodeContext, d: SimDomain, opts: MigrateOptions): void {
  const old = dest.host.byName.get(d.config.name);
  if (old) dest.host.remove(old);
  const moved = new SimDomain(cloneConfig(d.config), d.workload, true, d.os);
  moved.snapshots = d.snapshots;
  moved.currentSnapshot = d.currentSnapshot;
  dest.host.add(moved);
  dest.lifecycle(moved, 'defined', LifecycleDetail.defined.added);
  if (opts.undefineSource) {
    src.host.remove(d);
    src.lifecycle(d, 'undefined', LifecycleDetail.undefined.removed);
  }
}

export function jobStats(hv: NodeContext, name: string, completed: boolean): JobStats {
  const now = hv.sync();
  const d = hv.host.byName.get(name);
  if (!d) throw noDomain(name);
  if (completed) return d.lastJob ?? { type: 'none', raw: { type: 0 } };
  if (d.job?.active) {
    step(hv, d, now);
    if (d.job?.active) return d.job.stats();
  }
  return { type: 'none', raw: { type: 0 } };
}

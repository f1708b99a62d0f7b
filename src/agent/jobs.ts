/**
 * Long operations as jobs with ids. A migration runs in the background;
 * job.get reports libvirt's progress (data processed/remaining/total, memory
 * iteration, dirty rate, downtime, elapsed) until it completes, fails or is
 * cancelled, and after a failure says why and where the VM is.
 */
import type { Hypervisor, JobStats, MigrateOptions } from '../libvirt/hypervisor.js';
import { ErrorCode } from '../libvirt/errors.js';
import { toJobStats } from '../libvirt/procedures/migration.js';
import type { XmlRpcStruct } from '../common/xmlrpc/value.js';
import { fromJsonValue } from '../common/xmlrpc/value.js';
import type { EventLog } from './events.js';
import { cleanupSummary, type MigrationStorage, type StorageSteps } from './migrate-target.js';

export type JobStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/** A clone job's own state: the new VM and its volume copies. */
export interface CloneState {
  name: string;
  volumes: Array<{ target: string; pool: string; from: string; to: string; bytes: number; done: boolean }>;
  shared: string[];
  macs: Array<{ from: string; to: string }>;
  start: boolean;
}

/** A provisioning job's own state (vm.provision): the steps in order and what each made. */
export interface ProvisionState {
  name: string;
  template: string;
  steps: Array<{ step: 'disk' | 'seed' | 'define' | 'start'; done: boolean; detail?: string }>;
  /** An overlay's backing file, or the POOL/VOLUME a full copy was made from. */
  disk: { pool: string; volume: string; backing?: string; copiedFrom?: string; capacity: number };
  seed: { pool: string; volume: string; tool?: string };
  start: boolean;
  failedStep?: 'disk' | 'seed' | 'define' | 'start';
}

export interface Job {
  id: string;
  kind: 'migrate' | 'clone' | 'provision';
  vm: string;
  /** Migration: the destination URI. Clone: the new VM's name. */
  dest: string;
  options: MigrateOptions | { start: boolean };
  clone?: CloneState;
  provision?: ProvisionState;
  status: JobStatus;
  reason?: string;
  startedAt: number;
  endedAt?: number;
  progress?: JobStats;
  progressAt?: number;
  cancelRequested: boolean;
  /** After a failure or cancel: the VM's state on this node. */
  vmStateOnSource?: string;
  caller: string;
  /** Found running in libvirt after an agent restart, not started by this process. */
  adopted?: boolean;
  /** Polls in a row that found no libvirt job for an adopted migration (two end it). */
  quietPolls?: number;
  /** A migration's disks: what is copied, the target volumes made, and what a failure removed. */
  storage?: MigrationStorage;
}

export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private next = 1;
  private readonly pollers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly events: EventLog,
    private readonly keep = 200,
    private readonly progressMs = 1000,
  ) {}

  private newId(): string {
    return `job-${Date.now().toString(36)}-${this.next++}`;
  }

  /**
   * A job this manager does not run itself (a clone): `run` does the work and
   * throws to fail; the job ends as cancelled when a cancel was asked for.
   */
  startTask(kind: 'clone' | 'provision', vm: string, dest: string, options: { start: boolean }, caller: string, init: Partial<Job>, run: (job: Job) => Promise<void>): Job {
    const job: Job = { ...init, id: this.newId(), kind, vm, dest, options, status: 'running', startedAt: Date.now(), cancelRequested: false, caller };
    this.jobs.set(job.id, job);
    this.trim();
    this.events.push('job', 'started', vm, { job: job.id, kind, dest });
    run(job).then(
      () => this.end(job, 'completed'),
      (e: unknown) => this.end(job, job.cancelRequested ? 'cancelled' : 'failed', e instanceof Error ? e.message : String(e)),
    );
    return job;
  }

  /** A job started or ended (the agent keeps the running ones in a file, to adopt them after a restart). */
  onChange?: () => void;
  /** A job ended (the audit log records it). */
  onEnd?: (job: Job) => void;

  private closed = false;

  private end(job: Job, status: JobStatus, reason?: string): void {
    // A closed manager's agent is gone: the next one reports (adopts) what is still running.
    if (this.closed) return;
    job.status = status;
    if (reason !== undefined) job.reason = reason;
    job.endedAt = Date.now();
    const detail: XmlRpcStruct = { job: job.id, kind: job.kind, dest: job.dest, status };
    if (reason !== undefined) detail.reason = reason;
    if (job.vmStateOnSource) detail.vmStateOnSource = job.vmStateOnSource;
    this.events.push('job', status, job.vm, detail);
    this.onEnd?.(job);
    this.onChange?.();
  }

  /** A VM this node's migration moved away and undefined (the agent forgets its figures). */
  onVmLeft?: (vm: string) => void;

  /** The job-completed event's figures of a running migration, by job id. */
  private readonly completedStats = new Map<string, Record<string, number | string | boolean>>();

  /** Adopted or settled migrations' storage steps (from the saved jobs file): a failure removes what they made. */
  private readonly resumed = new Map<string, StorageSteps>();

  /** Migrations still creating their target volumes (a cancel then needs no libvirt abort). */
  private readonly preparing = new Set<string>();

  /**
   * `storage`: the disk work around libvirt's migration (migrate-target.ts): the target
   * volumes are made first, and a failed or cancelled migration removes them again.
   */
  startMigration(hv: Hypervisor, vm: string, dest: string, options: MigrateOptions, caller: string, storage?: StorageSteps): Job {
    const job: Job = { id: this.newId(), kind: 'migrate', vm, dest, options, status: 'running', startedAt: Date.now(), cancelRequested: false, caller };
    if (storage) job.storage = storage.state;
    this.jobs.set(job.id, job);
    this.trim();
    this.events.push('job', 'started', vm, { job: job.id, kind: 'migrate', dest });
    this.onChange?.();
    const poll = setInterval(() => void this.refreshProgress(hv, job), this.progressMs);
    poll.unref();
    this.pollers.set(job.id, poll);
    // libvirt's own final figures (VIR_DOMAIN_EVENT_ID_JOB_COMPLETED on the source): the last
    // poll may predate the last disk or memory bytes, and the VM is gone here afterwards.
    const unsubscribe = Promise.resolve()
      .then(() => hv.onDomainEvent((e) => {
        if (e.kind === 'job-completed' && e.domain.name === vm && e.stats && job.status === 'running') this.completedStats.set(job.id, e.stats);
      }))
      .catch(() => undefined);
    const prepared = async (): Promise<void> => {
      if (!storage) return;
      this.preparing.add(job.id);
      try {
        // Saved after each volume made, so an agent restarted from here on knows what to remove.
        await storage.prepare(() => this.onChange?.());
      } finally {
        this.preparing.delete(job.id);
      }
      if (job.cancelRequested) {
        const e = new Error('cancelled before the migration started') as Error & { code: number };
        e.code = ErrorCode.OPERATION_ABORTED;
        throw e;
      }
    };
    prepared()
      .then(() => hv.migrate(vm, dest, options))
      .then(
        () => this.finish(hv, job, 'completed', undefined, storage),
        async (e: unknown) => {
          const code = (e as { code?: unknown }).code;
          const cancelled = job.cancelRequested || code === ErrorCode.OPERATION_ABORTED;
          await storage?.undo();
          return this.finish(hv, job, cancelled ? 'cancelled' : 'failed', withCleanup(e instanceof Error ? e.message : String(e), job), storage);
        },
      )
      .finally(() => {
        this.completedStats.delete(job.id);
        void unsubscribe.then((u) => u?.());
      });
    return job;
  }

  private async refreshProgress(hv: Hypervisor, job: Job): Promise<void> {
    if (job.status !== 'running') return;
    try {
      const s = await hv.jobStats(job.vm);
      if (job.status === 'running' && s.type !== 'none') {
        job.progress = s;
        job.progressAt = Date.now();
      }
    } catch {
      /* the VM may be switching over; the next poll or the end of the job tells */
    }
  }

  private async finish(hv: Hypervisor, job: Job, status: JobStatus, reason?: string, storage?: StorageSteps): Promise<void> {
    const t = this.pollers.get(job.id);
    if (t) clearInterval(t);
    this.pollers.delete(job.id);
    await storage?.close();
    if (status === 'completed') {
      try {
        const s = await hv.jobStats(job.vm, true);
        if (s.type !== 'none') job.progress = s;
      } catch {
        /* the VM left this node: the event's figures, else the last progress, stand */
      }
      // The event may trail the migration call's answer by a moment.
      for (let i = 0; i < 10 && job.kind === 'migrate' && !this.completedStats.has(job.id) && !this.closed; i++) await new Promise((r) => setTimeout(r, 50));
      const done = this.completedStats.get(job.id);
      if (done) job.progress = toJobStats(3, done);
      if (job.progress) {
        const p = job.progress;
        job.progress = { ...p, dataRemaining: 0, memRemaining: 0, ...(p.diskTotal !== undefined ? { diskRemaining: 0 } : {}) };
      }
      // Undefined here by the migration: forget it now rather than after the collector's grace,
      // so a plan made right after the move does not see the VM still on this node.
      const gone = await hv.domainInfo(job.vm).then(() => false, () => true);
      if (gone) this.onVmLeft?.(job.vm);
    } else {
      try {
        job.vmStateOnSource = (await hv.domainInfo(job.vm)).state;
      } catch (e) {
        job.vmStateOnSource = `unknown (${e instanceof Error ? e.message : String(e)})`;
      }
    }
    this.end(job, status, reason);
  }

  /**
   * A migration libvirt runs that this process did not start (the agent was restarted
   * during it): watched through libvirt's job until it ends; job.cancel aborts it.
   */
  adopt(hv: Hypervisor, job: Job, storage?: StorageSteps): void {
    job.adopted = true;
    if (storage) {
      job.storage = storage.state;
      this.resumed.set(job.id, storage);
    }
    this.jobs.set(job.id, job);
    this.trim();
    this.events.push('job', 'adopted', job.vm, { job: job.id, kind: job.kind, dest: job.dest });
    this.onChange?.();
    const poll = setInterval(() => void this.watchAdopted(hv, job), this.progressMs);
    poll.unref();
    this.pollers.set(job.id, poll);
  }

  private async watchAdopted(hv: Hypervisor, job: Job): Promise<void> {
    if (job.status !== 'running') return;
    const s = await hv.jobStats(job.vm).catch(() => undefined);
    if (job.status !== 'running') return;
    if (s && s.type !== 'none') {
      job.progress = s;
      job.progressAt = Date.now();
      job.quietPolls = 0;
      return;
    }
    // One quiet poll may be the switch-over; the second settles it from where the VM is.
    job.quietPolls = (job.quietPolls ?? 0) + 1;
    if (job.quietPolls >= 2) await this.settleUnwatched(hv, job, 'libvirt ended the migration');
  }

  /**
   * A migration whose end nobody saw (it ended while the agent was down, or libvirt
   * ended it unwatched): still active here means it failed (or was cancelled) and the
   * VM stayed; gone or shut off here means it moved.
   */
  async settleUnwatched(hv: Hypervisor, job: Job, how: string, storage?: StorageSteps): Promise<void> {
    if (!this.jobs.has(job.id)) {
      job.adopted = true;
      this.jobs.set(job.id, job);
    }
    if (storage) {
      job.storage = storage.state;
      this.resumed.set(job.id, storage);
    }
    const steps = this.resumed.get(job.id);
    const t = this.pollers.get(job.id);
    if (t) clearInterval(t);
    this.pollers.delete(job.id);
    const state = await hv.domainInfo(job.vm).then(
      (i) => i.state,
      () => undefined,
    );
    if (job.status !== 'running') return;
    if (state === undefined || state === 'shutoff') {
      // Moved: the volumes it made hold the VM's disks on the target now.
      this.resumed.delete(job.id);
      if (state === undefined) this.onVmLeft?.(job.vm);
      this.end(job, 'completed');
      return;
    }
    job.vmStateOnSource = state;
    if (steps) {
      await steps.undo();
      this.resumed.delete(job.id);
      if (job.status !== 'running') return;
    }
    this.end(job, job.cancelRequested ? 'cancelled' : 'failed', withCleanup(`${how} without the agent seeing its result; the VM is ${state} on this node`, job));
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** Fresh progress for a running job (one libvirt call), then the job. */
  async getFresh(hv: Hypervisor | undefined, id: string): Promise<Job | undefined> {
    const job = this.jobs.get(id);
    if (job && hv && job.status === 'running') await this.refreshProgress(hv, job);
    return job;
  }

  async cancel(hv: Hypervisor, id: string): Promise<Job | undefined> {
    const job = this.jobs.get(id);
    if (!job || job.status !== 'running') return job;
    job.cancelRequested = true;
    // A volume copy cannot be interrupted; the clone stops after the copy under way and rolls back.
    // A migration still making its target volumes stops before libvirt is asked to migrate.
    if (job.kind === 'migrate' && !this.preparing.has(job.id)) {
      try {
        await hv.abortJob(job.vm);
      } catch (e) {
        // Refused (a driver without job abort): the migration goes on, and must not end up called cancelled.
        job.cancelRequested = false;
        throw e;
      }
    }
    return job;
  }

  list(): Job[] {
    return [...this.jobs.values()];
  }

  private trim(): void {
    if (this.jobs.size <= this.keep) return;
    for (const [id, j] of this.jobs) {
      if (this.jobs.size <= this.keep) break;
      if (j.status !== 'running') this.jobs.delete(id);
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.pollers.values()) clearInterval(t);
    this.pollers.clear();
  }
}

/** A failed or cancelled migration's reason with what its clean-up did on the target (so the audit record of its end says it too). */
function withCleanup(reason: string, job: Job): string {
  const done = job.storage ? cleanupSummary(job.storage) : undefined;
  return done ? `${reason}; ${done}` : reason;
}

/** A job as the wire shows it; progress fields are named in the admin's words. */
export function jobToValue(j: Job): XmlRpcStruct {
  const now = j.endedAt ?? Date.now();
  const v: XmlRpcStruct = {
    id: j.id,
    kind: j.kind,
    vm: j.vm,
    dest: j.dest,
    status: j.status,
    startedAt: j.startedAt,
    elapsedMs: now - j.startedAt,
    cancelRequested: j.cancelRequested,
    caller: j.caller,
    ...(j.adopted ? { adopted: true } : {}),
    options: fromJsonValue(j.options),
  };
  if (j.endedAt !== undefined) v.endedAt = j.endedAt;
  if (j.reason !== undefined) v.reason = j.reason;
  if (j.vmStateOnSource !== undefined) v.vmStateOnSource = j.vmStateOnSource;
  if (j.storage) v.storage = fromJsonValue(j.storage);
  if (j.clone) return { ...v, ...cloneToValue(j.clone) };
  if (j.provision) return { ...v, ...provisionToValue(j.provision) };
  const p = j.progress;
  if (p) {
    const prog: XmlRpcStruct = { type: p.type };
    const put = (k: string, x: number | undefined): void => {
      if (x !== undefined && Number.isFinite(x)) prog[k] = x;
    };
    put('dataTotal', p.dataTotal);
    put('dataProcessed', p.dataProcessed);
    put('dataRemaining', p.dataRemaining);
    put('memTotal', p.memTotal);
    put('memProcessed', p.memProcessed);
    put('memRemaining', p.memRemaining);
    put('memIteration', p.memIteration);
    put('memDirtyRate', p.memDirtyRate);
    put('memBps', p.memBps);
    put('expectedDowntimeMs', p.downtimeMs);
    put('timeElapsedMs', p.timeElapsedMs);
    put('timeRemainingMs', p.timeRemainingMs);
    put('diskTotal', p.diskTotal);
    put('diskProcessed', p.diskProcessed);
    put('diskRemaining', p.diskRemaining);
    if (p.dataTotal && p.dataTotal > 0 && p.dataRemaining !== undefined) {
      prog.percent = Math.round(Math.min(100, Math.max(0, (1 - p.dataRemaining / p.dataTotal) * 100)) * 10) / 10;
    }
    if (j.progressAt !== undefined) prog.at = j.progressAt;
    v.progress = prog;
  }
  return v;
}

/** A clone job's volumes, and its progress as bytes copied (whole volumes: libvirt reports no progress inside one copy). */
function cloneToValue(c: CloneState): XmlRpcStruct {
  const total = c.volumes.reduce((a, v) => a + v.bytes, 0);
  const done = c.volumes.reduce((a, v) => a + (v.done ? v.bytes : 0), 0);
  return {
    clone: {
      name: c.name,
      volumes: c.volumes.map((v) => ({ ...v })),
      shared: c.shared,
      macs: c.macs.map((m) => ({ ...m })),
      start: c.start,
    },
    progress: {
      type: 'clone',
      dataTotal: total,
      dataProcessed: done,
      dataRemaining: total - done,
      percent: total > 0 ? Math.round((done / total) * 1000) / 10 : c.volumes.every((v) => v.done) ? 100 : 0,
    },
  };
}

/** A provisioning job's steps, and its progress as the share of steps done. */
function provisionToValue(p: ProvisionState): XmlRpcStruct {
  const done = p.steps.filter((s) => s.done).length;
  return {
    provision: fromJsonValue(p),
    progress: { type: 'provision', dataTotal: p.steps.length, dataProcessed: done, dataRemaining: p.steps.length - done, percent: p.steps.length > 0 ? Math.round((done / p.steps.length) * 1000) / 10 : 0 },
  };
}

/**
 * Pre-copy live migration, as QEMU does it: send all RAM, then re-send what the
 * guest dirtied meanwhile, iteration after iteration, until what is left fits
 * in the allowed downtime; then pause, send the rest, resume on the target.
 * When the guest dirties memory faster than the link drains it, auto-converge
 * throttles its vCPUs step by step (20 %, then +10 %) until it converges.
 */
import type { JobStats, MigrateOptions } from '../hypervisor.js';

export type MigrationPhase = 'setup' | 'disk' | 'precopy' | 'stopcopy' | 'done' | 'cancelled' | 'failed';

export interface MigrationInput {
  vm: string;
  destNode: string;
  memBytes: number;
  /** Distinct pages the guest touches: dirtied pages never exceed this. */
  wssBytes: number;
  diskBytes: number;
  bandwidthBps: number;
  live: boolean;
  maxDowntimeMs: number;
  startedAt: number;
  opts: MigrateOptions;
}

const SETUP_MS = 150;
const PAGE = 4096;

export class MigrationJob {
  phase: MigrationPhase = 'setup';
  elapsedMs = 0;
  iteration = 0;
  /** Bytes of RAM still to send in this iteration. */
  private iterLeft: number;
  /** Pages dirtied since this iteration began (bytes). */
  private dirtied = 0;
  private lastIterSize: number;
  memProcessed = 0;
  diskProcessed = 0;
  dirtyRateBps = 0;
  throttle = 0;
  downtimeMs = 0;
  private stopLeftMs = 0;
  setupMs = SETUP_MS;
  error?: string;
  finishedAt = 0;
  readonly settled: Promise<void>;
  resolve!: () => void;
  reject!: (e: Error) => void;

  constructor(readonly input: MigrationInput) {
    this.iterLeft = input.memBytes;
    this.lastIterSize = input.memBytes;
    this.settled = new Promise<void>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    // Nobody may await a job that is aborted before migrate() returns its promise.
    this.settled.catch(() => undefined);
  }

  get active(): boolean {
    return this.phase === 'setup' || this.phase === 'disk' || this.phase === 'precopy' || this.phase === 'stopcopy';
  }

  get memRemaining(): number {
    if (this.phase === 'done') return 0;
    return this.iterLeft + this.dirtied;
  }

  /** Moves the job on by dtMs of simulated time while the guest dirties `dirtyBps` bytes per second. */
  advance(dtMs: number, dirtyBps: number): void {
    const bw = this.input.bandwidthBps;
    let left = dtMs;
    this.dirtyRateBps = this.input.live ? dirtyBps : 0;
    while (left > 0 && this.active) {
      if (this.phase === 'setup') {
        const used = Math.min(left, this.setupMs - this.elapsedMs);
        this.elapsedMs += used;
        left -= used;
        if (this.elapsedMs >= this.setupMs) this.phase = this.input.diskBytes > 0 ? 'disk' : 'precopy';
        if (this.phase === 'precopy') this.iteration = 1;
        continue;
      }
      if (this.phase === 'disk') {
        const need = ((this.input.diskBytes - this.diskProcessed) / bw) * 1000;
        const used = Math.min(left, need);
        this.diskProcessed = Math.min(this.input.diskBytes, this.diskProcessed + (bw * used) / 1000);
        this.elapsedMs += used;
        left -= used;
        if (this.diskProcessed >= this.input.diskBytes) {
          this.phase = 'precopy';
          this.iteration = 1;
        }
        continue;
      }
      if (this.phase === 'precopy') {
        const need = (this.iterLeft / bw) * 1000;
        const used = Math.min(left, need);
        const sent = (bw * used) / 1000;
        this.iterLeft -= sent;
        this.memProcessed += sent;
        this.dirty(used);
        this.elapsedMs += used;
        left -= used;
        if (this.iterLeft <= 1) this.endIteration();
        continue;
      }
      // stop-and-copy: the guest is paused, nothing more gets dirty.
      const used = Math.min(left, this.stopLeftMs);
      const sent = (bw * used) / 1000;
      this.memProcessed += sent;
      this.iterLeft = Math.max(0, this.iterLeft - sent);
      this.stopLeftMs -= used;
      this.elapsedMs += used;
      left -= used;
      if (this.stopLeftMs <= 0) {
        this.iterLeft = 0;
        this.dirtied = 0;
        this.phase = 'done';
      }
    }
  }

  private dirty(ms: number): void {
    if (!this.input.live) return;
    const cap = this.input.wssBytes;
    this.dirtied = Math.min(cap, this.dirtied + (this.dirtyRateBps * ms) / 1000);
  }

  private endIteration(): void {
    const remaining = Math.floor(this.dirtied / PAGE) * PAGE;
    const bw = this.input.bandwidthBps;
    const downMs = (remaining / bw) * 1000;
    if (downMs <= this.input.maxDowntimeMs || !this.input.live) {
      this.phase = 'stopcopy';
      this.iterLeft = remaining;
      this.dirtied = 0;
      this.downtimeMs = Math.max(1, Math.round(downMs + 20));
      this.stopLeftMs = downMs;
      return;
    }
    // Not converging (this pass is no smaller than the last): throttle the guest.
    if (this.iteration >= 2 && remaining > this.lastIterSize * 0.8) this.throttle = this.throttle === 0 ? 0.2 : Math.min(0.99, this.throttle + 0.1);
    this.lastIterSize = remaining;
    this.iteration += 1;
    this.iterLeft = remaining;
    this.dirtied = 0;
  }

  /** libvirt's job stats for this job, while it runs or once it has ended. */
  stats(): JobStats {
    const i = this.input;
    const bw = i.bandwidthBps;
    const memRemaining = Math.max(0, Math.round(this.memRemaining));
    const diskRemaining = Math.max(0, Math.round(i.diskBytes - this.diskProcessed));
    // As QEMU reports it: the guest's RAM size; data sent can exceed it when pages are re-sent.
    const memTotal = i.memBytes;
    const dataProcessed = Math.round(this.memProcessed + this.diskProcessed);
    const dataRemaining = memRemaining + diskRemaining;
    const drain = bw - this.dirtyRateBps;
    const expectedDowntime = this.phase === 'done' ? this.downtimeMs : Math.max(1, Math.round((memRemaining / bw) * 1000));
    const timeRemainingMs = this.phase === 'done' ? 0 : drain > 0 ? Math.round(((dataRemaining / drain) * 1000)) : undefined;
    const type: JobStats['type'] = this.phase === 'done' ? 'completed' : this.phase === 'cancelled' ? 'cancelled' : this.phase === 'failed' ? 'failed' : 'unbounded';
    const s: JobStats = {
      type,
      operation: 'migration-out',
      timeElapsedMs: Math.round(this.elapsedMs),
      dataTotal: memTotal + i.diskBytes,
      dataProcessed,
      dataRemaining,
      memTotal,
      memProcessed: Math.round(this.memProcessed),
      memRemaining,
      memDirtyRate: Math.round(this.dirtyRateBps / PAGE),
      memIteration: this.iteration,
      memBps: bw,
      downtimeMs: expectedDowntime,
      setupTimeMs: SETUP_MS,
      diskTotal: i.diskBytes,
      diskProcessed: Math.round(this.diskProcessed),
      diskRemaining,
      raw: {},
    };
    if (timeRemainingMs !== undefined) s.timeRemainingMs = timeRemainingMs;
    const raw = s.raw;
    raw['type'] = ['none', 'bounded', 'unbounded', 'completed', 'failed', 'cancelled'].indexOf(type);
    raw['operation'] = 6; // VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT
    raw['time_elapsed'] = s.timeElapsedMs ?? 0;
    if (timeRemainingMs !== undefined) raw['time_remaining'] = timeRemainingMs;
    raw['data_total'] = s.dataTotal ?? 0;
    raw['data_processed'] = dataProcessed;
    raw['data_remaining'] = dataRemaining;
    raw['memory_total'] = memTotal;
    raw['memory_processed'] = s.memProcessed ?? 0;
    raw['memory_remaining'] = memRemaining;
    raw['memory_dirty_rate'] = s.memDirtyRate ?? 0;
    raw['memory_iteration'] = this.iteration;
    raw['memory_bps'] = bw;
    raw['memory_page_size'] = PAGE;
    raw['downtime'] = expectedDowntime;
    raw['setup_time'] = SETUP_MS;
    raw['disk_total'] = i.diskBytes;
    raw['disk_processed'] = s.diskProcessed ?? 0;
    raw['disk_remaining'] = diskRemaining;
    raw['auto_converge_throttle'] = Math.round(this.throttle * 100);
    raw['simulated'] = true;
    return s;
  }
}

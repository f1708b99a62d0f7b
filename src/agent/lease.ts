/**
 * Leases, and the guard that keeps two admins off one VM.
 *
 * A lease is held by a named holder until it is released or its time runs out
 * unrenewed (so a holder that dies frees it); the token returned by acquire is
 * the proof of holding it. A VM with a running migration or clone job is busy:
 * the calls that would fight that job are refused naming the job, who started
 * it and since when, whoever asks. Pure logic: the clock is given.
 */
import { randomBytes } from 'node:crypto';
import { api } from '../api/index.js';
import { XmlRpcFault } from '../common/xmlrpc/codec.js';

/** Fault code: someone else holds it, or the VM is busy with another's job. */
export const LEASE_HELD = 1011;
const NOT_FOUND = 1003;

export const DEFAULT_TTL_MS = 30_000;
export const MAX_TTL_MS = 3_600_000;

export interface Lease {
  scope: string;
  holder: string;
  op: string;
  since: number;
  renewedAt: number;
  expiresAt: number;
  token: string;
  caller: string;
}

/** A job that makes a VM busy (the running migrations, clones and provisionings). */
export interface BusyJob {
  id: string;
  kind: 'migrate' | 'clone' | 'provision';
  vm: string;
  dest: string;
  caller: string;
  startedAt: number;
  status: string;
}

/** The changes that would fight a migration or clone of the same VM (the VM is their first argument). */
export const CONFLICTING: ReadonlySet<string> = new Set(
  [api.vm.migrate, api.vm.clone, api.vm.undefine, api.vm.destroy, api.vm.redefine, api.vm.start, api.vm.snapshotCreate, api.vm.snapshotRevert, api.vm.snapshotDelete].map((m) => m.name),
);

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19) + 'Z';
}

function describeJob(j: BusyJob): string {
  const what = j.kind === 'migrate' ? `migration of ${j.vm} to ${j.dest}` : j.kind === 'provision' ? `provisioning of ${j.dest} from ${j.vm}` : `clone of ${j.vm} as ${j.dest}`;
  return `${what} (${j.id}) started by ${j.caller} at ${clock(j.startedAt)}`;
}

/** The running job a call on `vm` would fight, if any: the VM moves, or it is the source or the new VM of a clone. */
export function busyWith(vm: string, jobs: Iterable<BusyJob>): BusyJob | undefined {
  for (const j of jobs) {
    if (j.status !== 'running') continue;
    if (j.vm === vm || (j.kind !== 'migrate' && j.dest === vm)) return j;
  }
  return undefined;
}

/** Throws LEASE_HELD when `method` would fight a running job on the VM it names. */
export function guardChange(method: string, params: readonly unknown[], jobs: Iterable<BusyJob>): void {
  if (!CONFLICTING.has(method) || typeof params[0] !== 'string') return;
  const vm = params[0];
  const j = busyWith(vm, jobs);
  if (j) throw new XmlRpcFault(LEASE_HELD, `${method} ${vm} refused: a ${describeJob(j)} is in progress; wait for it to end or cancel it with job.cancel ${j.id}`);
}

export function ttlOf(seconds: number | undefined): number {
  if (seconds === undefined) return DEFAULT_TTL_MS;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_TTL_MS / 1000) {
    throw new XmlRpcFault(1004, `ttlSeconds must be an integer from 1 to ${MAX_TTL_MS / 1000}, got ${seconds}`);
  }
  return seconds * 1000;
}

export class LeaseTable {
  private readonly byScope = new Map<string, Lease>();

  constructor(private readonly now: () => number = Date.now) {}

  private live(scope: string): Lease | undefined {
    const l = this.byScope.get(scope);
    if (l && l.expiresAt <= this.now()) {
      this.byScope.delete(scope);
      return undefined;
    }
    return l;
  }

  /** Takes `scope` for `holder`; the same holder renews. `jobs`: for vm:NAME, a running job refuses it. */
  acquire(scope: string, holder: string, op: string, ttlMs: number, caller: string, jobs: Iterable<BusyJob> = []): Lease {
    if (scope === '' || holder === '') throw new XmlRpcFault(1004, 'lease.acquire needs a scope and a holder (who you are, e.g. "alice@ws1 vem balance")');
    const t = this.now();
    const cur = this.live(scope);
    if (cur && cur.holder !== holder) {
      throw new XmlRpcFault(LEASE_HELD, `${scope} is held by ${cur.holder} (${cur.op}) since ${clock(cur.since)}, from ${cur.caller}; it expires at ${clock(cur.expiresAt)} unless renewed`);
    }
    if (scope.startsWith('vm:')) {
      const j = busyWith(scope.slice(3), jobs);
      if (j) throw new XmlRpcFault(LEASE_HELD, `${scope} is busy: a ${describeJob(j)} is in progress`);
    }
    if (cur) {
      cur.renewedAt = t;
      cur.expiresAt = t + ttlMs;
      cur.op = op;
      return cur;
    }
    const l: Lease = { scope, holder, op, since: t, renewedAt: t, expiresAt: t + ttlMs, token: randomBytes(16).toString('hex'), caller };
    this.byScope.set(scope, l);
    return l;
  }

  private byToken(token: string): Lease | undefined {
    for (const l of this.byScope.values()) if (l.token === token) return this.live(l.scope);
    return undefined;
  }

  renew(token: string, ttlMs: number): Lease {
    const l = this.byToken(token);
    if (!l) throw new XmlRpcFault(NOT_FOUND, 'no such lease: it expired or was released (take it again with lease.acquire)');
    const t = this.now();
    l.renewedAt = t;
    l.expiresAt = t + ttlMs;
    return l;
  }

  /** The lease it gave up, if it was still held. */
  release(token: string): Lease | undefined {
    const l = this.byToken(token);
    if (l) this.byScope.delete(l.scope);
    return l;
  }

  list(): Lease[] {
    for (const s of [...this.byScope.keys()]) this.live(s);
    return [...this.byScope.values()];
  }
}

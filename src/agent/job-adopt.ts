/**
 * Jobs across an agent restart. The running migrations are kept in a small file
 * (written whole, tmp + rename, on every start and end of a job); at start the
 * agent asks libvirt which VMs have an outgoing migration running and adopts
 * each under the id it had (a migration the file does not know gets a new id),
 * and settles the saved ones libvirt no longer runs from where the VM is now.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Hypervisor, MigrateOptions } from '../libvirt/hypervisor.js';
import type { Job, JobManager } from './jobs.js';

interface SavedJob {
  id: string;
  kind: 'migrate';
  vm: string;
  dest: string;
  options: MigrateOptions;
  startedAt: number;
  caller: string;
  cancelRequested: boolean;
}

/** libvirt names it outgoing-migration; the simulated driver migration-out. */
const OUTGOING = new Set(['outgoing-migration', 'migration-out']);

export function saveRunningJobs(file: string, jobs: readonly Job[]): void {
  const running: SavedJob[] = jobs
    .filter((j) => j.kind === 'migrate' && j.status === 'running')
    .map((j) => ({ id: j.id, kind: 'migrate', vm: j.vm, dest: j.dest, options: j.options as MigrateOptions, startedAt: j.startedAt, caller: j.caller, cancelRequested: j.cancelRequested }));
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: 1, jobs: running }) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

/** The saved running jobs; a missing file is none, a corrupt one is none with a message. */
export function loadRunningJobs(file: string): { jobs: SavedJob[]; message?: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { jobs: [] };
    return { jobs: [], message: `cannot read the jobs file ${file}: ${(e as Error).message}` };
  }
  try {
    const v = JSON.parse(text) as { version?: unknown; jobs?: unknown };
    if (v.version !== 1 || !Array.isArray(v.jobs)) throw new Error('not a version-1 jobs file');
    const ok = v.jobs.filter((j): j is SavedJob => typeof j === 'object' && j !== null && typeof (j as SavedJob).id === 'string' && typeof (j as SavedJob).vm === 'string');
    return { jobs: ok };
  } catch (e) {
    return { jobs: [], message: `the jobs file ${file} is unreadable (${(e as Error).message}); running migrations get new ids` };
  }
}

/** Adopts libvirt's running outgoing migrations; returns how many were adopted and settled. */
export async function adoptRunningJobs(hv: Hypervisor, jobs: JobManager, saved: readonly SavedJob[]): Promise<{ adopted: Job[]; settled: Job[] }> {
  const adopted: Job[] = [];
  const known = new Set(jobs.list().filter((j) => j.status === 'running').map((j) => j.vm));
  for (const d of await hv.listDomains({ active: true, inactive: false })) {
    if (known.has(d.name)) continue;
    const s = await hv.jobStats(d.name).catch(() => undefined);
    if (!s || s.type === 'none' || !OUTGOING.has(s.operation ?? '')) continue;
    const was = saved.find((j) => j.vm === d.name);
    const job: Job = {
      id: was?.id ?? `job-adopted-${Date.now().toString(36)}-${d.name}`,
      kind: 'migrate',
      vm: d.name,
      dest: was?.dest ?? 'unknown (started before this agent, not by it)',
      options: was?.options ?? {},
      status: 'running',
      startedAt: was?.startedAt ?? Date.now() - (s.timeElapsedMs ?? 0),
      progress: s,
      progressAt: Date.now(),
      cancelRequested: was?.cancelRequested ?? false,
      caller: was?.caller ?? 'unknown',
    };
    jobs.adopt(hv, job);
    adopted.push(job);
  }
  const settled: Job[] = [];
  for (const w of saved) {
    if (adopted.some((j) => j.id === w.id) || jobs.get(w.id)) continue;
    const job: Job = { ...w, status: 'running' };
    await jobs.settleUnwatched(hv, job, 'the migration ended while the agent was down');
    settled.push(job);
  }
  return { adopted, settled };
}

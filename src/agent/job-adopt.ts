/**
 * Jobs across an agent restart. The running migrations are kept in a small file
 * (written whole, tmp + rename, on every start and end of a job); at start the
 * agent asks libvirt which VMs have an outgoing migration running and adopts
 * each under the id it had (a migration the file does not know gets a new id),
 * and settles the saved ones libvirt no longer runs from where the VM is now.
 *
 * Version 2 of the file adds each migration's storage: the target volumes it made
 * and the URI it made them through, so that an adopted (or settled) migration that
 * fails or is cancelled removes them as the agent that started it would have, or
 * reports each one left with why. A version-1 file still loads (no storage known).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Hypervisor, MigrateOptions } from '../libvirt/hypervisor.js';
import type { Job, JobManager } from './jobs.js';
import { openTargetLibvirt, resumedSteps, type MigrationStorage, type OpenTarget, type TargetVolume } from './migrate-target.js';

/** A migration's disk work as saved: its job.get storage, and the target libvirt URI its volumes were made through. */
export interface SavedStorage {
  uri: string;
  state: MigrationStorage;
}

export interface SavedJob {
  id: string;
  kind: 'migrate';
  vm: string;
  dest: string;
  options: MigrateOptions;
  startedAt: number;
  caller: string;
  cancelRequested: boolean;
  /** Version 2: absent for a migration without storage steps, and in a version-1 file. */
  storage?: SavedStorage;
}

const VERSION = 2;

/** libvirt names it outgoing-migration; the simulated driver migration-out. */
const OUTGOING = new Set(['outgoing-migration', 'migration-out']);

/** The running migrations as the file keeps them (pure). */
export function savedJobs(jobs: readonly Job[]): SavedJob[] {
  return jobs
    .filter((j) => j.kind === 'migrate' && j.status === 'running')
    .map((j) => ({
      id: j.id, kind: 'migrate', vm: j.vm, dest: j.dest, options: j.options as MigrateOptions, startedAt: j.startedAt, caller: j.caller, cancelRequested: j.cancelRequested,
      // The volumes are made through the destination URI itself (migrate-target.ts opens it).
      ...(j.storage ? { storage: { uri: j.dest, state: structuredClone(j.storage) } } : {}),
    }));
}

export function saveRunningJobs(file: string, jobs: readonly Job[]): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: VERSION, jobs: savedJobs(jobs) }) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isVolume = (x: unknown): x is TargetVolume => isObj(x) && typeof x.pool === 'string' && typeof x.volume === 'string' && (x.path === undefined || typeof x.path === 'string');

/** A saved storage block, checked where the clean-up reads it (the volume lists); undefined when it is not one. */
function savedStorage(x: unknown): SavedStorage | undefined {
  if (!isObj(x) || typeof x.uri !== 'string' || !isObj(x.state)) return undefined;
  const s = x.state;
  const vols = (v: unknown): boolean => Array.isArray(v) && v.every(isVolume);
  if (typeof s.mode !== 'string' || !Array.isArray(s.disks) || !vols(s.created) || !vols(s.removed)) return undefined;
  if (!Array.isArray(s.leftover) || !s.leftover.every((l) => isVolume(l) && typeof (l as { error?: unknown }).error === 'string')) return undefined;
  return { uri: x.uri, state: s as unknown as MigrationStorage };
}

/**
 * The jobs of a jobs file's text (pure): version 1 (no storage) or 2. A job whose storage
 * block is damaged loads without it and is named in `message` (its volumes are then unknown).
 */
export function parseJobsFile(text: string): { jobs: SavedJob[]; message?: string } {
  const v = JSON.parse(text) as { version?: unknown; jobs?: unknown };
  if ((v.version !== 1 && v.version !== VERSION) || !Array.isArray(v.jobs)) throw new Error(`not a version-1 or -${VERSION} jobs file`);
  const ok = v.jobs.filter((j): j is SavedJob => isObj(j) && typeof j.id === 'string' && typeof j.vm === 'string');
  const damaged: string[] = [];
  const jobs = ok.map((j) => {
    if (v.version === 1 || j.storage === undefined) {
      const { storage: _, ...rest } = j;
      return rest;
    }
    const s = savedStorage(j.storage);
    if (s) return { ...j, storage: s };
    damaged.push(j.id);
    const { storage: _, ...rest } = j;
    return rest;
  });
  return damaged.length > 0 ? { jobs, message: `the saved storage of ${damaged.join(', ')} is unreadable: the target volumes those migrations made are not known to this agent` } : { jobs };
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
    const r = parseJobsFile(text);
    return r.message !== undefined ? { jobs: r.jobs, message: `${file}: ${r.message}` } : r;
  } catch (e) {
    return { jobs: [], message: `the jobs file ${file} is unreadable (${(e as Error).message}); running migrations get new ids` };
  }
}

/** Adopts libvirt's running outgoing migrations; returns how many were adopted and settled. */
export async function adoptRunningJobs(hv: Hypervisor, jobs: JobManager, saved: readonly SavedJob[], open: OpenTarget = openTargetLibvirt): Promise<{ adopted: Job[]; settled: Job[] }> {
  const steps = (w: SavedJob | undefined) => (w?.storage ? resumedSteps(structuredClone(w.storage.state), w.storage.uri, open) : undefined);
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
    jobs.adopt(hv, job, steps(was));
    adopted.push(job);
  }
  const settled: Job[] = [];
  for (const w of saved) {
    if (adopted.some((j) => j.id === w.id) || jobs.get(w.id)) continue;
    const { storage: _, ...rest } = w;
    const job: Job = { ...rest, status: 'running' };
    await jobs.settleUnwatched(hv, job, 'the migration ended while the agent was down', steps(w));
    settled.push(job);
  }
  return { adopted, settled };
}

/**
 * Every long job in one list for the tasks view: live migrations (the command
 * layer follows them with job.get), clones with their volume copies and
 * provisioning jobs with their steps (the management store follows those),
 * running ones first, then the recent ones.
 * Pure: it reads what the followers keep; cancelling goes through the host.
 */
import type { Job } from '../../api/types.js';
import type { Migration } from '../commands/index.js';
import type { CloneFollow, ProvisionFollow } from './manage.js';

export interface LongJob {
  kind: 'migration' | 'clone' | 'provision';
  /** The agent's job id and the node that runs it (job.cancel goes there). */
  node: string;
  job: string;
  /** The VM key it concerns (a clone's source VM). */
  vmKey: string;
  label: string;
  state: 'running' | 'completed' | 'failed' | 'cancelled';
  /** 0..100 when known. */
  percent?: number;
  /** Progress in words: bytes copied, volumes done. */
  detail: string;
  error?: string;
  startedAt: number;
  /** A provisioning job's last job.get answer (its steps, drawn under the list when selected). */
  provision?: Job;
}

function pctOf(done: number | undefined, total: number | undefined): number | undefined {
  return done !== undefined && total !== undefined && total > 0 ? Math.min(100, (100 * done) / total) : undefined;
}

function mib(b: number | undefined): string {
  return b === undefined ? '?' : `${Math.round(b / 1048576)} MiB`;
}

/** A provisioning job's steps in words: "disk, seed done; now define". */
export function provisionProgressText(j: Job): string {
  const steps = j.provision?.steps ?? [];
  const done = steps.filter((s) => s.done).map((s) => s.step);
  const now = steps.find((s) => !s.done)?.step;
  return `${done.join(', ') || 'nothing'} done${j.status === 'running' && now !== undefined ? `; now ${now}` : ''}`;
}

/** The jobs, running first, newest first within each; at most `limit`. */
export function longJobs(migrations: Iterable<Migration>, clones: Iterable<CloneFollow>, provisions: Iterable<ProvisionFollow> = [], limit = 50): LongJob[] {
  const out: LongJob[] = [];
  for (const m of migrations) {
    const j = m.job;
    const percent = pctOf(j.dataProcessed ?? j.memProcessed, j.dataTotal ?? j.memTotal);
    out.push({
      kind: 'migration', node: m.from, job: m.id, vmKey: m.vmKey, label: `migrate ${m.vm} ${m.from} -> ${m.to} (${m.live ? 'live' : 'offline'})`,
      state: j.state, ...(percent !== undefined ? { percent } : {}),
      detail: j.dataTotal !== undefined ? `${mib(j.dataProcessed)} of ${mib(j.dataTotal)} sent` : '',
      ...(j.error ? { error: j.error } : {}), startedAt: m.startedAt,
    });
  }
  for (const c of clones) {
    const done = c.volumes.filter((v) => v.done).length;
    const percent = c.percent > 0 ? c.percent : pctOf(c.bytesDone, c.bytesTotal);
    out.push({
      kind: 'clone', node: c.node, job: c.job, vmKey: `${c.node}/${c.source}`, label: `clone ${c.source} as ${c.name} on ${c.node}`,
      state: c.state, ...(percent !== undefined ? { percent } : {}),
      detail: `volumes ${done}/${c.volumes.length} copied${c.bytesTotal > 0 ? `, ${mib(c.bytesDone)} of ${mib(c.bytesTotal)}` : ''}`,
      ...(c.error ? { error: c.error } : {}), startedAt: c.startedAt,
    });
  }
  for (const p of provisions) {
    const j = p.job;
    const steps = j?.provision?.steps ?? [];
    const percent = steps.length > 0 ? (100 * steps.filter((s) => s.done).length) / steps.length : undefined;
    const error = p.lost ?? (j && j.status !== 'running' && j.status !== 'completed' ? (j.reason ?? 'no reason given') : undefined);
    out.push({
      kind: 'provision', node: p.node, job: p.id, vmKey: `${p.node}/${p.name}`, label: `provision ${p.name} from ${p.template} on ${p.node}`,
      state: j?.status ?? 'running', ...(percent !== undefined ? { percent } : {}),
      detail: j ? `${provisionProgressText(j)}${p.by === 'events' ? ` (started elsewhere, by ${j.caller || 'another client'})` : ''}` : 'starting',
      ...(error !== undefined ? { error } : {}), startedAt: p.startedAt, ...(j ? { provision: j } : {}),
    });
  }
  out.sort((a, b) => Number(b.state === 'running') - Number(a.state === 'running') || b.startedAt - a.startedAt);
  return out.slice(0, limit);
}

/**
 * Every long job in one list for the tasks view: live migrations (the command
 * layer follows them with job.get) and clones with their volume copies (the
 * management store follows those), running ones first, then the recent ones.
 * Pure: it reads what the followers keep; cancelling goes through the host.
 */
import type { Migration } from '../commands/index.js';
import type { CloneFollow } from './manage.js';

export interface LongJob {
  kind: 'migration' | 'clone';
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
}

function pctOf(done: number | undefined, total: number | undefined): number | undefined {
  return done !== undefined && total !== undefined && total > 0 ? Math.min(100, (100 * done) / total) : undefined;
}

function mib(b: number | undefined): string {
  return b === undefined ? '?' : `${Math.round(b / 1048576)} MiB`;
}

/** The jobs, running first, newest first within each; at most `limit`. */
export function longJobs(migrations: Iterable<Migration>, clones: Iterable<CloneFollow>, limit = 50): LongJob[] {
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
  out.sort((a, b) => Number(b.state === 'running') - Number(a.state === 'running') || b.startedAt - a.startedAt);
  return out.slice(0, limit);
}

/** Pure sorting and filtering of the guest browser's process list. */
import type { ProcessRow } from '../store/manage-decode.js';

export const PROC_SORTS = ['cpu', 'rss', 'pid', 'user', 'command'] as const;
export type ProcSort = (typeof PROC_SORTS)[number];

/** Every word must appear in the pid, user or command ("www nginx"); "!word" excludes. */
export function processMatches(p: ProcessRow, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  if (f === '') return true;
  const hay = `${p.pid} ${p.user} ${p.name} ${p.command}`.toLowerCase();
  return f.split(/\s+/).every((w) => (w.startsWith('!') ? !hay.includes(w.slice(1)) : hay.includes(w)));
}

/** Figures biggest first, text A-Z, ties by pid; `reverse` flips the whole order. */
export function selectProcesses(all: readonly ProcessRow[], filter: string, sort: ProcSort, reverse: boolean): ProcessRow[] {
  const rows = all.filter((p) => processMatches(p, filter));
  const cmp = (a: ProcessRow, b: ProcessRow): number => {
    switch (sort) {
      case 'cpu':
        return b.cpuPct - a.cpuPct;
      case 'rss':
        return b.rssKiB - a.rssKiB;
      case 'pid':
        return a.pid - b.pid;
      case 'user':
        return a.user.localeCompare(b.user);
      case 'command':
        return a.command.localeCompare(b.command);
    }
  };
  rows.sort((a, b) => {
    const c = cmp(a, b) || a.pid - b.pid;
    return reverse ? -c : c;
  });
  return rows;
}

/** The snapshot dialog's rows: name, when it was taken, the VM's state then, and which is current. Pure. */
import type { Snapshot } from '../../api/types.js';

/** "2026-12-02 06:50" in UTC (the agent's clock and the admin's may differ; UTC says which). */
export function snapshotTime(sec: number | undefined): string {
  if (sec === undefined || !Number.isFinite(sec)) return '-';
  return `${new Date(sec * 1000).toISOString().slice(0, 16).replace('T', ' ')}Z`;
}

/** One line per name; with details: NAME  TAKEN  STATE  (current), the names padded to one width. */
export function snapshotRows(names: readonly string[], details: readonly Snapshot[] | undefined): string[] {
  if (!details) return [...names];
  const by = new Map(details.map((d) => [d.name, d]));
  const w = Math.min(32, Math.max(8, ...names.map((n) => n.length)));
  return names.map((n) => {
    const d = by.get(n);
    const name = n.length > w ? `${n.slice(0, w - 1)}~` : n.padEnd(w);
    return `${name}  ${snapshotTime(d?.creationTime).padEnd(17)}  ${(d?.state ?? '-').padEnd(8)}${d?.current ? '  current' : ''}`;
  });
}

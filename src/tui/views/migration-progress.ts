/**
 * A migration's disk copy and memory copy as two amounts. libvirt's data_* fields
 * count the disks and the memory together, so the memory line reads memory_*
 * only; data_* stands in for it only when no disk is being copied (then the two
 * are the same). Pure.
 */
import type { WireJob } from '../store/decode.js';

export interface CopyAmounts {
  memory: { sent?: number; remaining?: number; total?: number };
  /** Present when libvirt copies disks in this migration. */
  disk?: { copied: number; remaining: number; total: number };
}

export function copyAmounts(j: WireJob): CopyAmounts {
  const diskTotal = j.diskTotal ?? 0;
  if (diskTotal > 0) {
    const copied = j.diskProcessed ?? 0;
    return {
      memory: { sent: j.memProcessed, remaining: j.memRemaining, total: j.memTotal },
      disk: { copied, remaining: j.diskRemaining ?? Math.max(0, diskTotal - copied), total: diskTotal },
    };
  }
  return { memory: { sent: j.memProcessed ?? j.dataProcessed, remaining: j.memRemaining ?? j.dataRemaining, total: j.memTotal ?? j.dataTotal } };
}

/** The disk line (undefined without a disk copy) and what a failed or cancelled one removed from the target. */
export function diskCopyLine(j: WireJob, fmt: (n: number | undefined) => string): string | undefined {
  const d = copyAmounts(j).disk;
  const s = j.storage;
  const undo = s && (s.removed.length > 0 || s.leftover.length > 0)
    ? `  target volumes removed: ${s.removed.map((v) => v.volume).join(', ') || 'none'}${s.leftover.length > 0 ? `; LEFT on the target: ${s.leftover.map((v) => `${v.pool}/${v.volume} (${v.error})`).join(', ')}` : ''}`
    : '';
  if (!d) return undo ? undo.trim() : undefined;
  return `disks ${fmt(d.copied)} of ${fmt(d.total)} copied, ${fmt(d.remaining)} left${undo}`;
}

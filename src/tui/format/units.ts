/** Pure number formatting for the dashboard: bytes, rates, percentages, durations. */

const UNITS = ['B', 'K', 'M', 'G', 'T', 'P'];

/** 1536 -> "1.5K", 0 -> "0B"; binary units, at most 4 significant characters before the unit. */
export function fmtBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  if (n < 0) return '-' + fmtBytes(-n);
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const unit = UNITS[i] ?? 'B';
  if (i === 0) return `${Math.round(v)}${unit}`;
  return v >= 100 ? `${Math.round(v)}${unit}` : v >= 10 ? `${v.toFixed(1).replace(/\.0$/, '')}${unit}` : `${v.toFixed(1)}${unit}`;
}

export function fmtKiB(kib: number | undefined): string {
  return kib === undefined ? '-' : fmtBytes(kib * 1024);
}

/** Bytes per second: "1.2M/s". */
export function fmtRate(bps: number | undefined): string {
  if (bps === undefined || !Number.isFinite(bps)) return '-';
  return `${fmtBytes(bps)}/s`;
}

/** 0..100 (may exceed 100 for multi-vCPU CPU time) -> "42%"; one decimal under 10. */
export function fmtPct(p: number | undefined): string {
  if (p === undefined || !Number.isFinite(p)) return '-';
  if (p > 0 && p < 10) return `${p.toFixed(1)}%`;
  return `${Math.round(p)}%`;
}

/** Milliseconds -> "850ms", "12.3s", "4m05s", "2h03m". */
export function fmtDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** "12/32G" style used/total pair in the total's unit ("0.5/32G", never a wrong "512/32G"). */
export function fmtUsedTotal(usedKiB: number | undefined, totalKiB: number | undefined): string {
  if (usedKiB === undefined || totalKiB === undefined) return '-';
  const total = fmtKiB(totalKiB);
  const unit = total.slice(-1);
  const i = UNITS.indexOf(unit);
  if (i <= 0) return `${fmtKiB(usedKiB)}/${total}`;
  const u = (usedKiB * 1024) / 1024 ** i;
  return `${u >= 10 ? Math.round(u) : u.toFixed(1)}/${total}`;
}

/** Percentage of a part, guarding zero totals. */
export function pct(part: number, total: number): number {
  return total > 0 ? (100 * part) / total : 0;
}

/** Text rendering of simulator results: a table per trace, and the JSON line. */
import type { SimMetrics } from './simulator.js';

export const METRIC_NAMES: ReadonlyArray<keyof SimMetrics> = ['sla_violation', 'unmet_cpu', 'cv', 'migrations', 'gb_moved', 'plan_ms_p99', 'slatah', 'pdm', 'slav'];

function fmt(k: keyof SimMetrics, v: number): string {
  if (k === 'migrations') return String(v);
  if (k === 'sla_violation' || k === 'cv') return v.toFixed(4);
  if (k === 'plan_ms_p99') return v.toFixed(2);
  if (k === 'slatah') return v.toFixed(5);
  if (k === 'pdm' || k === 'slav') return v.toExponential(2);
  return v.toFixed(1);
}

export function metricsTable(title: string, rows: Record<string, SimMetrics>): string {
  const names = Object.keys(rows);
  const head = ['policy', ...METRIC_NAMES];
  const body = names.map((n) => [n, ...METRIC_NAMES.map((k) => fmt(k, (rows[n] as SimMetrics)[k]))]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] as string).length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [title, line(head), ...body.map(line)].join('\n');
}

/** Round for the JSON line so it stays short and stable. */
export function roundMetrics(m: SimMetrics): SimMetrics {
  const r = (x: number, d: number): number => Number(x.toFixed(d));
  return {
    sla_violation: r(m.sla_violation, 5),
    unmet_cpu: r(m.unmet_cpu, 1),
    cv: r(m.cv, 5),
    migrations: m.migrations,
    gb_moved: r(m.gb_moved, 2),
    plan_ms_p99: r(m.plan_ms_p99, 3),
    slatah: r(m.slatah, 6),
    pdm: r(m.pdm, 8),
    slav: Number(m.slav.toPrecision(4)),
  };
}

/**
 * One table of every policy on every trace (rows trace x policy, columns every metric), with
 * the sums last: the per-trace tables above it say the same, but side by side a loss on one
 * trace is not hidden by a win in the sum.
 */
export function summaryTable(traces: ReadonlyArray<{ trace: string; rows: Record<string, SimMetrics> }>, sums: Record<string, SimMetrics>): string {
  const head = ['trace', 'policy', ...METRIC_NAMES];
  const body: string[][] = [];
  for (const t of [...traces, { trace: 'sum', rows: sums }]) {
    for (const [n, m] of Object.entries(t.rows)) body.push([t.trace, n, ...METRIC_NAMES.map((k) => fmt(k, m[k]))]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] as string).length)));
  const line = (r: string[]): string => r.map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return ['summary: every policy on every trace (sum: plan_ms_p99 is the worst)', line(head), ...body.map(line)].join('\n');
}

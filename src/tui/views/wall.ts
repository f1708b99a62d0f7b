/**
 * Wall mode on a large terminal (from 140x40): the whole screen for the cluster.
 * Left, a chart per node (CPU over time, memory bar) and the hottest VMs; right,
 * the level-2 balancer's state (automatic mode, imbalance, the moves it would
 * make, its latest decisions) and the latest cluster events. Smaller terminals
 * keep the tile wall (panels.ts wallLines). Pure: it draws what it is given.
 */
import { isActive, type ClusterTotals, type NodeRecord, type VmRecord } from '../store/model.js';
import type { LoggedEvent } from '../store/events.js';
import { fmtPct, fmtUsedTotal, pct } from '../format/units.js';
import { cell, escapeTags } from '../format/text.js';
import { bar, lineChart, sparkline, type Glyphs } from '../format/chart.js';
import { hypervisorLabel } from './tables.js';
import { eventRow } from './events.js';
import type { Theme } from './theme.js';

/** From this size on the wall uses the room; below it, the tile wall. */
export const BIG_WALL = { width: 140, height: 40 };

/** What the wall shows of level 2 (from the balancer center, read by the page). */
export interface WallBalance {
  auto: boolean;
  /** The balancer's imbalance (stddev of node CPU, 0..1), when a plan has been made. */
  imbalance?: number;
  moves: string[];
  decisions: Array<{ at: number; taken: boolean; text: string }>;
  error?: string;
}

function nodeTile(n: NodeRecord, w: number, h: number, theme: Theme, glyphs: Glyphs): string[] {
  const memP = n.memUsedKiB !== undefined && n.memTotalKiB ? pct(n.memUsedKiB, n.memTotalKiB) : 0;
  const head = cell(`${n.name} ${n.link === 'up' ? '' : `[${n.link}] `}${hypervisorLabel(n)} ${n.running}/${n.vmCount} VMs  cpu ${fmtPct(n.cpuPct)}`, w);
  const chart = lineChart(n.cpuHist.values(glyphs === 'unicode' ? w * 2 : w), { width: w, height: Math.max(1, h - 3), max: 100, glyphs });
  const mem = cell(`mem ${cell(fmtPct(memP), 5, 'right')} ${bar(memP / 100, Math.max(4, w - 11), glyphs)}`, w);
  const lines = [n.link === 'up' ? theme.head(escapeTags(head)) : theme.bad(escapeTags(head)), ...chart.map((l) => escapeTags(cell(l, w))), escapeTags(mem)];
  while (lines.length < h - 1) lines.push(' '.repeat(w));
  return [...lines.slice(0, h - 1), ' '.repeat(w)];
}

function balanceLines(b: WallBalance, w: number, rows: number, theme: Theme): string[] {
  const out = [theme.head(cell('level 2: balancing between nodes', w))];
  const state = `automatic ${b.auto ? 'ON' : 'off'}  imbalance ${b.imbalance !== undefined ? fmtPct(b.imbalance * 100) : '-'}  moves ${b.moves.length}`;
  out.push(b.auto ? theme.warn(escapeTags(cell(state, w))) : escapeTags(cell(state, w)));
  if (b.error) out.push(theme.bad(escapeTags(cell(b.error, w))));
  if (b.moves.length === 0) out.push(theme.dim(cell('  no move recommended now', w)));
  for (const m of b.moves.slice(0, 5)) out.push(escapeTags(cell(`  ${m}`, w)));
  if (b.decisions.length > 0) out.push(theme.dim(cell('latest decisions', w)));
  for (const d of b.decisions.slice(0, 4)) {
    const line = escapeTags(cell(`  ${new Date(d.at).toISOString().slice(11, 19)} ${d.taken ? 'taken' : 'declined'} ${d.text}`, w));
    out.push(d.taken ? theme.ok(line) : theme.bad(line));
  }
  return out.slice(0, rows);
}

/** The hottest running VMs, in as many columns of 40 as the width takes. */
function hottest(vms: VmRecord[], w: number, rows: number, glyphs: Glyphs): string[] {
  if (rows <= 0) return [];
  const colW = 40;
  const per = Math.max(1, Math.floor(w / colW));
  const top = vms
    .filter((v) => v.cpuPct !== undefined && isActive(v.state))
    .sort((a, b) => (b.cpuPct ?? 0) - (a.cpuPct ?? 0) || a.name.localeCompare(b.name, 'en', { numeric: true }))
    .slice(0, per * rows);
  const n = Math.ceil(top.length / per);
  const out: string[] = [];
  for (let r = 0; r < n; r++) {
    const cells: string[] = [];
    for (let c = 0; c < per; c++) {
      const vm = top[c * n + r];
      if (vm) cells.push(cell(`${cell(vm.name, 14)} ${cell(vm.node, 8)} ${cell(fmtPct(vm.cpuPct), 5, 'right')} ${sparkline(vm.cpuHist.values(9), 9, 100, glyphs)}`, colW - 1));
    }
    out.push(escapeTags(cells.join(' ')));
  }
  return out;
}

export function bigWallLines(
  t: ClusterTotals,
  nodes: NodeRecord[],
  vms: VmRecord[],
  balance: WallBalance,
  /** Newest first; undefined on a frozen screen (events carry wall-clock times). */
  events: LoggedEvent[] | undefined,
  width: number,
  height: number,
  theme: Theme,
  glyphs: Glyphs,
  clock: string,
): string[] {
  const head = [
    theme.head(escapeTags(cell(`ve-manager wall${t.simulated ? '  SIMULATED' : ''}  nodes ${t.nodesUp}/${t.nodes}  VMs ${t.running}/${t.vms}  CPU ${fmtPct(t.cpuPct)}  mem ${fmtUsedTotal(t.memUsedKiB, t.memTotalKiB)}${balance.auto ? '  AUTO-BALANCE' : ''}${clock ? `  ${clock}` : ''}`, width))),
    escapeTags(cell(`cluster CPU ${bar(t.cpuPct / 100, Math.floor(width / 2) - 14, glyphs)}  mem ${bar(pct(t.memUsedKiB, t.memTotalKiB) / 100, Math.floor(width / 2) - 14, glyphs)}`, width)),
  ];
  const body = height - head.length - 1;
  const R = Math.min(72, Math.floor(width * 0.36));
  const L = width - R - 2;
  // Node charts take about two thirds of the left column; the hottest VMs the rest.
  const cols = Math.max(1, Math.floor(L / 44));
  const tileW = Math.floor((L - (cols - 1)) / cols);
  const tileRows = Math.ceil(nodes.length / cols);
  const chartArea = Math.floor(body * 0.66);
  const tileH = Math.max(5, Math.min(14, Math.floor(chartArea / Math.max(1, tileRows))));
  const fitRows = Math.max(1, Math.floor(chartArea / tileH));
  const shown = nodes.slice(0, fitRows * cols);
  const left: string[] = [];
  for (let r = 0; r * cols < shown.length; r++) {
    const tiles = shown.slice(r * cols, r * cols + cols).map((n) => nodeTile(n, tileW, tileH, theme, glyphs));
    for (let i = 0; i < tileH; i++) left.push(tiles.map((tl) => tl[i] ?? '').join(' '));
  }
  if (shown.length < nodes.length) left.push(theme.dim(`... and ${nodes.length - shown.length} more nodes`));
  left.push(theme.head(cell('hottest VMs', L)));
  left.push(...hottest(vms, L, body - left.length, glyphs));

  const right = balanceLines(balance, R, Math.floor(body * 0.4), theme);
  right.push(' '.repeat(R), theme.head(cell('latest events', R)));
  if (!events) right.push(theme.dim(cell('  not shown on a frozen screen', R)));
  else if (events.length === 0) right.push(theme.dim(cell('  none yet', R)));
  for (const e of (events ?? []).slice(0, Math.max(0, body - right.length))) right.push(eventRow(e, R, theme));

  const out = [...head];
  for (let i = 0; i < body; i++) {
    // Tags make a line's length differ from its width: pad the left by its visible text.
    const l = left[i] ?? '';
    const pad = Math.max(0, L - visibleLength(l));
    out.push(`${l}${' '.repeat(pad)}  ${right[i] ?? ''}`);
  }
  return out.concat(theme.dim(cell('wall mode: refreshes by itself; Esc or w returns', width)));
}

/** A tagged line's length on screen (blessed tags are not drawn). */
function visibleLength(s: string): number {
  return s.replace(/\{(open|close)\}/g, '.').replace(/\{\/?[a-z-]+\}/g, '').length;
}

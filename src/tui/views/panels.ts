/** Pure renderers for the detail charts, the wall mode, and the dialogs' bodies. */
import { isActive, type ClusterTotals, type NodeRecord, type VmRecord } from '../store/model.js';
import type { Migration, Task } from '../commands/index.js';
import type { Fit } from '../commands/plan.js';
import { fmtBytes, fmtDuration, fmtKiB, fmtPct, fmtRate, fmtUsedTotal, pct } from '../format/units.js';
import { cell, escapeTags } from '../format/text.js';
import { bar, lineChart, sparkline, type Glyphs } from '../format/chart.js';
import { hypervisorLabel } from './tables.js';
import { stateColour, type Theme } from './theme.js';
import type { Ring } from '../store/ring.js';
import type { Level1Change, Level1Seen } from '../store/level1.js';
import type { LongJob } from '../store/tasks.js';
import { copyAmounts, diskCopyLine } from './migration-progress.js';

interface ChartSpec {
  title: string;
  ring: Ring;
  max?: number;
  fmt: (v: number | undefined) => string;
}

/** One chart block: a title line with the current value and scale, then the plot. */
function chartBlock(c: ChartSpec, w: number, h: number, glyphs: Glyphs): string[] {
  const vals = c.ring.values(glyphs === 'unicode' ? w * 2 : w);
  const max = c.max ?? Math.max(1, ...vals);
  const title = `${c.title} ${c.fmt(c.ring.last())}  (max ${c.fmt(max)})`;
  return [cell(title, w), ...lineChart(vals, { width: w, height: Math.max(1, h - 1), max, glyphs })];
}

/** Lay chart blocks out in `cols` columns of equal width. */
function chartGrid(specs: ChartSpec[], width: number, height: number, glyphs: Glyphs): string[] {
  const cols = width >= 100 ? 2 : 1;
  const rows = Math.ceil(specs.length / cols);
  const w = Math.floor((width - (cols - 1) * 2) / cols);
  const h = Math.max(2, Math.floor(height / rows));
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    const blocks = specs.slice(r * cols, r * cols + cols).map((s) => chartBlock(s, w, h, glyphs).map(escapeTags));
    for (let i = 0; i < h; i++) out.push(blocks.map((b) => b[i] ?? ' '.repeat(w)).join('  '));
  }
  return out;
}

export function vmDetailLines(vm: VmRecord, node: NodeRecord | undefined, mig: Migration | undefined, width: number, height: number, theme: Theme, glyphs: Glyphs): string[] {
  const head = [
    theme.head(escapeTags(cell(`VM ${vm.name} on ${vm.node}${node?.host?.simulated ? ' (SIMULATED)' : ''}`, width))),
    `state ${stateColour(theme, vm.state, vm.state)}  vCPUs ${vm.vcpus}  memory ${fmtKiB(vm.memKiB)} (max ${fmtKiB(vm.maxMemKiB)})  CPU ${fmtPct(vm.cpuPct)}  mem ${fmtPct(vm.memPct)}`,
    escapeTags(cell(`disk ${fmtRate(vm.diskRdBps)} read ${fmtRate(vm.diskWrBps)} write  net ${fmtRate(vm.netRxBps)} rx ${fmtRate(vm.netTxBps)} tx  uuid ${vm.uuid}`, width)),
  ];
  if (mig) head.push(...migrationLines(mig, width, theme, glyphs).slice(0, 3));
  const charts: ChartSpec[] = [
    { title: 'CPU %', ring: vm.cpuHist, max: 100, fmt: fmtPct },
    { title: 'memory %', ring: vm.memHist, max: 100, fmt: fmtPct },
    { title: 'disk', ring: vm.diskHist, fmt: fmtRate },
    { title: 'net', ring: vm.netHist, fmt: fmtRate },
  ];
  return [...head, ...chartGrid(charts, width, height - head.length - 1, glyphs), theme.dim('Esc back  m migrate  c console  n snapshots  v vCPUs  M memory')];
}

export function nodeDetailLines(n: NodeRecord, vms: VmRecord[], width: number, height: number, theme: Theme, glyphs: Glyphs): string[] {
  const head = [
    theme.head(escapeTags(cell(`node ${n.name}  ${hypervisorLabel(n)}  link ${n.link}${n.host ? `  host ${n.host.hostname}  ${n.host.cpus} CPUs  uri ${n.host.uri}` : ''}`, width))),
    escapeTags(cell(`CPU ${fmtPct(n.cpuPct)}  memory ${fmtUsedTotal(n.memUsedKiB, n.memTotalKiB)}  VMs ${n.running}/${n.vmCount} running, ${n.vmVcpus} vCPUs, ${fmtKiB(n.vmMemKiB)} assigned${n.error ? `  error: ${n.error}` : ''}`, width)),
  ];
  if (n.link !== 'up' && n.linkDetail) head.push(theme.bad(escapeTags(cell(`link ${n.link}: ${n.linkDetail}`, width))));
  const chartH = Math.max(4, Math.floor((height - head.length) / 2));
  const charts = chartGrid(
    [
      { title: 'CPU %', ring: n.cpuHist, max: 100, fmt: fmtPct },
      { title: 'memory %', ring: n.memHist, max: 100, fmt: fmtPct },
    ],
    width,
    width >= 100 ? chartH : chartH * 2,
    glyphs,
  );
  const top = vms
    .slice()
    .sort((a, b) => (b.cpuPct ?? -1) - (a.cpuPct ?? -1) || a.name.localeCompare(b.name, 'en', { numeric: true }))
    .slice(0, Math.max(0, height - head.length - charts.length - 2))
    .map((vm) => escapeTags(cell(`  ${cell(vm.name, 20)} ${cell(vm.state, 9)} CPU ${cell(fmtPct(vm.cpuPct), 5, 'right')}  mem ${cell(fmtKiB(vm.memKiB), 6, 'right')}`, width)));
  return [...head, ...charts, theme.head('busiest VMs'), ...top, theme.dim('Esc back  E evacuate')].slice(0, height);
}

function l1Value(what: string, v: number | undefined): string {
  if (v === undefined) return '?';
  return what === 'balloon' ? fmtKiB(v) : what === 'quota' ? `${v}us` : String(v);
}

/**
 * The node view's level-1 part: on or off, its settings, the last tick, and the
 * recent adjustments (before -> after, with the planner's reason), newest first.
 */
export function level1Lines(seen: Level1Seen | undefined, changes: Level1Change[], width: number, rows: number, theme: Theme): string[] {
  const s = seen?.status;
  const head = s
    ? `level 1 (between this node's VMs): ${s.enabled ? 'ON' : 'off'}  caps ${s.caps ? 'on' : 'off'}  pressure below ${fmtPct(s.pressureFree * 100)} free${s.memBudgetKiB !== undefined ? `  memory budget ${fmtKiB(s.memBudgetKiB)}` : ''}  ticks ${s.ticks}  applied ${s.applied}${s.lastTick ? `  last ${s.lastTick.toISOString().slice(11, 19)}` : ''}${s.last ? `  ${s.last.contended ? 'CPU contended' : 'CPU not contended'}${s.last.pressure ? ', memory pressure' : ''}` : ''}`
    : seen?.error ? `level 1: cannot read its state: ${seen.error}` : 'level 1: reading its state...';
  const out = [s?.enabled ? theme.ok(escapeTags(cell(head, width))) : s ? escapeTags(cell(head, width)) : theme.dim(escapeTags(cell(head, width)))];
  if (seen?.error && s) out.push(theme.bad(escapeTags(cell(`level 1: last read failed: ${seen.error}`, width))));
  const err = s?.errors.at(-1);
  if (err) out.push(theme.bad(escapeTags(cell(`  last error ${err.at.toISOString().slice(11, 19)} ${err.vm}: ${err.error}`, width))));
  if (changes.length === 0) out.push(theme.dim(cell(s?.enabled ? '  no adjustment yet in this session' : '  no adjustment in this session (l switches level 1 on)', width)));
  for (const c of changes.slice(0, Math.max(0, rows - out.length))) {
    const t = new Date(c.at).toISOString().slice(11, 19);
    out.push(escapeTags(cell(`  ${t} ${cell(c.vm, 18)} ${cell(c.what, 7)} ${l1Value(c.what, c.before)} -> ${l1Value(c.what, c.after)}  ${c.reason}`, width)));
  }
  return out.slice(0, Math.max(1, rows));
}

/** Wall mode: a tile per node and the busiest VMs, sized to the screen, no keys needed. */
export function wallLines(t: ClusterTotals, nodes: NodeRecord[], vms: VmRecord[], width: number, height: number, theme: Theme, glyphs: Glyphs, clock: string): string[] {
  const out: string[] = [];
  // SIMULATED first, so a narrow wall still says it.
  out.push(theme.head(escapeTags(cell(`ve-manager wall${t.simulated ? '  SIMULATED' : ''}  nodes ${t.nodesUp}/${t.nodes}  VMs ${t.running}/${t.vms}  CPU ${fmtPct(t.cpuPct)}  mem ${fmtUsedTotal(t.memUsedKiB, t.memTotalKiB)}${clock ? `  ${clock}` : ''}`, width))));
  out.push(escapeTags(`cluster CPU ${bar(t.cpuPct / 100, Math.max(10, Math.floor(width / 2) - 14), glyphs)}  mem ${bar(pct(t.memUsedKiB, t.memTotalKiB) / 100, Math.max(10, Math.floor(width / 2) - 14), glyphs)}`).slice(0, width * 3));
  const tileW = 38;
  const perRow = Math.max(1, Math.floor((width + 1) / (tileW + 1)));
  const tileH = 3;
  const maxTileRows = Math.max(1, Math.floor((height - 4) * 0.6 / tileH));
  const shown = nodes.slice(0, perRow * maxTileRows);
  for (let r = 0; r * perRow < shown.length; r++) {
    const tiles = shown.slice(r * perRow, r * perRow + perRow).map((n) => {
      const memP = n.memUsedKiB !== undefined && n.memTotalKiB ? pct(n.memUsedKiB, n.memTotalKiB) : 0;
      return [
        cell(`${n.name} ${n.link === 'up' ? '' : `[${n.link}] `}${hypervisorLabel(n)} ${n.running}/${n.vmCount} VMs`, tileW),
        cell(`cpu ${cell(fmtPct(n.cpuPct), 5, 'right')} ${sparkline(n.cpuHist.values(tileW - 10), tileW - 10, 100, glyphs)}`, tileW),
        cell(`mem ${cell(fmtPct(memP), 5, 'right')} ${bar(memP / 100, tileW - 10, glyphs)}`, tileW),
      ];
    });
    for (let i = 0; i < tileH; i++) out.push(escapeTags(tiles.map((tl) => tl[i] ?? '').join(' ')));
  }
  if (shown.length < nodes.length) out.push(theme.dim(`... and ${nodes.length - shown.length} more nodes`));
  const left = height - out.length - 1;
  if (left > 1) {
    out.push(theme.head('busiest VMs'));
    const top = vms
      .filter((v) => v.cpuPct !== undefined && isActive(v.state))
      .sort((a, b) => (b.cpuPct ?? 0) - (a.cpuPct ?? 0) || a.name.localeCompare(b.name, 'en', { numeric: true }))
      .slice(0, left - 1);
    const colW = 40;
    const per = Math.max(1, Math.floor(width / colW));
    const rows = Math.ceil(top.length / per);
    for (let r = 0; r < Math.min(rows, left - 1); r++) {
      const cells = [];
      for (let c = 0; c < per; c++) {
        const vm = top[c * rows + r];
        if (vm) cells.push(cell(`${cell(vm.name, 14)} ${cell(vm.node, 8)} ${cell(fmtPct(vm.cpuPct), 5, 'right')} ${sparkline(vm.cpuHist.values(9), 9, 100, glyphs)}`, colW - 1));
      }
      out.push(escapeTags(cells.join(' ')));
    }
  }
  return out.slice(0, height - 1).concat(theme.dim(cell('wall mode: refreshes by itself; Esc or w returns', width)));
}

/** Target choice: every other node, whether the VM fits and what memory is left. */
export function migrateChoiceLines(vm: VmRecord, fits: Fit[], selected: number, live: boolean, theme: Theme): string[] {
  const out = [theme.head(escapeTags(`Migrate ${vm.name} from ${vm.node} (${fmtKiB(vm.memKiB)}, ${vm.vcpus} vCPUs, ${vm.state})`)), `mode: ${live ? 'live' : 'offline'}  (l toggles)`, ''];
  fits.forEach((f, i) => {
    const text = escapeTags(`${i === selected ? '>' : ' '}${cell(f.node, 14)} ${f.fits ? 'fits    ' : f.excluded ? 'not a target:' : 'no fit  '} ${f.reason ?? `${fmtKiB(f.freeAfterKiB)} of memory free there after the move`}`);
    out.push(i === selected ? theme.sel(text) : f.fits ? text : theme.dim(text));
  });
  if (fits.length === 0) out.push(' no other node');
  out.push('', 'enter start  up/down choose  Esc cancel');
  return out;
}

/**
 * Migration progress as libvirt reports it. Not a percentage of a total: dirty
 * pages are re-sent, so "remaining" can grow between iterations; we show sent,
 * remaining, the iteration and the dirty rate against the bandwidth instead.
 */
export function migrationLines(m: Migration, width: number, theme: Theme, glyphs: Glyphs): string[] {
  const j = m.job;
  const stateTxt = j.state === 'running' ? 'running' : j.state;
  const amounts = copyAmounts(j);
  const { sent, remaining, total } = amounts.memory;
  const disks = diskCopyLine(j, fmtBytes);
  const converging = j.memDirtyRate !== undefined && j.memBps !== undefined ? (j.memDirtyRate < j.memBps ? 'converging' : 'NOT converging (dirty rate >= bandwidth)') : '';
  const lines = [
    `${m.vm}: ${m.from} -> ${m.to}  ${m.live ? 'live' : 'offline'}  ${stateColour(theme, j.state === 'completed' ? 'running' : j.state === 'failed' ? 'crashed' : 'paused', stateTxt)}  elapsed ${fmtDuration(j.elapsedMs)}`,
    ...(disks !== undefined ? [disks] : []),
    `${amounts.disk ? 'memory ' : ''}sent ${fmtBytes(sent)}  remaining ${fmtBytes(remaining)} of ${fmtBytes(total)}  iteration ${j.memIteration ?? '-'}`,
    `dirty rate ${j.memDirtyRate !== undefined ? `${fmtBytes(j.memDirtyRate)}/s` : '-'}  bandwidth ${fmtRate(j.memBps)}  ${converging}`,
    // While it runs these are libvirt's expectations; once it has ended, what it took.
    j.state === 'running'
      ? `expected downtime ${fmtDuration(j.downtimeMs)}  time left ${j.timeRemainingMs !== undefined ? fmtDuration(j.timeRemainingMs) : '-'}`
      : `downtime ${fmtDuration(j.downtimeMs)}  took ${fmtDuration(j.elapsedMs)}`,
  ];
  if (remaining !== undefined && total) lines.push(`left to copy ${bar(remaining / total, Math.max(10, Math.min(40, width - 20)), glyphs)}`);
  if (j.error) lines.push(theme.bad(escapeTags(`error: ${j.error}`)));
  return lines.map((l) => (l.includes('{') ? l : escapeTags(l)));
}

/** The tasks view's long jobs: one line each with a progress bar, the selected one marked. */
export function jobLines(jobs: LongJob[], sel: LongJob | undefined, width: number, height: number, theme: Theme, glyphs: Glyphs): string[] {
  const out = [theme.head('Jobs: migrations, clones and provisioning (running first; x cancels the selected one)')];
  if (jobs.length === 0) out.push(theme.dim('  no migrations, clones or provisioning in this session'));
  for (const j of jobs.slice(0, Math.max(0, height - 1))) {
    const pc = j.percent !== undefined ? `${bar(j.percent / 100, 12, glyphs)} ${cell(fmtPct(j.percent), 5, 'right')}` : ' '.repeat(18);
    const text = escapeTags(cell(`${j === sel ? '>' : ' '} ${cell(j.state, 9)} ${pc}  ${j.label}  ${j.detail}${j.error ? `  ${j.error}` : ''}`, width));
    out.push(j.state === 'failed' ? theme.bad(text) : j.state === 'running' ? text : theme.dim(text));
  }
  return out;
}

export function taskLines(tasks: Task[], height: number, theme: Theme): string[] {
  const out = [theme.head('Recent actions (newest first)')];
  for (const t of tasks) {
    const ok = t.items.filter((i) => i.state === 'ok').length;
    const failed = t.items.filter((i) => i.state === 'failed').length;
    out.push(escapeTags(`${t.label}: ${ok} ok, ${failed} failed, ${t.items.length - ok - failed} pending${t.done ? '' : ' ...'}`));
    for (const i of t.items) {
      const text = escapeTags(`   ${cell(i.vm, 28)} ${cell(i.state, 8)} ${i.message ?? ''}`);
      out.push(i.state === 'failed' ? theme.bad(text) : text);
    }
    if (out.length >= height) break;
  }
  if (tasks.length === 0) out.push('no actions yet');
  return out.slice(0, height);
}

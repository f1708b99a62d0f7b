/** Pure renderers of the overview's header, node list and VM table (blessed-tagged lines). */
import type { ClusterTotals, NodeRecord, VmRecord } from '../store/model.js';
import type { Migration } from '../commands/index.js';
import { fmtKiB, fmtPct, fmtRate, fmtUsedTotal, pct } from '../format/units.js';
import { cell, escapeTags, layoutColumns, renderHeader, renderRow, visibleWindow, type Column } from '../format/text.js';
import { sparkline, type Glyphs } from '../format/chart.js';
import { stateColour, type Theme } from './theme.js';

/**
 * The node's driver and version; a simulated node says SIMULATED, with the kind of driver it
 * simulates (the mixed demo's LXC and Xen nodes) unless that is the plain simulator's own name.
 * `width` is the room there is: the table's column is narrower than "LXC (SIMULATED)".
 */
export function hypervisorLabel(n: NodeRecord, width = Infinity): string {
  if (!n.host) return '?';
  if (n.host.simulated) {
    const d = n.host.driver;
    if (!d || d === 'Simulated') return 'SIMULATED';
    const full = `${d} (SIMULATED)`;
    return full.length <= width ? full : `${d} SIMULATED`.length <= width ? `${d} SIMULATED` : 'SIMULATED';
  }
  const d = n.host.driver === 'QEMU' ? 'qemu' : n.host.driver.toLowerCase();
  return n.host.libvirtUp ? `${d} ${n.host.hypervisorVersion}`.trim() : `${d} (libvirt down)`;
}

export function headerLine(t: ClusterTotals, width: number, theme: Theme, extra = ''): string {
  const wide = width >= 100;
  const left = `ve-manager  nodes ${t.nodesUp}/${t.nodes}${wide ? ' up' : ''}  VMs ${t.running}/${t.vms}${wide ? ' running' : ''}  CPU ${fmtPct(t.cpuPct)}${wide ? ` of ${t.cpus}` : ''}  mem ${fmtUsedTotal(t.memUsedKiB, t.memTotalKiB)}`;
  let right = `${t.simulated ? 'SIMULATED ' : ''}${extra}`.trim();
  if ([...left].length + right.length + 1 > width) right = t.simulated ? 'SIMULATED' : '';
  const pad = Math.max(1, width - [...left].length - [...right].length);
  const text = cell(left + ' '.repeat(pad) + right, width);
  return t.simulated ? theme.head(escapeTags(text).replace('SIMULATED', theme.sim('SIMULATED'))) : theme.head(escapeTags(text));
}

export interface TableView<R> {
  rows: R[];
  selected: number;
  top: number;
  focused: boolean;
  marks?: ReadonlySet<string>;
}

function nodeColumns(glyphs: Glyphs): Column<NodeRecord>[] {
  return [
    { id: 'name', title: 'NODE', min: 8, max: 16, get: (n) => n.name },
    { id: 'link', title: 'LINK', min: 10, max: 10, get: (n) => (n.error && n.link === 'up' ? 'up (err)' : n.link) },
    { id: 'hv', title: 'HYPERVISOR', min: 10, max: 14, get: (n, w) => hypervisorLabel(n, w) },
    { id: 'cpu', title: 'CPU', min: 5, align: 'right', get: (n) => fmtPct(n.cpuPct) },
    { id: 'cpuh', title: 'CPU-HIST', min: 8, max: 20, drop: 2, get: (n, w) => sparkline(n.cpuHist.values(w), w, 100, glyphs) },
    { id: 'mem', title: 'MEMORY', min: 10, max: 12, align: 'right', get: (n) => fmtUsedTotal(n.memUsedKiB, n.memTotalKiB) },
    { id: 'memp', title: 'MEM%', min: 5, align: 'right', drop: 3, get: (n) => (n.memUsedKiB !== undefined && n.memTotalKiB ? fmtPct(pct(n.memUsedKiB, n.memTotalKiB)) : '-') },
    { id: 'cpus', title: 'CPUS', min: 4, align: 'right', drop: 4, get: (n) => (n.host ? String(n.host.cpus) : '-') },
    { id: 'vms', title: 'VMS', min: 7, align: 'right', get: (n) => `${n.running}/${n.vmCount}` },
    { id: 'err', title: 'NOTE', min: 0, max: 60, drop: 5, get: (n) => n.linkDetail ?? n.error ?? '' },
  ];
}

/** Node list: one header line plus `height - 1` rows. */
export function nodeLines(v: TableView<NodeRecord>, width: number, height: number, theme: Theme, glyphs: Glyphs): { lines: string[]; top: number } {
  const l = layoutColumns(nodeColumns(glyphs), width - 1);
  const rowsH = Math.max(0, height - 1);
  const top = visibleWindow(v.rows.length, rowsH, v.selected, v.top);
  const lines = [theme.head(escapeTags(' ' + renderHeader(l)))];
  for (let i = top; i < Math.min(v.rows.length, top + rowsH); i++) {
    const n = v.rows[i];
    if (!n) continue;
    const sel = v.focused && i === v.selected;
    let text = escapeTags((sel ? '>' : ' ') + renderRow(l, n));
    if (sel) text = theme.sel(text);
    else {
      text = text.replace(/SIMULATED/, theme.sim('SIMULATED'));
      const linkTxt = n.link;
      text = text.replace(new RegExp(`(^ \\S+\\s+)${linkTxt}`), (_m, p: string) => p + stateColour(theme, n.link, linkTxt));
    }
    lines.push(text);
  }
  return { lines, top };
}

function vmState(vm: VmRecord, mig: Migration | undefined, stale?: (node: string) => number | undefined): string {
  if (mig && !mig.finished) return `migr>${mig.to}`;
  // A down node's VMs keep their last known state, marked as such with the time it was last heard.
  const since = stale?.(vm.node);
  if (since !== undefined) return `${vm.state}? ${since > 0 ? new Date(since).toTimeString().slice(0, 5) : 'never'}`;
  return vm.state;
}

function vmColumns(glyphs: Glyphs, marks: ReadonlySet<string> | undefined, migs: ReadonlyMap<string, Migration>, sparkW: number, selected: string, stale?: (node: string) => number | undefined): Column<VmRecord>[] {
  return [
    // '>' marks the cursor row too, so it shows without colour or reverse video (captures, screen readers).
    { id: 'mark', title: ' ', min: 1, get: (vm) => (marks?.has(vm.key) ? '*' : vm.key === selected ? '>' : ' ') },
    { id: 'name', title: 'NAME', min: 12, max: 28, get: (vm) => vm.name },
    { id: 'node', title: 'NODE', min: 7, max: 14, get: (vm) => vm.node },
    { id: 'state', title: 'STATE', min: 8, max: 14, get: (vm) => vmState(vm, migs.get(vm.key), stale) },
    { id: 'vcpus', title: 'VCPU', min: 4, align: 'right', get: (vm) => String(vm.vcpus) },
    { id: 'memory', title: 'MEM', min: 5, align: 'right', get: (vm) => fmtKiB(vm.memKiB) },
    { id: 'cpu', title: 'CPU%', min: 5, align: 'right', get: (vm) => fmtPct(vm.cpuPct) },
    { id: 'mem', title: 'MEM%', min: 5, align: 'right', drop: 4, get: (vm) => fmtPct(vm.memPct) },
    { id: 'disk', title: 'DISK', min: 7, max: 9, align: 'right', drop: 3, get: (vm) => (vm.diskRdBps === undefined && vm.diskWrBps === undefined ? '-' : fmtRate((vm.diskRdBps ?? 0) + (vm.diskWrBps ?? 0))) },
    { id: 'net', title: 'NET', min: 7, max: 9, align: 'right', drop: 2, get: (vm) => (vm.netRxBps === undefined && vm.netTxBps === undefined ? '-' : fmtRate((vm.netRxBps ?? 0) + (vm.netTxBps ?? 0))) },
    { id: 'spark', title: 'CPU-HIST', min: 8, max: sparkW, drop: 1, get: (vm, w) => sparkline(vm.cpuHist.values(w), w, 100, glyphs) },
  ];
}

/** VM table: one header line plus rows; the selected row in reverse video when focused. */
export function vmLines(
  v: TableView<VmRecord>,
  width: number,
  height: number,
  theme: Theme,
  glyphs: Glyphs,
  migs: ReadonlyMap<string, Migration>,
  stale?: (node: string) => number | undefined,
): { lines: string[]; top: number } {
  const sparkW = Math.max(8, Math.min(30, width - 100));
  const selKey = v.focused ? v.rows[v.selected]?.key ?? '' : '';
  const l = layoutColumns(vmColumns(glyphs, v.marks, migs, sparkW, selKey, stale), width);
  const rowsH = Math.max(0, height - 1);
  const top = visibleWindow(v.rows.length, rowsH, v.selected, v.top);
  const lines = [theme.head(escapeTags(renderHeader(l)))];
  const stateCol = l.columns.findIndex((c) => c.col.id === 'state');
  for (let i = top; i < Math.min(v.rows.length, top + rowsH); i++) {
    const vm = v.rows[i];
    if (!vm) continue;
    const sel = v.focused && i === v.selected;
    if (sel || stateCol < 0) {
      const text = escapeTags(renderRow(l, vm));
      lines.push(sel ? theme.sel(text) : text);
      continue;
    }
    // Colour only the state cell, so the row stays aligned and readable in mono.
    const parts = l.columns.map(({ col, w }) => escapeTags(cell(col.get(vm, w), w, col.align)));
    const st = parts[stateCol];
    if (st !== undefined) parts[stateCol] = stale?.(vm.node) !== undefined ? theme.dim(st) : stateColour(theme, vmState(vm, migs.get(vm.key)), st);
    lines.push(parts.join(' '));
  }
  return { lines, top };
}

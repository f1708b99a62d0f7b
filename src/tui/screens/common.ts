/** Shared drawing bits of the management screens: title line, tables with a cursor. */
import { cell, escapeTags, layoutColumns, renderHeader, renderRow, visibleWindow, type Column } from '../format/text.js';
import type { Theme } from '../views/theme.js';
import type { ClusterStore } from '../store/store.js';

export function titleLine(theme: Theme, text: string, width: number, simulated: boolean): string {
  const t = escapeTags(cell(`${text}${simulated ? '  SIMULATED' : ''}`, width));
  return theme.head(simulated ? t.replace(/SIMULATED$|SIMULATED(?=\s*$)/, theme.sim('SIMULATED')) : t);
}

export function isSimulated(store: ClusterStore, node: string): boolean {
  return store.nodes.get(node)?.host?.simulated ?? false;
}

/** A table with a header and a '>' cursor (visible without colour); returns its lines and the new top. */
export function tableLines<R>(cols: Column<R>[], rows: R[], sel: number, top: number, focused: boolean, width: number, height: number, theme: Theme): { lines: string[]; top: number } {
  const l = layoutColumns(cols, width - 1);
  const rowsH = Math.max(0, height - 1);
  const t = visibleWindow(rows.length, rowsH, sel, top);
  const lines = [theme.head(escapeTags(' ' + renderHeader(l)))];
  for (let i = t; i < Math.min(rows.length, t + rowsH); i++) {
    const r = rows[i];
    if (r === undefined) continue;
    const on = i === sel;
    const text = escapeTags((on && focused ? '>' : on ? '-' : ' ') + renderRow(l, r));
    lines.push(on && focused ? theme.sel(text) : text);
  }
  return { lines, top: t };
}

/** Node names in natural order, for [ and ] to step through. */
export function stepNode(store: ClusterStore, node: string, delta: number): string {
  const names = [...store.nodes.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (names.length === 0) return node;
  const i = names.indexOf(node);
  return names[(((i < 0 ? 0 : i + delta) % names.length) + names.length) % names.length] ?? node;
}

export function ago(at: number | undefined, now = Date.now()): string {
  if (at === undefined) return 'never';
  const s = Math.max(0, Math.round((now - at) / 1000));
  return s < 2 ? 'just now' : `${s}s ago`;
}

/** A screen's lines fitted to its height (the key hints are the dashboard's bottom line, from the bindings). */
export function withFooter(out: string[], height: number): string[] {
  out.length = Math.min(out.length, height);
  return out;
}

/**
 * Re-reads a view's data while it is shown: every `everyMs`, with the expensive
 * part (every VM's domain XML) only every `fullEvery` ticks. Starting again
 * (a node switch) replaces the timer.
 */
export class Refresher {
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;

  constructor(
    private readonly everyMs: number,
    private readonly fullEvery = 6,
  ) {}

  start(read: (full: boolean) => void): void {
    this.stop();
    read(true);
    this.timer = setInterval(() => read(++this.ticks % this.fullEvery === 0), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Pure text layout: fixed-width cells and tables; never wider than asked. */

export type Align = 'left' | 'right';

/** Display width: we only emit ASCII, block elements and braille, all one column wide. */
export function width(s: string): number {
  return [...s].length;
}

/** Cut to w columns (with a trailing "~" when cut) and pad to exactly w. */
export function cell(s: string, w: number, align: Align = 'left'): string {
  if (w <= 0) return '';
  const chars = [...s];
  let t = chars.length > w ? chars.slice(0, Math.max(0, w - 1)).join('') + (w > 1 ? '~' : chars[0] ?? '') : s;
  if (w === 1 && chars.length > 1) t = chars[0] ?? '';
  const pad = ' '.repeat(Math.max(0, w - width(t)));
  return align === 'left' ? t + pad : pad + t;
}

/**
 * Words on lines of at most `w` columns, broken at spaces; a word longer than a line is
 * cut with "~" (cell's rule). At most `maxLines`, the last one cut when more is left.
 */
export function wrapText(s: string, w: number, maxLines = Infinity): string[] {
  if (w <= 0) return [];
  const out: string[] = [];
  let line = '';
  for (const word of s.split(/\s+/).filter((x) => x !== '')) {
    const next = line ? `${line} ${word}` : word;
    if (width(next) <= w) line = next;
    else {
      if (line) out.push(line);
      line = width(word) > w ? cell(word, w) : word;
    }
  }
  if (line) out.push(line);
  if (out.length <= maxLines) return out;
  const kept = out.slice(0, maxLines);
  kept[maxLines - 1] = cell(`${kept[maxLines - 1] ?? ''} ${out[maxLines] ?? ''}`, w);
  return kept;
}

export interface Column<R> {
  id: string;
  title: string;
  /** Minimum width; columns grow to `max` when the screen has room. */
  min: number;
  max?: number;
  align?: Align;
  /** Lower priority columns are dropped first when the screen is narrow (0 = never dropped). */
  drop?: number;
  /** The cell's text; `w` is the width it gets (for sparklines that fill it). */
  get(row: R, w: number): string;
}

export interface Layout<R> {
  columns: Array<{ col: Column<R>; w: number }>;
}

/** Decide which columns show and how wide, for a total width (1 space between columns). */
export function layoutColumns<R>(cols: Column<R>[], total: number): Layout<R> {
  let shown = cols.slice();
  const need = (cs: Column<R>[]): number => cs.reduce((a, c) => a + c.min, 0) + Math.max(0, cs.length - 1);
  while (need(shown) > total) {
    let worst = -1;
    let worstPrio = 0;
    shown.forEach((c, i) => {
      const p = c.drop ?? 0;
      if (p > worstPrio) {
        worstPrio = p;
        worst = i;
      }
    });
    if (worst < 0) break;
    shown = shown.filter((_, i) => i !== worst);
  }
  const ws = shown.map((c) => c.min);
  let spare = total - need(shown);
  // Grow columns in order toward their max, so names get room first on wide screens.
  for (let i = 0; i < shown.length && spare > 0; i++) {
    const c = shown[i];
    if (!c) continue;
    const room = (c.max ?? c.min) - c.min;
    const add = Math.min(room, spare);
    ws[i] = (ws[i] ?? 0) + add;
    spare -= add;
  }
  return { columns: shown.map((col, i) => ({ col, w: ws[i] ?? col.min })) };
}

export function renderHeader<R>(l: Layout<R>): string {
  return l.columns.map(({ col, w }) => cell(col.title, w, col.align)).join(' ');
}

export function renderRow<R>(l: Layout<R>, row: R): string {
  return l.columns.map(({ col, w }) => cell(col.get(row, w), w, col.align)).join(' ');
}

/** The window of rows to show so that `selected` stays visible (scrolls like a pager). */
export function visibleWindow(total: number, height: number, selected: number, top: number): number {
  if (height <= 0 || total <= height) return 0;
  let t = Math.min(Math.max(0, top), total - height);
  if (selected < t) t = selected;
  if (selected >= t + height) t = selected - height + 1;
  return Math.max(0, Math.min(t, total - height));
}

/** Escape blessed tag braces in untrusted text (VM names come from hypervisors). */
export function escapeTags(s: string): string {
  return s.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

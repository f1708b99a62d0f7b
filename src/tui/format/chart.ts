/**
 * Pure chart rendering: sparklines and line charts as text, in Unicode (block
 * elements, braille) or plain ASCII for terminals and fonts that cannot show them.
 */

export type Glyphs = 'unicode' | 'ascii';

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const ASCII_LEVELS = ['_', '.', '-', '=', '+', '*', '#', '@'];

/** The last `w` values as a sparkline scaled to [0, max]; missing history is blank. */
export function sparkline(values: readonly number[], w: number, max: number, glyphs: Glyphs = 'unicode'): string {
  if (w <= 0) return '';
  const levels = glyphs === 'unicode' ? BLOCKS : ASCII_LEVELS;
  const tail = values.slice(-w);
  let out = ' '.repeat(w - tail.length);
  for (const v of tail) {
    const f = max > 0 ? Math.min(1, Math.max(0, v / max)) : 0;
    out += levels[Math.min(levels.length - 1, Math.round(f * (levels.length - 1)))] ?? ' ';
  }
  return out;
}

/** Braille dot bit for (x in 0..1, y in 0..3 from the top) inside one cell. */
function brailleBit(x: number, y: number): number {
  const left = [0x01, 0x02, 0x04, 0x40];
  const right = [0x08, 0x10, 0x20, 0x80];
  return (x === 0 ? left[y] : right[y]) ?? 0;
}

export interface ChartOptions {
  width: number;
  height: number;
  /** Fixed top of the scale (e.g. 100 for percentages); default: the data's maximum. */
  max?: number;
  glyphs?: Glyphs;
}

/**
 * A line chart as `height` strings of `width` columns, newest value at the right.
 * Unicode uses braille (2x4 dots per cell, filled under the line); ASCII uses '#'
 * columns with '.' for partial cells.
 */
export function lineChart(values: readonly number[], o: ChartOptions): string[] {
  const { width: w, height: h } = o;
  if (w <= 0 || h <= 0) return [];
  const max = o.max ?? Math.max(1e-9, ...values);
  if ((o.glyphs ?? 'unicode') === 'ascii') {
    const tail = values.slice(-w);
    const cols = Array.from({ length: w }, (_, i) => {
      const v = tail[i - (w - tail.length)];
      return v === undefined ? -1 : Math.min(1, Math.max(0, v / max)) * h;
    });
    const rows: string[] = [];
    for (let r = 0; r < h; r++) {
      const level = h - r; // this row covers (level-1, level]
      rows.push(cols.map((c) => (c < 0 ? ' ' : c >= level ? '#' : c > level - 1 && c - (level - 1) >= 0.5 ? '.' : ' ')).join(''));
    }
    return rows;
  }
  const dotsW = w * 2;
  const dotsH = h * 4;
  const tail = values.slice(-dotsW);
  const grid = Array.from({ length: h }, () => new Array<number>(w).fill(0));
  tail.forEach((v, i) => {
    const x = dotsW - tail.length + i;
    const f = Math.min(1, Math.max(0, v / max));
    const top = dotsH - Math.max(v > 0 ? 1 : 0, Math.round(f * dotsH)); // first lit dot row from the top
    for (let y = top; y < dotsH; y++) {
      const row = grid[Math.floor(y / 4)];
      if (row) row[Math.floor(x / 2)] = (row[Math.floor(x / 2)] ?? 0) | brailleBit(x % 2, y % 4);
    }
  });
  return grid.map((row) => row.map((bits) => (bits === 0 ? ' ' : String.fromCharCode(0x2800 + bits))).join(''));
}

/** A horizontal bar "[####....]" for gauges, readable without colour. */
export function bar(fraction: number, w: number, glyphs: Glyphs = 'unicode'): string {
  if (w <= 0) return '';
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const n = Math.round(f * w);
  return glyphs === 'unicode' ? '█'.repeat(n) + '░'.repeat(w - n) : '#'.repeat(n) + '.'.repeat(w - n);
}

/** Whether the terminal's locale can show Unicode; VEM_ASCII=1 forces ASCII. */
export function detectGlyphs(env: NodeJS.ProcessEnv): Glyphs {
  if (env['VEM_ASCII'] === '1') return 'ascii';
  const loc = env['LC_ALL'] || env['LC_CTYPE'] || env['LANG'] || '';
  return /utf-?8/i.test(loc) ? 'unicode' : 'ascii';
}

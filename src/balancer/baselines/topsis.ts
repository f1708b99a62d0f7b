/**
 * TOPSIS (technique for order of preference by similarity to ideal solution),
 * as Proxmox VE's resource scheduler ranks alternatives: each criterion's
 * column is divided by its Euclidean norm and multiplied by its weight; the
 * ideal takes the best value of every column, the anti-ideal the worst; an
 * alternative's closeness is d(anti-ideal) / (d(ideal) + d(anti-ideal)).
 * Pure.
 */

export interface TopsisCriterion {
  weight: number;
  /** true: smaller is better (every Proxmox criterion is). */
  minimise: boolean;
}

/**
 * Closeness in [0, 1] of every alternative (rows) over the criteria (columns);
 * higher is better. An alternative at distance 0 from both ideals (every alternative
 * identical) scores 0, as proxmox-resource-scheduling's topsis does.
 */
export function topsisScores(rows: readonly (readonly number[])[], criteria: readonly TopsisCriterion[]): number[] {
  const n = rows.length;
  const m = criteria.length;
  if (n === 0) return [];
  const norm = new Float64Array(m);
  for (const r of rows) for (let j = 0; j < m; j++) norm[j]! += (r[j] as number) ** 2;
  for (let j = 0; j < m; j++) norm[j] = Math.sqrt(norm[j]!);
  const best = new Float64Array(m).fill(NaN);
  const worst = new Float64Array(m).fill(NaN);
  const w = rows.map((r) => criteria.map((c, j) => (norm[j]! > 0 ? ((r[j] as number) / norm[j]!) * c.weight : 0)));
  for (let j = 0; j < m; j++) {
    const col = w.map((r) => r[j] as number);
    const lo = Math.min(...col);
    const hi = Math.max(...col);
    best[j] = criteria[j]!.minimise ? lo : hi;
    worst[j] = criteria[j]!.minimise ? hi : lo;
  }
  return w.map((r) => {
    let dBest = 0;
    let dWorst = 0;
    for (let j = 0; j < m; j++) {
      dBest += ((r[j] as number) - best[j]!) ** 2;
      dWorst += ((r[j] as number) - worst[j]!) ** 2;
    }
    dBest = Math.sqrt(dBest);
    dWorst = Math.sqrt(dWorst);
    return dBest + dWorst > 0 ? dWorst / (dBest + dWorst) : 0;
  });
}

/** Index of the best alternative (the first of equal scores, as the real ranking's stable sort), or -1 when there is none. */
export function topsisBest(rows: readonly (readonly number[])[], criteria: readonly TopsisCriterion[]): number {
  const s = topsisScores(rows, criteria);
  let bi = -1;
  for (let i = 0; i < s.length; i++) if (bi < 0 || (s[i] as number) > (s[bi] as number)) bi = i;
  return bi;
}

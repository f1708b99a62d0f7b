/** Small numeric helpers shared by the planners and the simulator (pure). */

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

export function stddev(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / xs.length);
}

/** Coefficient of variation; 0 for an idle cluster. */
export function cv(xs: readonly number[]): number {
  const m = mean(xs);
  return m > 1e-9 ? stddev(xs) / m : 0;
}

export function last(xs: readonly number[]): number {
  return xs.length > 0 ? (xs[xs.length - 1] as number) : 0;
}

/** Count of the last n samples strictly above a threshold. */
export function countAbove(xs: readonly number[], n: number, threshold: number): number {
  let c = 0;
  for (let i = Math.max(0, xs.length - n); i < xs.length; i++) if ((xs[i] as number) > threshold) c++;
  return c;
}

/**
 * One-step forecast with an AR(1) model fitted on the window (Sandpiper's
 * choice): x' = mu + phi (x_t - mu), phi the lag-1 autocorrelation in [0, 1].
 */
export function forecastAr1(xs: readonly number[], n: number): number {
  const w = xs.slice(Math.max(0, xs.length - n));
  if (w.length < 3) return last(w);
  const mu = mean(w);
  let num = 0;
  let den = 0;
  for (let i = 0; i < w.length; i++) {
    const d = (w[i] as number) - mu;
    den += d * d;
    if (i > 0) num += d * ((w[i - 1] as number) - mu);
  }
  const phi = den > 1e-12 ? Math.min(1, Math.max(0, num / den)) : 1;
  return mu + phi * (last(w) - mu);
}

/**
 * Short-term forecast used by our planner: Holt's linear smoothing over the
 * window, never below the last sample's level when rising (we prefer to react
 * to a ramp a step early than a step late).
 */
export function forecastTrend(xs: readonly number[], n: number, alpha = 0.6, beta = 0.3): number {
  // Indexes into the window rather than slicing it: this runs for every VM of every plan.
  const from = Math.max(0, xs.length - n);
  if (xs.length === 0) return 0;
  let level = xs[from] as number;
  let trend = 0;
  for (let i = from + 1; i < xs.length; i++) {
    const x = xs[i] as number;
    const prev = level;
    level = alpha * x + (1 - alpha) * (level + trend);
    trend = beta * (level - prev) + (1 - beta) * trend;
  }
  return Math.max(0, level + trend);
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i] as number;
}

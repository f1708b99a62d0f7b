/** Reconnect delays: doubling from `minMs` up to `maxMs`, with up to 20% jitter so many nodes do not retry in step. */
export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  /** 0..1, the random part; a fixed value makes the sequence testable. */
  jitter?: () => number;
}

export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const base = Math.min(o.maxMs, o.minMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  const j = o.jitter ? o.jitter() : Math.random();
  return Math.round(base * (1 - 0.2 * j));
}

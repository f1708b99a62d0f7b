/**
 * Simulated time. Everything in the simulation reads the clock, never Date.now(),
 * so tests drive time by hand and the demo can run faster than real time.
 */
export interface SimClock {
  /** Milliseconds since the epoch, in simulated time. */
  now(): number;
  /** Manual clocks call back after each advance so timed work (migrations, shutdowns) progresses. */
  onAdvance?(cb: () => void): () => void;
  readonly manual?: boolean;
}

/** Real time sped up by timeScale, starting from the real now. */
export function scaledClock(timeScale = 1, realNow: () => number = Date.now): SimClock {
  const start = realNow();
  return { now: () => start + (realNow() - start) * timeScale };
}

/** A clock that moves only when told: deterministic tests. */
export class ManualClock implements SimClock {
  readonly manual = true;
  private t: number;
  private readonly listeners = new Set<() => void>();
  constructor(startMs = Date.UTC(2026, 0, 5, 9, 0, 0)) {
    this.t = startMs;
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot move a clock back (${ms} ms)`);
    this.t += ms;
    for (const cb of [...this.listeners]) cb();
  }
  onAdvance(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
}

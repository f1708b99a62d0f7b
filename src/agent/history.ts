/**
 * Bounded sample history in typed-array ring buffers. Every collection is a
 * "tick" with a sequence number; the node ring keeps each tick's time, each VM
 * ring keeps the ticks it was seen in. Cursors are tick sequence numbers, so
 * a reader asks for "everything after N" and gets the new cursor back. Pure.
 */

export const VM_FIELDS = ['cpuPct', 'vcpuPct', 'memUsedKiB', 'memKiB', 'diskRdBps', 'diskWrBps', 'netRxBps', 'netTxBps'] as const;
export type VmField = (typeof VM_FIELDS)[number];

export const NODE_FIELDS = ['cpuPct', 'iowaitPct', 'memUsedKiB', 'memTotalKiB', 'vmsRunning', 'vmCpuPct', 'collectMs'] as const;
export type NodeField = (typeof NODE_FIELDS)[number];

export type Sample<F extends string> = Record<F, number>;

/** A ring of samples: a Uint32 tick column plus one Float32 column per field (4 bytes per value). */
export class SampleRing<F extends string> {
  readonly ticks: Uint32Array;
  readonly cols: Record<F, Float32Array>;
  private head = 0; // next write slot
  private count = 0;

  constructor(
    readonly fields: readonly F[],
    readonly capacity: number,
  ) {
    this.ticks = new Uint32Array(capacity);
    const cols = {} as Record<F, Float32Array>;
    for (const f of fields) cols[f] = new Float32Array(capacity);
    this.cols = cols;
  }

  get size(): number {
    return this.count;
  }

  push(tick: number, s: Sample<F>): void {
    this.ticks[this.head] = tick;
    for (const f of this.fields) (this.cols[f] as Float32Array)[this.head] = s[f];
    this.head = (this.head + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** The newest tick stored, or 0 when empty. */
  lastTick(): number {
    return this.count === 0 ? 0 : (this.ticks[(this.head - 1 + this.capacity) % this.capacity] as number);
  }

  latest(): Sample<F> | undefined {
    if (this.count === 0) return undefined;
    const i = (this.head - 1 + this.capacity) % this.capacity;
    const s = {} as Sample<F>;
    for (const f of this.fields) s[f] = (this.cols[f] as Float32Array)[i] as number;
    return s;
  }

  /** Indices (oldest first) of samples with tick > after, at most `limit` of the newest. */
  indicesAfter(after: number, limit = Infinity): number[] {
    const out: number[] = [];
    const start = (this.head - this.count + this.capacity) % this.capacity;
    for (let k = this.count - 1; k >= 0 && out.length < limit; k--) {
      const i = (start + k) % this.capacity;
      if ((this.ticks[i] as number) <= after) break;
      out.push(i);
    }
    return out.reverse();
  }

  /** Samples after a cursor, column by column (compact on the wire). */
  columnsAfter(after: number, limit?: number): { ticks: number[]; cols: Record<F, number[]> } {
    const idx = this.indicesAfter(after, limit);
    const cols = {} as Record<F, number[]>;
    for (const f of this.fields) {
      const c = this.cols[f] as Float32Array;
      cols[f] = idx.map((i) => round(c[i] as number));
    }
    return { ticks: idx.map((i) => this.ticks[i] as number), cols };
  }

  bytes(): number {
    return this.ticks.byteLength + this.fields.length * this.capacity * 4;
  }
}

/** Float32 noise (12.300000190734863) rounded away for readers. */
export function round(v: number): number {
  if (!Number.isFinite(v)) return 0;
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v);
  if (a >= 1) return Math.round(v * 100) / 100;
  return Math.round(v * 10000) / 10000;
}

/** Tick number -> wall time (ms since the epoch), for the ticks still in the window. */
export class TickClock {
  private readonly times: Float64Array;
  private last = 0;

  constructor(readonly capacity: number) {
    this.times = new Float64Array(capacity);
  }

  record(tick: number, atMs: number): void {
    this.times[tick % this.capacity] = atMs;
    this.last = tick;
  }

  get lastTick(): number {
    return this.last;
  }

  timeOf(tick: number): number {
    if (tick <= this.last - this.capacity || tick > this.last) return NaN;
    return this.times[tick % this.capacity] as number;
  }
}

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

/**
 * A ring of samples: per slot a Uint32 tick then one Float32 per field (4 bytes per value), the
 * slots side by side in one buffer. A slot is one or two cache lines: a poll writes each VM's
 * sample into its own ring, and with a typed array per field that was a cache miss per field per VM
 * (an hour of rings at 1,000 VMs is tens of MB, far beyond the caches).
 */
export class SampleRing<F extends string> {
  /** The same buffer seen as ticks (slot * stride) and as values (slot * stride + 1 + field index). */
  private readonly u32: Uint32Array;
  private readonly f32: Float32Array;
  private readonly stride: number;
  private head = 0; // next write slot
  private count = 0;

  constructor(
    readonly fields: readonly F[],
    readonly capacity: number,
  ) {
    this.stride = fields.length + 1;
    const buf = new ArrayBuffer(capacity * this.stride * 4);
    this.u32 = new Uint32Array(buf);
    this.f32 = new Float32Array(buf);
  }

  get size(): number {
    return this.count;
  }

  push(tick: number, s: Sample<F>): void {
    const h = this.head;
    const base = h * this.stride;
    this.u32[base] = tick;
    const fields = this.fields;
    const f32 = this.f32;
    for (let k = 0; k < fields.length; k++) f32[base + 1 + k] = s[fields[k] as F];
    this.head = h + 1 === this.capacity ? 0 : h + 1;
    if (this.count < this.capacity) this.count++;
  }

  /** The tick stored in slot i. */
  tickAt(i: number): number {
    return this.u32[i * this.stride] as number;
  }

  /** The value of field index k (in `fields` order) stored in slot i. */
  valueAt(i: number, k: number): number {
    return this.f32[i * this.stride + 1 + k] as number;
  }

  /** The newest tick stored, or 0 when empty. */
  lastTick(): number {
    return this.count === 0 ? 0 : this.tickAt((this.head - 1 + this.capacity) % this.capacity);
  }

  latest(): Sample<F> | undefined {
    if (this.count === 0) return undefined;
    const i = (this.head - 1 + this.capacity) % this.capacity;
    const s = {} as Sample<F>;
    this.fields.forEach((f, k) => (s[f] = this.valueAt(i, k)));
    return s;
  }

  /** Indices (oldest first) of samples with tick > after, at most `limit` of the newest. */
  indicesAfter(after: number, limit = Infinity): number[] {
    const out: number[] = [];
    const start = (this.head - this.count + this.capacity) % this.capacity;
    for (let k = this.count - 1; k >= 0 && out.length < limit; k--) {
      const i = (start + k) % this.capacity;
      if (this.tickAt(i) <= after) break;
      out.push(i);
    }
    return out.reverse();
  }

  /** Samples after a cursor, column by column (compact on the wire). */
  columnsAfter(after: number, limit?: number): { ticks: number[]; cols: Record<F, number[]> } {
    const idx = this.indicesAfter(after, limit);
    const cols = {} as Record<F, number[]>;
    this.fields.forEach((f, k) => (cols[f] = idx.map((i) => round(this.valueAt(i, k)))));
    return { ticks: idx.map((i) => this.tickAt(i)), cols };
  }

  bytes(): number {
    return this.u32.byteLength;
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

/*
 * A snapshot of the history for the history file (pure encode/decode; the file
 * itself is src/agent/history-file.ts). Layout:
 *   "VEMHIST1" | u32 header length | JSON header | binary columns | sha256 of all before it
 * The header names the fields and, per series, its sample count; the columns follow
 * in header order: Uint32 ticks, (node only) Float64 times, then Float32 per field.
 */
export interface SeriesSnapshot<F extends string> {
  ticks: Uint32Array;
  cols: Record<F, Float32Array>;
}

export interface HistorySnapshot {
  savedAt: number;
  pollMs: number;
  lastTick: number;
  node: SeriesSnapshot<NodeField> & { times: Float64Array };
  vms: Array<SeriesSnapshot<VmField> & { name: string; uuid: string }>;
}

const SNAP_MAGIC = Buffer.from('VEMHIST1', 'latin1');

export class HistoryFileError extends Error {}

/** The newest samples of a ring with tick > after, as columns (typed arrays). */
export function ringSeries<F extends string>(r: SampleRing<F>, after: number, limit?: number): SeriesSnapshot<F> {
  const idx = r.indicesAfter(after, limit);
  const ticks = new Uint32Array(idx.length);
  idx.forEach((i, n) => (ticks[n] = r.tickAt(i)));
  const cols = {} as Record<F, Float32Array>;
  r.fields.forEach((f, k) => {
    const c = new Float32Array(idx.length);
    idx.forEach((i, n) => (c[n] = r.valueAt(i, k)));
    cols[f] = c;
  });
  return { ticks, cols };
}

export function encodeHistory(s: HistorySnapshot, createHash: (data: Buffer[]) => Buffer): Buffer {
  const header = {
    version: 1,
    savedAt: s.savedAt,
    pollMs: s.pollMs,
    lastTick: s.lastTick,
    nodeFields: NODE_FIELDS,
    vmFields: VM_FIELDS,
    node: s.node.ticks.length,
    vms: s.vms.map((v) => ({ name: v.name, uuid: v.uuid, n: v.ticks.length })),
  };
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(h.length);
  const parts: Buffer[] = [SNAP_MAGIC, len, h];
  const add = (a: Uint32Array | Float64Array | Float32Array): void => {
    parts.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  };
  add(s.node.ticks);
  add(s.node.times);
  for (const f of NODE_FIELDS) add(s.node.cols[f]);
  for (const v of s.vms) {
    add(v.ticks);
    for (const f of VM_FIELDS) add(v.cols[f]);
  }
  parts.push(createHash(parts));
  return Buffer.concat(parts);
}

/** Throws HistoryFileError saying what is wrong (truncated, altered, another layout). */
export function decodeHistory(b: Buffer, createHash: (data: Buffer[]) => Buffer): HistorySnapshot {
  if (b.length < SNAP_MAGIC.length + 4 + 32 || !b.subarray(0, SNAP_MAGIC.length).equals(SNAP_MAGIC)) throw new HistoryFileError('not a ve-manager history file (bad magic)');
  const body = b.subarray(0, b.length - 32);
  if (!createHash([body]).equals(b.subarray(b.length - 32))) throw new HistoryFileError('checksum mismatch (truncated or altered)');
  const hl = b.readUInt32BE(SNAP_MAGIC.length);
  let off = SNAP_MAGIC.length + 4;
  let header: { version: number; savedAt: number; pollMs: number; lastTick: number; nodeFields: string[]; vmFields: string[]; node: number; vms: Array<{ name: string; uuid: string; n: number }> };
  try {
    header = JSON.parse(body.subarray(off, off + hl).toString('utf8')) as typeof header;
  } catch (e) {
    throw new HistoryFileError(`unreadable header: ${(e as Error).message}`);
  }
  off += hl;
  if (header.version !== 1) throw new HistoryFileError(`layout version ${header.version}, this agent reads 1`);
  if (JSON.stringify(header.nodeFields) !== JSON.stringify(NODE_FIELDS) || JSON.stringify(header.vmFields) !== JSON.stringify(VM_FIELDS)) {
    throw new HistoryFileError('written with other fields (another agent version)');
  }
  // Copies (not views): the file buffer's offsets need not be aligned for typed arrays.
  const take = <T extends Uint32Array | Float64Array | Float32Array>(Ctor: { new (n: number): T; BYTES_PER_ELEMENT: number }, n: number): T => {
    const bytes = n * Ctor.BYTES_PER_ELEMENT;
    if (off + bytes > body.length) throw new HistoryFileError('shorter than its header says');
    const a = new Ctor(n);
    Buffer.from(a.buffer).set(body.subarray(off, off + bytes));
    off += bytes;
    return a;
  };
  const nodeTicks = take(Uint32Array, header.node);
  const times = take(Float64Array, header.node);
  const nodeCols = {} as Record<NodeField, Float32Array>;
  for (const f of NODE_FIELDS) nodeCols[f] = take(Float32Array, header.node);
  const vms: HistorySnapshot['vms'] = [];
  for (const v of header.vms) {
    const ticks = take(Uint32Array, v.n);
    const cols = {} as Record<VmField, Float32Array>;
    for (const f of VM_FIELDS) cols[f] = take(Float32Array, v.n);
    vms.push({ name: v.name, uuid: v.uuid, ticks, cols });
  }
  if (off !== body.length) throw new HistoryFileError('longer than its header says');
  return { savedAt: header.savedAt, pollMs: header.pollMs, lastTick: header.lastTick, node: { ticks: nodeTicks, times, cols: nodeCols }, vms };
}

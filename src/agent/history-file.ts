/**
 * The metrics history kept across restarts: written periodically and at
 * shutdown (to a temporary file, fsync'ed, renamed over the old one, so a
 * crash mid-save leaves the previous file), loaded at start. Only samples
 * within the history window are kept, and the file is bounded (the newest
 * samples of each VM first). A file that cannot be read is set aside as
 * PATH.corrupt-TIME with a message, and the agent starts with no history.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Collector } from './collector.js';
import { decodeHistory, encodeHistory, HistoryFileError, NODE_FIELDS, ringSeries, VM_FIELDS, type HistorySnapshot, type Sample, type NodeField, type VmField } from './history.js';
import { SampleRing } from './history.js';

export const DEFAULT_HISTORY_FILE_MAX_BYTES = 256 * 1024 * 1024;

const sha256 = (parts: Buffer[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** The collector's history within its window, at most maxBytes on disk. */
export function snapshotCollector(c: Collector, pollMs: number, maxBytes = DEFAULT_HISTORY_FILE_MAX_BYTES, now = Date.now()): HistorySnapshot {
  // The first tick still inside the window (the clock forgets ticks older than its capacity).
  let after = Math.max(0, c.tick - c.capacity);
  const windowStart = now - c.capacity * pollMs;
  while (after < c.tick && !(c.clock.timeOf(after + 1) >= windowStart)) after++;
  const node = ringSeries(c.node, after);
  const times = new Float64Array(node.ticks.length);
  node.ticks.forEach((t, i) => (times[i] = c.clock.timeOf(t)));
  const withRings = [...c.vms.values()].filter((e) => e.ring && e.ring.lastTick() > after);
  const nodeBytes = node.ticks.length * (4 + 8 + NODE_FIELDS.length * 4);
  const perSample = 4 + VM_FIELDS.length * 4;
  // Fixed parts: magic, length, checksum and the JSON header (fields, and per VM its name, uuid, count).
  const fixed = 8 + 4 + 32 + 512 + withRings.reduce((a, e) => a + Buffer.byteLength(e.name) + e.last.uuid.length + 40, 0);
  const perVm = withRings.length === 0 ? Infinity : Math.max(0, Math.floor((maxBytes - nodeBytes - fixed) / withRings.length / perSample));
  const vms = withRings.map((e) => ({ name: e.name, uuid: e.last.uuid, ...ringSeries(e.ring as SampleRing<VmField>, after, perVm) }));
  return { savedAt: now, pollMs, lastTick: c.tick, node: { ...node, times }, vms };
}

/** Puts a snapshot back: the tick counter continues after the saved one; samples outside this run's window are left out. */
export function restoreCollector(c: Collector, s: HistorySnapshot, now = Date.now()): { samples: number; vms: number } {
  const windowStart = now - c.capacity * c.o.pollMs;
  let first = 0;
  while (first < s.node.ticks.length && (s.node.times[first] as number) < windowStart) first++;
  first = Math.max(first, s.node.ticks.length - c.capacity);
  const minTick = first < s.node.ticks.length ? (s.node.ticks[first] as number) : s.lastTick + 1;
  let samples = 0;
  for (let i = first; i < s.node.ticks.length; i++) {
    const t = s.node.ticks[i] as number;
    c.clock.record(t, s.node.times[i] as number);
    const smp = {} as Sample<NodeField>;
    for (const f of NODE_FIELDS) smp[f] = s.node.cols[f][i] as number;
    c.node.push(t, smp);
    samples++;
  }
  c.tick = Math.max(c.tick, s.lastTick);
  c.clock.record(c.tick, c.clock.timeOf(c.tick) || s.savedAt);
  let vms = 0;
  for (const v of s.vms) {
    if (c.vms.has(v.name)) continue;
    const ring = new SampleRing(VM_FIELDS, c.capacity);
    for (let i = 0; i < v.ticks.length; i++) {
      const t = v.ticks[i] as number;
      if (t < minTick) continue;
      const smp = {} as Sample<VmField>;
      for (const f of VM_FIELDS) smp[f] = v.cols[f][i] as number;
      ring.push(t, smp);
      samples++;
    }
    if (ring.size === 0) continue;
    // Not "seen" by this run: vm.list shows it only once a collection finds it; vm.stats serves its history.
    c.vms.set(v.name, { name: v.name, ring, last: { name: v.name, uuid: v.uuid, raw: {} }, lastTick: ring.lastTick() });
    vms++;
  }
  return { samples, vms };
}

export type HistoryLoad =
  | { ok: true; samples: number; vms: number; savedAt: number }
  | { ok: false; missing: true }
  | { ok: false; missing: false; message: string; setAside?: string };

export function loadHistoryFile(path: string, c: Collector, now = Date.now()): HistoryLoad {
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, missing: true };
    return { ok: false, missing: false, message: `history file ${path} cannot be read: ${(e as Error).message}; starting without history` };
  }
  try {
    const s = decodeHistory(b, sha256);
    const r = restoreCollector(c, s, now);
    return { ok: true, ...r, savedAt: s.savedAt };
  } catch (e) {
    if (!(e instanceof HistoryFileError)) throw e;
    const aside = `${path}.corrupt-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
    try {
      renameSync(path, aside);
      return { ok: false, missing: false, message: `history file ${path} is unreadable (${e.message}); set aside as ${aside}, starting without history`, setAside: aside };
    } catch (e2) {
      return { ok: false, missing: false, message: `history file ${path} is unreadable (${e.message}) and could not be set aside (${(e2 as Error).message}); starting without history` };
    }
  }
}

/** Writes the snapshot atomically: PATH.tmp, fsync, rename. Returns the bytes written. */
export async function saveHistoryFile(path: string, s: HistorySnapshot): Promise<number> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const b = encodeHistory(s, sha256);
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(b);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  return b.length;
}

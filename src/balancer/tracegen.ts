/**
 * Seeded synthetic traces: diurnal, bursty, ramps, on-off and mixes of them.
 * Same seed, same trace, so benchmark figures repeat run to run.
 */
import { createRng, type Rng } from './rng.js';
import type { Trace, TraceVm } from './trace.js';

export type Pattern = 'diurnal' | 'bursty' | 'ramp' | 'onoff';
export type TraceKind = Pattern | 'mix';
export const TRACE_KINDS: readonly TraceKind[] = ['diurnal', 'bursty', 'ramp', 'onoff', 'mix'];

export interface GenOptions {
  kind: TraceKind;
  vms: number;
  /** Samples in the trace. */
  steps: number;
  /** Seconds between samples. */
  period?: number;
  seed?: number;
  /** Diurnal cycles over the whole trace (accelerated days). */
  days?: number;
}

const SIZES = [
  { vcpus: 1, memMiB: 1024 },
  { vcpus: 2, memMiB: 2048 },
  { vcpus: 2, memMiB: 4096 },
  { vcpus: 4, memMiB: 8192 },
];

function shape(p: Pattern, r: Rng, steps: number, days: number): Float64Array {
  const u = new Float64Array(steps); // utilisation of the VM's vCPUs, 0..1
  if (p === 'diurnal') {
    const base = 0.15 + 0.25 * r.next();
    const amp = 0.2 + 0.4 * r.next();
    const phase = r.next() * 2 * Math.PI;
    for (let k = 0; k < steps; k++) u[k] = base + amp * Math.max(0, Math.sin((2 * Math.PI * days * k) / steps + phase)) + 0.04 * r.normal();
  } else if (p === 'bursty') {
    const base = 0.05 + 0.15 * r.next();
    const rate = 0.01 + 0.03 * r.next();
    let left = 0;
    let height = 0;
    for (let k = 0; k < steps; k++) {
      if (left <= 0 && r.next() < rate) {
        left = r.int(3, 20);
        height = 0.5 + 0.5 * r.next();
      }
      u[k] = left > 0 ? height + 0.05 * r.normal() : base + 0.03 * r.normal();
      left--;
    }
  } else if (p === 'ramp') {
    const lo = 0.05 + 0.15 * r.next();
    const hi = 0.6 + 0.4 * r.next();
    const start = r.int(0, Math.floor(steps * 0.6));
    const len = r.int(Math.max(2, Math.floor(steps * 0.05)), Math.max(3, Math.floor(steps * 0.3)));
    const hold = r.int(Math.floor(steps * 0.05), Math.floor(steps * 0.4));
    for (let k = 0; k < steps; k++) {
      let x = lo;
      if (k >= start && k < start + len) x = lo + ((hi - lo) * (k - start)) / len;
      else if (k >= start + len && k < start + len + hold) x = hi;
      u[k] = x + 0.03 * r.normal();
    }
  } else {
    const on = 0.5 + 0.5 * r.next();
    const off = 0.02 + 0.08 * r.next();
    const meanOn = r.int(5, 40);
    const meanOff = r.int(10, 80);
    let state = r.next() < 0.3;
    let left = r.int(1, state ? meanOn : meanOff);
    for (let k = 0; k < steps; k++) {
      if (left-- <= 0) {
        state = !state;
        left = Math.max(1, Math.round(-Math.log(Math.max(r.next(), 1e-9)) * (state ? meanOn : meanOff)));
      }
      u[k] = (state ? on : off) + 0.03 * r.normal();
    }
  }
  for (let k = 0; k < steps; k++) u[k] = Math.min(1, Math.max(0, u[k] as number));
  return u;
}

export function generateTrace(o: GenOptions): Trace {
  const period = o.period ?? 60;
  const r = createRng(o.seed ?? 1);
  const days = o.days ?? 2;
  const patterns: Pattern[] = ['diurnal', 'bursty', 'ramp', 'onoff'];
  const vms: TraceVm[] = [];
  const w = Math.max(3, String(o.vms).length);
  for (let i = 0; i < o.vms; i++) {
    const size = r.pick(SIZES);
    const p: Pattern = o.kind === 'mix' ? r.pick(patterns) : o.kind;
    const u = shape(p, r, o.steps, days);
    const cpu = new Float64Array(o.steps);
    const mem = new Float64Array(o.steps);
    const memBase = 0.4 + 0.4 * r.next();
    for (let k = 0; k < o.steps; k++) {
      cpu[k] = Number(((u[k] as number) * size.vcpus).toFixed(3));
      // Memory in use follows CPU loosely (caches grow with work), never above the VM's size.
      mem[k] = Math.round(size.memMiB * Math.min(1, memBase + 0.2 * (u[k] as number)));
    }
    vms.push({ name: `${p.slice(0, 2)}${String(i).padStart(w, '0')}`, cpu, mem, net: new Float64Array(o.steps) });
  }
  return { name: `gen-${o.kind}-s${o.seed ?? 1}`, times: Array.from({ length: o.steps }, (_, k) => k * period), period, vms };
}

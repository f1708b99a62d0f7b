/**
 * Workload models: what a simulated guest asks of its host over time.
 * Pure functions of (parameters, time): the value at a time never depends on
 * when or how often it was sampled, so counters integrate the same whatever
 * the polling pattern, and the balancer sees the same trace on every run.
 */
import { hashNoise, Rng } from './rng.js';

export type WorkloadKind = 'diurnal' | 'bursty' | 'ramp' | 'on-off' | 'idle';
export const WORKLOAD_KINDS: readonly WorkloadKind[] = ['diurnal', 'bursty', 'ramp', 'on-off', 'idle'];

export interface WorkloadParams {
  kind: WorkloadKind;
  seed: number;
  /** Utilisation of the VM's vCPUs (0..1) at rest and at peak. */
  base: number;
  peak: number;
  /** Period of the pattern (diurnal: a day; ramp: one climb; on-off: one cycle; bursty: slot length). */
  periodS: number;
  phaseS: number;
  /** on-off: share of the period spent on; bursty: chance a slot bursts. */
  duty: number;
  /** Amplitude of the per-second jitter (0..1). */
  noise: number;
  /** Guest memory in use, as a share of its maximum memory: base and swing with load. */
  memBase: number;
  memSwing: number;
  /** I/O at full utilisation, bytes per second. */
  diskRdBps: number;
  diskWrBps: number;
  netRxBps: number;
  netTxBps: number;
  /** Pages dirtied per second per busy core (bytes): drives pre-copy migration. */
  dirtyBpsPerCore: number;
}

/** One sample, written into a caller-owned object (no allocation per VM per step). */
export interface WorkloadSample {
  util: number;
  memFrac: number;
  diskRdBps: number;
  diskWrBps: number;
  netRxBps: number;
  netTxBps: number;
}

export function emptySample(): WorkloadSample {
  return { util: 0, memFrac: 0, diskRdBps: 0, diskWrBps: 0, netRxBps: 0, netTxBps: 0 };
}

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);

/** Utilisation of the VM's vCPUs (0..1) at simulated time tSec. */
export function utilAt(p: WorkloadParams, tSec: number): number {
  const sec = Math.floor(tSec);
  const jitter = (hashNoise(p.seed, sec) - 0.5) * 2 * p.noise;
  const span = p.peak - p.base;
  const x = tSec + p.phaseS;
  let u: number;
  switch (p.kind) {
    case 'diurnal': {
      // Peak in the afternoon of the period, trough at night; a slower wave on top.
      const day = 0.5 - 0.5 * Math.cos((2 * Math.PI * x) / p.periodS);
      const wave = 0.1 * Math.sin((2 * Math.PI * x) / (p.periodS / 24));
      u = p.base + span * clamp01(day + wave);
      break;
    }
    case 'bursty': {
      const slot = Math.floor(x / p.periodS);
      const burst = hashNoise(p.seed ^ 0x5bd1e995, slot) < p.duty;
      u = burst ? p.base + span * (0.7 + 0.3 * hashNoise(p.seed ^ 0x1b873593, slot)) : p.base;
      break;
    }
    case 'ramp': {
      const f = (x % p.periodS) / p.periodS;
      u = p.base + span * f;
      break;
    }
    case 'on-off': {
      const f = (x % p.periodS) / p.periodS;
      u = f < p.duty ? p.peak : p.base;
      break;
    }
    case 'idle':
    default:
      u = p.base;
      break;
  }
  return clamp01(u + jitter);
}

export function sampleAt(p: WorkloadParams, tSec: number, out: WorkloadSample): WorkloadSample {
  const u = utilAt(p, tSec);
  out.util = u;
  out.memFrac = clamp01(p.memBase + p.memSwing * u);
  const io = 0.15 + 0.85 * u;
  const j = 0.85 + 0.3 * hashNoise(p.seed ^ 0x27d4eb2f, Math.floor(tSec));
  out.diskRdBps = p.diskRdBps * io * j;
  out.diskWrBps = p.diskWrBps * io * j;
  out.netRxBps = p.netRxBps * io * j;
  out.netTxBps = p.netTxBps * io * (2 - j);
  return out;
}

/** Parameters for a workload kind, drawn from the generator (the role of the VM picks the kind). */
export function makeWorkload(kind: WorkloadKind, rng: Rng, io: 'light' | 'web' | 'db' | 'batch' = 'light'): WorkloadParams {
  const MiB = 1024 * 1024;
  const base: WorkloadParams = {
    kind,
    seed: rng.u32(),
    base: 0.05,
    peak: 0.6,
    periodS: 86400,
    phaseS: rng.range(0, 86400),
    duty: 0.3,
    noise: 0.05,
    memBase: rng.range(0.3, 0.5),
    memSwing: rng.range(0.05, 0.25),
    diskRdBps: rng.range(0.2, 2) * MiB,
    diskWrBps: rng.range(0.1, 1) * MiB,
    netRxBps: rng.range(0.05, 1) * MiB,
    netTxBps: rng.range(0.05, 1) * MiB,
    dirtyBpsPerCore: rng.range(20, 120) * MiB,
  };
  switch (kind) {
    case 'diurnal':
      base.base = rng.range(0.05, 0.2);
      base.peak = rng.range(0.5, 0.95);
      base.phaseS = rng.range(-4, 4) * 3600;
      base.noise = rng.range(0.03, 0.1);
      break;
    case 'bursty':
      base.base = rng.range(0.02, 0.1);
      base.peak = rng.range(0.8, 1);
      base.periodS = rng.int(20, 120);
      base.duty = rng.range(0.1, 0.35);
      base.memSwing = rng.range(0.02, 0.1);
      break;
    case 'ramp':
      base.base = rng.range(0.05, 0.15);
      base.peak = rng.range(0.7, 1);
      base.periodS = rng.int(600, 3600);
      base.phaseS = rng.range(0, base.periodS);
      break;
    case 'on-off':
      base.base = rng.range(0.01, 0.05);
      base.peak = rng.range(0.85, 1);
      base.periodS = rng.int(300, 1800);
      base.phaseS = rng.range(0, base.periodS);
      base.duty = rng.range(0.25, 0.6);
      break;
    case 'idle':
      base.base = rng.range(0.005, 0.04);
      base.peak = base.base;
      base.noise = 0.01;
      base.memSwing = 0.01;
      base.dirtyBpsPerCore = rng.range(2, 10) * MiB;
      break;
  }
  if (io === 'web') {
    base.netRxBps *= 4;
    base.netTxBps *= 12;
  } else if (io === 'db') {
    base.diskRdBps *= 15;
    base.diskWrBps *= 8;
    base.memBase = rng.range(0.6, 0.8);
    base.dirtyBpsPerCore *= 2;
  } else if (io === 'batch') {
    base.diskRdBps *= 6;
    base.diskWrBps *= 6;
  }
  return base;
}

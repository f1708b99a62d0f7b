/**
 * Trace CSV (`time,vm,cpu,mem[,net]`) and hosts CSV (`name,cores,mem_gib`)
 * parsers. Pure: text in, data out; a bad line is a TraceError naming it.
 */
import { VemError } from '../common/errors.js';

export class TraceError extends VemError {}

export interface TraceVm {
  name: string;
  /** Demand in cores, one per step. */
  cpu: Float64Array;
  /** MiB in use, one per step. */
  mem: Float64Array;
  /** Mbit/s, one per step (zeros when the trace has no net column). */
  net: Float64Array;
}

export interface Trace {
  name: string;
  /** Sample times, seconds, ascending. */
  times: number[];
  /** Seconds between samples (the median gap). */
  period: number;
  vms: TraceVm[];
}

export interface HostSpec {
  name: string;
  cores: number;
  memMiB: number;
}

function num(field: string | undefined, what: string, where: string): number {
  const v = field === undefined || field.trim() === '' ? NaN : Number(field);
  if (!Number.isFinite(v)) throw new TraceError(`${where}: ${what} '${field ?? ''}' is not a number`);
  if (v < 0) throw new TraceError(`${where}: ${what} ${v} is negative`);
  return v;
}

/**
 * Parse a trace. Samples are put on the grid of all distinct times; a VM with
 * no sample at some time keeps its previous value (before its first sample,
 * its first value), so every VM exists for the whole trace.
 */
export function parseTrace(text: string, name = 'trace'): Trace {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').trim().toLowerCase().split(',').map((s) => s.trim());
  const hasNet = header.length === 5 && header[4] === 'net';
  const okHeader = header[0] === 'time' && header[1] === 'vm' && header[2] === 'cpu' && header[3] === 'mem' && (header.length === 4 || hasNet);
  if (!okHeader) throw new TraceError(`${name} line 1: header must be 'time,vm,cpu,mem[,net]', got '${lines[0] ?? ''}'`);
  const rows: Array<{ t: number; vm: string; cpu: number; mem: number; net: number }> = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const where = `${name} line ${i + 1}`;
    const f = line.split(',');
    if (f.length !== header.length) throw new TraceError(`${where}: expected ${header.length} fields, got ${f.length}`);
    const vm = (f[1] as string).trim();
    if (vm === '') throw new TraceError(`${where}: empty vm name`);
    rows.push({ t: num(f[0], 'time', where), vm, cpu: num(f[2], 'cpu', where), mem: num(f[3], 'mem', where), net: hasNet ? num(f[4], 'net', where) : 0 });
  }
  if (rows.length === 0) throw new TraceError(`${name}: no samples after the header`);
  const times = [...new Set(rows.map((r) => r.t))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const byVm = new Map<string, { cpu: Float64Array; mem: Float64Array; net: Float64Array; seen: Uint8Array }>();
  for (const r of rows) {
    let v = byVm.get(r.vm);
    if (!v) {
      const n = times.length;
      v = { cpu: new Float64Array(n), mem: new Float64Array(n), net: new Float64Array(n), seen: new Uint8Array(n) };
      byVm.set(r.vm, v);
    }
    const k = index.get(r.t) as number;
    v.cpu[k] = r.cpu;
    v.mem[k] = r.mem;
    v.net[k] = r.net;
    v.seen[k] = 1;
  }
  const vms: TraceVm[] = [];
  for (const [vmName, v] of byVm) {
    const first = v.seen.indexOf(1);
    for (let k = 0; k < times.length; k++) {
      if (v.seen[k]) continue;
      const src = k < first ? first : k - 1;
      v.cpu[k] = v.cpu[src] as number;
      v.mem[k] = v.mem[src] as number;
      v.net[k] = v.net[src] as number;
    }
    vms.push({ name: vmName, cpu: v.cpu, mem: v.mem, net: v.net });
  }
  const gaps = times.slice(1).map((t, i) => t - (times[i] as number)).sort((a, b) => a - b);
  const period = gaps.length > 0 ? (gaps[Math.floor(gaps.length / 2)] as number) : 60;
  return { name, times, period, vms };
}

/** Hosts CSV: header `name,cores,mem_gib`, one node a line. */
export function parseHostsFile(text: string, name = 'hosts'): HostSpec[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').trim().toLowerCase().replace(/\s/g, '');
  if (header !== 'name,cores,mem_gib') throw new TraceError(`${name} line 1: header must be 'name,cores,mem_gib', got '${lines[0] ?? ''}'`);
  const hosts: HostSpec[] = [];
  const seen = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const where = `${name} line ${i + 1}`;
    const f = line.split(',');
    if (f.length !== 3) throw new TraceError(`${where}: expected 3 fields, got ${f.length}`);
    const hn = (f[0] as string).trim();
    if (hn === '' || seen.has(hn)) throw new TraceError(`${where}: empty or repeated host name '${hn}'`);
    seen.add(hn);
    const cores = num(f[1], 'cores', where);
    const gib = num(f[2], 'mem_gib', where);
    if (cores <= 0 || gib <= 0) throw new TraceError(`${where}: cores and mem_gib must be positive`);
    hosts.push({ name: hn, cores, memMiB: gib * 1024 });
  }
  if (hosts.length === 0) throw new TraceError(`${name}: no hosts after the header`);
  return hosts;
}

/** N identical hosts named node01..nodeNN. */
export function uniformHosts(n: number, cores: number, memGiB: number): HostSpec[] {
  const w = String(n).length < 2 ? 2 : String(n).length;
  return Array.from({ length: n }, (_, i) => ({ name: `node${String(i + 1).padStart(w, '0')}`, cores, memMiB: memGiB * 1024 }));
}

/** Serialise a trace back to CSV (the generator's output format). */
export function traceToCsv(t: Trace, withNet = false): string {
  const out: string[] = [withNet ? 'time,vm,cpu,mem,net' : 'time,vm,cpu,mem'];
  for (let k = 0; k < t.times.length; k++) {
    for (const v of t.vms) {
      const base = `${t.times[k]},${v.name},${Number((v.cpu[k] as number).toFixed(3))},${Math.round(v.mem[k] as number)}`;
      out.push(withNet ? `${base},${Number((v.net[k] as number).toFixed(1))}` : base);
    }
  }
  return out.join('\n') + '\n';
}

/**
 * `vem balance simulate|plan|apply|generate`: level-2 balancing from the shell.
 * simulate replays a trace under every policy; plan/apply work on a live
 * cluster through the node agents.
 */
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { firstFitDecreasing } from '../balancer/placement.js';
import { UsageError } from '../common/errors.js';
import { loadHostsFile, loadTrace } from '../balancer/io.js';
import { POLICY_NAMES, isPolicyName, policyByName, type PolicyName } from '../balancer/policies.js';
import { metricsTable, roundMetrics } from '../balancer/report.js';
import { simulate, type SimMetrics } from '../balancer/simulator.js';
import { traceToCsv, uniformHosts, type HostSpec } from '../balancer/trace.js';
import { TRACE_KINDS, generateTrace, type TraceKind } from '../balancer/tracegen.js';
import { boolOpt, parseCommandArgs, stringOpt, type Parsed } from './args.js';
import { findCommand } from './commands.js';

/** The one usage text (vem balance --help's), printed with every usage error too. */
const USAGE = findCommand('balance')?.usage ?? 'vem balance plan|apply|simulate|generate';

function positiveNumber(p: Parsed, name: string, integer: boolean): number | undefined {
  const s = stringOpt(p, name);
  if (s === undefined) return undefined;
  const v = Number(s);
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) throw new UsageError(`vem balance: --${name} must be a positive ${integer ? 'integer' : 'number'}, got '${s}'`);
  return v;
}

export function hostsFromArgs(p: Parsed): HostSpec[] {
  const file = stringOpt(p, 'hosts-file');
  const n = positiveNumber(p, 'hosts', true);
  if (file !== undefined) {
    if (n !== undefined) throw new UsageError('vem balance: give either --hosts-file or --hosts, not both');
    return loadHostsFile(file);
  }
  const cores = positiveNumber(p, 'host-cores', false);
  const mem = positiveNumber(p, 'host-mem-gib', false);
  if (n === undefined || cores === undefined || mem === undefined) {
    throw new UsageError('vem balance simulate: hosts are needed: --hosts N --host-cores C --host-mem-gib M, or --hosts-file F', USAGE);
  }
  return uniformHosts(n, cores, mem);
}

export function policiesFromArgs(p: Parsed): PolicyName[] {
  const s = stringOpt(p, 'policy');
  if (s === undefined) return [...POLICY_NAMES];
  const names = s.split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const n of names) if (!isPolicyName(n)) throw new UsageError(`vem balance: unknown policy '${n}'`, `policies: ${POLICY_NAMES.join(', ')}`);
  if (names.length === 0) throw new UsageError('vem balance: --policy is empty');
  return names as PolicyName[];
}

/** What the table's columns count, in their units (the JSON keys are the same names, same units). */
const UNITS = [
  'sla_violation: share of node-seconds above 90 % CPU demand; unmet_cpu: core-seconds of CPU demand no node served;',
  'cv: mean coefficient of variation of node CPU; gb_moved: GiB sent by migrations; plan_ms_p99: planner time per round, ms (99th percentile);',
  'slatah, pdm, slav: CloudSim\'s SLA time per active host, performance degradation by migration, and their product.',
].join('\n');

/** A trace whose VMs cannot all fit in the nodes' memory gives figures that mean nothing: say so up front. */
export function fitWarnings(trace: { vms: ReadonlyArray<{ name: string; mem: ArrayLike<number> }> }, hosts: readonly HostSpec[]): string[] {
  const items = trace.vms.map((v) => ({ name: v.name, cpu: 0, memMiB: Array.from(v.mem).reduce((m, x) => Math.max(m, x), 0) }));
  const { overflow } = firstFitDecreasing(hosts, items, 1);
  if (overflow.length === 0) return [];
  const need = items.reduce((t, v) => t + v.memMiB, 0) / 1024;
  const have = hosts.reduce((t, h) => t + h.memMiB, 0) / 1024;
  return [`${overflow.length} of ${trace.vms.length} VMs do not fit in the nodes' memory at their peak (${need.toFixed(1)} GiB of VMs, ${have.toFixed(1)} GiB on ${hosts.length} nodes): the figures below overcommit memory; give more or bigger nodes`];
}

async function simulateCmd(args: string[]): Promise<number> {
  const p = parseCommandArgs('balance simulate', args, {
    trace: { type: 'string' }, hosts: { type: 'string' }, 'host-cores': { type: 'string' }, 'host-mem-gib': { type: 'string' },
    'hosts-file': { type: 'string' }, policy: { type: 'string' }, json: { type: 'boolean' },
  }, false);
  const tracePath = stringOpt(p, 'trace');
  if (tracePath === undefined) throw new UsageError('vem balance simulate: --trace F is required', USAGE);
  const hosts = hostsFromArgs(p);
  const policies = policiesFromArgs(p);
  const trace = loadTrace(tracePath);
  const warnings = fitWarnings(trace, hosts);
  for (const w of warnings) process.stderr.write(`vem balance simulate: warning: ${w}\n`);
  const results: Record<string, SimMetrics> = {};
  for (const name of policies) results[name] = roundMetrics(simulate(trace, hosts, policyByName(name)));
  if (boolOpt(p, 'json')) {
    process.stdout.write(JSON.stringify({ trace: trace.name, vms: trace.vms.length, hosts: hosts.length, warnings, policies: results }) + '\n');
  } else {
    process.stdout.write(metricsTable(`${trace.name}: ${trace.vms.length} VMs, ${hosts.length} nodes, ${trace.times.length} samples every ${trace.period} s`, results) + '\n' + UNITS + '\n');
  }
  return 0;
}

async function generateCmd(args: string[]): Promise<number> {
  const p = parseCommandArgs('balance generate', args, {
    kind: { type: 'string' }, vms: { type: 'string' }, steps: { type: 'string' }, period: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' },
  }, false);
  const kind = stringOpt(p, 'kind') ?? 'mix';
  if (!(TRACE_KINDS as readonly string[]).includes(kind)) throw new UsageError(`vem balance generate: unknown kind '${kind}'`, `kinds: ${TRACE_KINDS.join(', ')}`);
  const out = stringOpt(p, 'out');
  if (out === undefined) throw new UsageError('vem balance generate: --out F is required', USAGE);
  const t = generateTrace({
    kind: kind as TraceKind, vms: positiveNumber(p, 'vms', true) ?? 100, steps: positiveNumber(p, 'steps', true) ?? 720,
    period: positiveNumber(p, 'period', false) ?? 60, seed: positiveNumber(p, 'seed', true) ?? 1,
  });
  const csv = traceToCsv(t);
  // '-' is standard output; a name ending .gz is compressed, as simulate --trace expects of it.
  if (out === '-') process.stdout.write(csv);
  else writeFileSync(out, out.endsWith('.gz') ? gzipSync(csv) : csv);
  process.stderr.write(`${t.vms.length} VMs x ${t.times.length} samples -> ${out === '-' ? 'standard output' : out}${out.endsWith('.gz') ? ' (gzip)' : ''}\n`);
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'simulate':
      return simulateCmd(rest);
    case 'generate':
      return generateCmd(rest);
    case 'plan':
    case 'apply': {
      const live = await import('./balance-live.js');
      return live.run(sub, rest);
    }
    default:
      throw new UsageError(sub === undefined ? 'vem balance: which one? plan, apply, simulate or generate' : `vem balance: unknown subcommand '${sub}'`, USAGE);
  }
}

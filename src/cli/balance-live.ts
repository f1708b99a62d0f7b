/**
 * `vem balance plan|apply` on the live cluster from the cluster file.
 * plan = recommendations; apply = carry them out (all, or --only some of them,
 * the rest dismissed); apply --auto = automatic mode, planning and applying
 * every --every seconds until interrupted.
 */
import { createInterface } from 'node:readline/promises';
import { UsageError, VemError } from '../common/errors.js';
import { loadClusterFile, openLink, parseSshSpec, terminalPassphrase, type NodeConfig, type NodeLink } from '../link/index.js';
import { boolOpt, parseCommandArgs, stringOpt, type Parsed } from './args.js';
import { agentSource } from '../balancer/agent-source.js';
import { applyMoves, planLive, unknownNodes, type LivePlanOptions } from '../balancer/live.js';
import type { Move } from '../balancer/types.js';

const OPTIONS = {
  cluster: { type: 'string' },
  evacuate: { type: 'string' },
  maintenance: { type: 'string' },
  'anti-affinity': { type: 'string', multiple: true },
  'dest-uri': { type: 'string', multiple: true },
  period: { type: 'string' },
  only: { type: 'string' },
  json: { type: 'boolean' },
  yes: { type: 'boolean' },
  auto: { type: 'boolean' },
  every: { type: 'string' },
} as const;

function list(p: Parsed, name: string): string[] {
  const s = stringOpt(p, name);
  return s === undefined ? [] : s.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

function multi(p: Parsed, name: string): string[] {
  const v = p.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** Where each node's libvirt listens for migrations: --dest-uri NODE=URI, else the cluster file's migrate-uri, else qemu+ssh://<its ssh host>/system. */
export function destUris(nodes: readonly NodeConfig[], given: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of nodes) {
    const host = n.ssh ? parseSshSpec(n.ssh)?.host : undefined;
    if (n.migrateUri) out.set(n.name, n.migrateUri);
    else if (host) out.set(n.name, `qemu+ssh://${host}/system`);
  }
  for (const g of given) {
    const m = /^([^=]+)=(.+)$/.exec(g);
    if (!m) throw new UsageError(`vem balance: --dest-uri wants NODE=URI, got '${g}'`);
    if (!nodes.some((n) => n.name === m[1])) throw new UsageError(`vem balance: --dest-uri names unknown node '${m[1]}'`);
    out.set(m[1] as string, m[2] as string);
  }
  return out;
}

function describe(m: Move): string {
  return `${m.vm.padEnd(20)} ${m.from} -> ${m.to}  (${m.reason}, score ${m.score.toFixed(3)}, ~${Math.round(m.estSeconds)} s)`;
}

export async function run(sub: 'plan' | 'apply', args: string[]): Promise<number> {
  const p = parseCommandArgs(`balance ${sub}`, args, OPTIONS, false);
  const cluster = loadClusterFile(stringOpt(p, 'cluster'));
  if (cluster.nodes.length === 0) throw new UsageError(`vem balance: no nodes in ${cluster.path}`);
  const period = Number(stringOpt(p, 'period') ?? '60');
  if (!Number.isFinite(period) || period <= 0) throw new UsageError('vem balance: --period must be a positive number of seconds');
  const every = Number(stringOpt(p, 'every') ?? '300');
  if (!Number.isFinite(every) || every <= 0) throw new UsageError('vem balance: --every must be a positive number of seconds');
  const opts: LivePlanOptions = {
    evacuate: list(p, 'evacuate'),
    maintenance: list(p, 'maintenance'),
    antiAffinity: multi(p, 'anti-affinity').map((g) => g.split(',').map((x) => x.trim()).filter((x) => x !== '')),
  };
  const links: NodeLink[] = cluster.nodes.map((n) => openLink(n, { askPassphrase: terminalPassphrase() }));
  const src = agentSource(links, {
    periodSec: period, samples: 5, destUri: destUris(cluster.nodes, multi(p, 'dest-uri')),
    labels: new Map(cluster.nodes.map((n) => [n.name, n.labels])),
  });
  const out = (s: string): boolean => process.stdout.write(s + '\n');
  try {
    for (;;) {
      const { snapshot, moves } = await planLive(src, opts);
      const bad = unknownNodes(snapshot, [...(opts.evacuate ?? []), ...(opts.maintenance ?? [])]);
      if (bad.length > 0) throw new UsageError(`vem balance: unknown node(s): ${bad.join(', ')}`);
      for (const n of snapshot.nodes.filter((x) => !x.reachable)) process.stderr.write(`vem balance: node ${n.name} unreachable; it takes no VMs in this plan\n`);
      const only = list(p, 'only');
      const chosen = only.length > 0 ? moves.filter((m) => only.includes(m.vm)) : moves;
      if (sub === 'plan') {
        if (boolOpt(p, 'json')) out(JSON.stringify({ nodes: snapshot.nodes.length, vms: snapshot.vms.length, moves }));
        else out(moves.length === 0 ? 'balanced: no migration recommended' : moves.map(describe).join('\n'));
        return 0;
      }
      if (chosen.length > 0 && !boolOpt(p, 'yes') && !boolOpt(p, 'auto')) {
        out(chosen.map(describe).join('\n'));
        if (!process.stdin.isTTY) throw new UsageError('vem balance apply: confirm with --yes (no terminal to ask on)');
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        const answer = await rl.question(`Carry out ${chosen.length} migration(s)? [y/N] `);
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) return 1;
      }
      const results = await applyMoves(src, chosen, undefined, (r) =>
        out(`${r.ok ? 'done  ' : 'FAILED'} ${describe(r.move)}${r.ok ? ` in ${r.seconds.toFixed(1)} s` : `: ${r.error ?? ''}`}`));
      if (!boolOpt(p, 'auto')) return results.every((r) => r.ok) ? 0 : 1;
      await new Promise((r) => setTimeout(r, every * 1000));
    }
  } catch (e) {
    throw e instanceof VemError ? e : new VemError(`vem balance ${sub}: ${(e as Error).message}`);
  } finally {
    await Promise.all(links.map((l) => l.close()));
  }
}

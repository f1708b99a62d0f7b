/**
 * `vem balance plan|apply` on the live cluster from the cluster file.
 * plan = recommendations; apply = carry them out (all, or --only some of them,
 * the rest dismissed); apply --auto = automatic mode, planning and applying
 * every --every seconds until interrupted, each round only while it holds the
 * agents' `balance` lease (src/link/balance-lease.ts), so two of them never move
 * VMs of one cluster at once.
 */
import { createInterface } from 'node:readline/promises';
import { UsageError, VemError } from '../common/errors.js';
import { BalanceLease, describeHolder, whoAmI } from '../link/balance-lease.js';
import { loadClusterFile, openLink, parseSshSpec, terminalPassphrase, type NodeConfig, type NodeLink } from '../link/index.js';
import { boolOpt, parseCommandArgs, stringOpt, type Parsed } from './args.js';
import { agentSource } from '../balancer/agent-source.js';
import { describeRemaining, type EvacuationPlan } from '../balancer/evacuate.js';
import { applyMoves, copyText, planLive, storageNotes, unknownNodes, type LivePlanOptions, type LiveSnapshot, type MigrationOutcome } from '../balancer/live.js';
import { DEFAULT_LEVEL2, historySamples } from '../balancer/level2.js';
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
  paused: { type: 'string' },
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

/** Planning samples the live source reads: as many as the policy the plan runs with looks at (its peak window). */
export function liveSamples(opts: Pick<LivePlanOptions, 'config'>): number {
  return historySamples({ ...DEFAULT_LEVEL2, ...opts.config });
}

/** One move for people: memory and disk bytes apart (copyText), "disk ?" where unknown. */
function describeMove(m: Move, memMiB?: number): string {
  const how = m.reason === 'evacuation' ? (m.live === false ? 'offline' : 'live') : `score ${m.score.toFixed(3)}`;
  return `${m.vm.padEnd(20)} ${m.from} -> ${m.to}  (${m.reason}, ${how}, ${copyText(memMiB, m)}, ~${Math.round(m.estSeconds)} s)`;
}

/** What a plan says when it recommends nothing: never "balanced" for a cluster with nothing to balance between. */
function nothingToDo(s: LiveSnapshot, evac: EvacuationPlan): string[] {
  const out: string[] = [];
  for (const n of evac.nodes) if (n.vms === 0) out.push(`node ${n.node} holds no VMs: nothing to move`);
  if (evac.nodes.length > 0) return out;
  const up = s.nodes.filter((n) => n.reachable);
  if (up.length < 2) return [`only ${up.length === 1 ? `one node (${up[0]?.name ?? ''})` : 'no node'} reachable: nothing to balance between, no migration recommended`];
  return ['balanced: no migration recommended'];
}

/** After apply: per evacuated node, the VMs it still holds (the plan's remaining, plus moves dismissed or failed). */
function heldAfter(evac: EvacuationPlan, chosen: readonly Move[], results: readonly MigrationOutcome[]): Map<string, string[]> {
  const ok = new Set(results.filter((r) => r.ok).map((r) => `${r.move.vm}@${r.move.from}`));
  const done = new Set(chosen.map((m) => `${m.vm}@${m.from}`));
  const out = new Map<string, string[]>();
  for (const n of evac.nodes) {
    const left = evac.remaining.filter((r) => r.node === n.node).map((r) => r.vm);
    for (const m of evac.moves.filter((x) => x.from === n.node)) {
      const k = `${m.vm}@${m.from}`;
      if (!done.has(k)) left.push(`${m.vm} (move not chosen)`);
      else if (!ok.has(k)) left.push(`${m.vm} (migration failed)`);
    }
    out.set(n.node, left);
  }
  return out;
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
  const paused = stringOpt(p, 'paused');
  if (paused !== undefined && paused !== 'live' && paused !== 'keep') throw new UsageError(`vem balance: --paused wants live or keep, got '${paused}'`);
  if (paused !== undefined) opts.paused = paused;
  const links: NodeLink[] = cluster.nodes.map((n) => openLink(n, { askPassphrase: terminalPassphrase() }));
  const src = agentSource(links, {
    periodSec: period, samples: liveSamples(opts), destUri: destUris(cluster.nodes, multi(p, 'dest-uri')),
    labels: new Map(cluster.nodes.map((n) => [n.name, n.labels])),
  });
  const out = (s: string): boolean => process.stdout.write(s + '\n');
  const auto = sub === 'apply' && boolOpt(p, 'auto');
  // Automatic mode holds the lease for this round and the next (a CLI that dies frees it after the TTL).
  const lease = auto ? new BalanceLease(() => links, { holder: whoAmI('vem balance'), op: 'level-2 balancing (vem balance apply --auto)', ttlSec: every + 60 }) : undefined;
  let stop = false;
  let wake: () => void = () => undefined;
  const onSignal = (): void => {
    // The first ^C ends after this round (the lease is given back); a second ends now (the lease runs out).
    if (stop) process.exit(130);
    stop = true;
    wake();
  };
  if (auto) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const pause = (): Promise<void> => new Promise((r) => {
    const t = setTimeout(r, every * 1000);
    wake = () => {
      clearTimeout(t);
      r();
    };
  });
  let holding = false;
  try {
    for (;;) {
      if (lease) {
        const o = await lease.acquire();
        if (!o.ok) {
          holding = false;
          process.stderr.write(`vem balance: nothing moved this round: no balance lease on ${o.refused.node}: ${describeHolder(o.refused)}\n`);
          await pause();
          if (stop) return 0;
          continue;
        }
        if (!holding) process.stderr.write(`vem balance: balance lease held on ${o.nodes.join(', ') || 'no node'} as ${lease.holder}${o.skipped.length ? `; not reached: ${o.skipped.map((s) => `${s.node} (${s.why})`).join(', ')}` : ''}\n`);
        holding = true;
        // Migrations can outlast the TTL: renew while the round runs.
        lease.keepRenewing(Math.min(30, every) * 1000, (lost) => process.stderr.write(`vem balance: balance lease lost on ${lost.refused.node}: ${describeHolder(lost.refused)}\n`));
      }
      const { snapshot, moves, evacuation } = await planLive(src, opts);
      const bad = unknownNodes(snapshot, [...(opts.evacuate ?? []), ...(opts.maintenance ?? [])]);
      if (bad.length > 0) throw new UsageError(`vem balance: unknown node(s): ${bad.join(', ')}`);
      const lost = snapshot.nodes.filter((n) => !n.reachable && opts.evacuate?.includes(n.name)).map((n) => n.name);
      // Its VMs are unknown: a plan that says "nothing to move" would be a lie.
      if (lost.length > 0) throw new VemError(`vem balance: cannot evacuate ${lost.join(', ')}: unreachable, so which VMs it runs is unknown`, 'reach its agent first (vem call NODE node.info)');
      for (const n of snapshot.nodes.filter((x) => !x.reachable)) process.stderr.write(`vem balance: node ${n.name} unreachable; it takes no VMs in this plan\n`);
      const only = list(p, 'only');
      const chosen = only.length > 0 ? moves.filter((m) => only.includes(m.vm)) : moves;
      const held = evacuation.nodes.reduce((t, n) => t + n.holds, 0);
      const memOf = new Map(snapshot.vms.map((v) => [v.name, v.memMiB]));
      const describe = (m: Move): string => describeMove(m, memOf.get(m.vm));
      // What storage rules out, and what the plan assumes where disk bytes are unknown.
      for (const line of storageNotes(snapshot)) process.stderr.write(`vem balance: ${line}\n`);
      const story = [...(moves.length > 0 ? moves.map(describe) : nothingToDo(snapshot, evacuation)), ...describeRemaining(evacuation)];
      if (sub === 'plan') {
        if (boolOpt(p, 'json')) out(JSON.stringify({ nodes: snapshot.nodes.length, vms: snapshot.vms.length, moves, evacuation }));
        else out(story.join('\n'));
        // A node being evacuated that would keep VMs is not safe to power off: say so in the exit code too.
        return held > 0 ? 1 : 0;
      }
      if (chosen.length > 0 && !boolOpt(p, 'yes') && !boolOpt(p, 'auto')) {
        out([...chosen.map(describe), ...describeRemaining(evacuation)].join('\n'));
        if (!process.stdin.isTTY) throw new UsageError('vem balance apply: confirm with --yes (no terminal to ask on)');
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        const answer = await rl.question(`Carry out ${chosen.length} migration(s)? [y/N] `);
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) return 1;
      } else if (chosen.length === 0 || boolOpt(p, 'yes')) {
        if (chosen.length === 0) out(story.join('\n'));
        else for (const line of describeRemaining(evacuation)) out(line);
      }
      const results = await applyMoves(src, chosen, undefined, (r) =>
        out(`${r.ok ? 'done  ' : 'FAILED'} ${describe(r.move)}${r.ok ? ` in ${r.seconds.toFixed(1)} s` : `: ${r.error ?? ''}`}`));
      let left = 0;
      for (const [node, vms] of heldAfter(evacuation, chosen, results)) {
        left += vms.length;
        if (vms.length > 0) process.stderr.write(`vem balance: node ${node} still holds ${vms.length} VM${vms.length === 1 ? '' : 's'}: ${vms.join(', ')}\n`);
        else out(`node ${node} is empty`);
      }
      if (!auto) return results.every((r) => r.ok) && left === 0 ? 0 : 1;
      await pause();
      if (stop) return 0;
    }
  } catch (e) {
    throw e instanceof VemError ? e : new VemError(`vem balance ${sub}: ${(e as Error).message}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await lease?.release();
    await Promise.all(links.map((l) => l.close()));
  }
}

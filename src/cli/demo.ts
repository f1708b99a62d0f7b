/**
 * `vem demo`: a local SIMULATED cluster (several nodes, dozens of VMs with moving
 * load, migrations that take time), one real agent per node on 127.0.0.1, and
 * the dashboard on them through the same links a real site uses. With --mixed the last two
 * nodes are a simulated LXC node and a simulated Xen node, each answering as that libvirt
 * driver does (no migration or snapshots of containers, Xen's Domain-0...), still SIMULATED.
 */
import { boolOpt, parseCommandArgs, stringOpt } from './args.js';
import { UsageError } from '../common/errors.js';
import { createSimCluster, ManualClock, type SimDriverKind } from '../libvirt/sim/index.js';
import { startAgent, type RunningAgent } from '../agent/index.js';
import { openDirectLink } from '../link/index.js';
import { runDashboard } from '../tui/views/app.js';

function intOpt(v: string | undefined, name: string, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`vem demo: --${name} must be a whole number from ${min} to ${max}`);
  return n;
}

export async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs(
    'demo',
    args,
    { nodes: { type: 'string' }, vms: { type: 'string' }, mixed: { type: 'boolean' }, seed: { type: 'string' }, 'no-tui': { type: 'boolean' }, wall: { type: 'boolean' }, refresh: { type: 'string' }, 'time-scale': { type: 'string' } },
    false,
  );
  const nodes = intOpt(stringOpt(p, 'nodes'), 'nodes', 4, 1, 500);
  // Opt-in, not the default: the plain demo is what the screen fixtures and the other demo tests read.
  const mixed = boolOpt(p, 'mixed');
  if (mixed && nodes < 3) throw new UsageError('vem demo: --mixed needs at least 3 nodes (QEMU nodes plus one LXC and one Xen node)');
  const drivers: SimDriverKind[] | undefined = mixed ? Array.from({ length: nodes }, (_, i): SimDriverKind => (i === nodes - 2 ? 'lxc' : i === nodes - 1 ? 'xen' : 'qemu')) : undefined;
  const vms = intOpt(stringOpt(p, 'vms'), 'vms', 40, 0, 100_000);
  const seed = intOpt(stringOpt(p, 'seed'), 'seed', 1, 0, 2 ** 31);
  const refreshMs = intOpt(stringOpt(p, 'refresh'), 'refresh', 1000, 100, 60_000);
  const timeScale = Number(stringOpt(p, 'time-scale') ?? '1');
  if (!(timeScale > 0)) throw new UsageError('vem demo: --time-scale must be a positive number');
  // Frozen: a fixed seed and metrics read once, so screen captures are stable (test fixtures).
  // The simulated clock then stands still at a fixed date, so every figure is the same on every run.
  const frozen = process.env['VEM_DEMO_FROZEN'] === '1';
  // Live, one node in five is a small, hot box (sim hotspots), so the balancer has work to do on camera.
  const sim = createSimCluster({ nodes, vmsPerNode: Math.ceil(vms / nodes), seed, templates: true, ...(drivers ? { drivers } : {}), ...(frozen ? { clock: new ManualClock() } : { timeScale, hotspots: true }) });
  const agents: RunningAgent[] = [];
  try {
    for (const hv of sim.hypervisors) agents.push(await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', pollMs: refreshMs }));
    // Two collections before the first screen, so it starts with every VM and a rate.
    if (frozen) for (const a of agents) for (let i = 0; i < 2; i++) await a.collectNow();
    const names = sim.hypervisors.map((hv) => hv.uri.replace(/^sim:\/\//, ''));
    if (boolOpt(p, 'no-tui')) {
      agents.forEach((a, i) => process.stdout.write(`${names[i]} ${a.url}\n`));
      process.stdout.write('agents running on loopback (SIMULATED hypervisors); Ctrl-C stops them\n');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      return 0;
    }
    const links = agents.map((a, i) => openDirectLink(names[i] ?? `node${i + 1}`, a.url));
    try {
      return await runDashboard({ links, refreshMs, frozen, wall: boolOpt(p, 'wall') });
    } finally {
      await Promise.allSettled(links.map((l) => l.close()));
    }
  } finally {
    await Promise.allSettled(agents.map((a) => a.close()));
    await sim.close();
  }
}

/**
 * Scale check (not a test, no timed assertion): builds a simulated cluster
 * (default 200 nodes x 50 VMs) and times allDomainStats over every node, as
 * the agents would poll them. Run: node dist/src/libvirt/sim/scale-check.js [nodes] [vmsPerNode] [rounds]
 */
import { createSimCluster } from './cluster.js';

async function main(): Promise<void> {
  const [nodes = 200, perNode = 50, rounds = 10] = process.argv.slice(2).map(Number);
  const t0 = performance.now();
  const c = createSimCluster({ nodes, vmsPerNode: perNode, seed: 1 });
  const buildMs = performance.now() - t0;
  const polls: number[] = [];
  const perCall: number[] = [];
  let count = 0;
  for (let r = 0; r < rounds; r++) {
    await new Promise((res) => setTimeout(res, 1000));
    const a = performance.now();
    count = 0;
    for (const hv of c.hypervisors) {
      const b = performance.now();
      count += (await hv.allDomainStats()).length;
      perCall.push(performance.now() - b);
    }
    polls.push(performance.now() - a);
  }
  const q = (xs: number[], p: number): number => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0;
  const rss = process.memoryUsage().rss / 2 ** 20;
  process.stdout.write(`simulated cluster: ${nodes} nodes x ${perNode} VMs = ${count} VMs, built in ${buildMs.toFixed(0)} ms\n`);
  process.stdout.write(`allDomainStats over all nodes (one call per node), ${rounds} rounds 1 s apart: p50 ${q(polls, 0.5).toFixed(1)} ms, max ${Math.max(...polls).toFixed(1)} ms (first round includes JIT warm-up)\n`);
  process.stdout.write(`one node's call: p50 ${q(perCall, 0.5).toFixed(2)} ms, p99 ${q(perCall, 0.99).toFixed(2)} ms; RSS ${rss.toFixed(0)} MB\n`);
  process.stdout.write(JSON.stringify({ check: 'sim-scale', nodes, vms: count, poll_ms_p50: +q(polls, 0.5).toFixed(1), node_call_ms_p99: +q(perCall, 0.99).toFixed(2), rss_mb: Math.round(rss) }) + '\n');
  await c.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});

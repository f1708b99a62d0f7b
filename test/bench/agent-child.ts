/**
 * The agent under benchmark, in its own process so its CPU and RSS can be read
 * from /proc: starts the agent on a libvirt URI, waits for its VM cache, fills
 * the history window (so RSS is measured with a full hour), prints one JSON line.
 */
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { startAgent } from '../../src/agent/index.js';

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2] ?? '{}') as { uri: string; pollMs: number; historySeconds: number; fill: boolean };
  const agent = await startAgent({ hypervisor: () => connectLibvirt(o.uri, { timeoutMs: 30_000 }), listen: '127.0.0.1:0', pollMs: o.pollMs, historySeconds: o.historySeconds });
  const core = agent.core;
  while (!core.domains.idle) await new Promise((r) => setTimeout(r, 100));
  let fillMs = 0;
  if (o.fill) {
    // One real poll, replayed over the past window: the rings end up as full as after an hour.
    const t0 = performance.now();
    const hv = core.hv();
    const [stats, ns] = await Promise.all([hv.allDomainStats({ nowait: true }), hv.nodeStats()]);
    for (const e of core.collector.vms.values()) e.counters = undefined;
    const n = core.collector.capacity;
    const now = Date.now();
    for (let i = 0; i < n; i++) core.collector.ingest(stats, ns, now - (n - i) * o.pollMs);
    fillMs = performance.now() - t0;
  }
  let rings = 0;
  for (const e of core.collector.vms.values()) if (e.ring) rings++;
  const mem = process.memoryUsage();
  const mb = (b: number): number => Math.round(b / 1048576);
  process.stdout.write(JSON.stringify({ url: agent.url, pid: process.pid, fillMs, heapUsedMb: mb(mem.heapUsed), heapTotalMb: mb(mem.heapTotal), arrayBuffersMb: mb(mem.arrayBuffers), rssMb: mb(mem.rss), historyBytes: core.collector.historyBytes(), vms: core.collector.vms.size, vmsWithHistory: rings, samplesPerVm: core.collector.capacity }) + '\n');
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await agent.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`agent-child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});

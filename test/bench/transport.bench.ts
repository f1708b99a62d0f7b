// Benchmark: XML-RPC round trips to a real agent through the SSH tunnel (a real sshd from the lab,
// direct-tcpip channel) against the same call straight to the agent on loopback, measured in the same
// run; then calls/s with 64 concurrent callers through the tunnel. Last line: one JSON object.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startLab, type LabNode, type LabSshd } from '../lab/index.js';
import { startAgent } from '../../src/agent/index.js';
import { createSimCluster } from '../../src/libvirt/sim/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/client.js';
import { SshLink } from '../../src/tui/transport/index.js';

const METHOD = 'vm.list';
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2000);
const CONCURRENT = 64;
const CONCURRENT_CALLS = Number(process.env['BENCH_CONCURRENT_CALLS'] ?? 6400);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function timeCalls(call: () => Promise<unknown>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call();
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

async function throughput(call: () => Promise<unknown>, callers: number, total: number): Promise<number> {
  let left = total;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (left-- > 0) await call();
    }),
  );
  return total / ((performance.now() - t) / 1000);
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'vem-bench-transport-'));
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  process.env['HOME'] = home;
  const lab = await startLab({ nodes: 1, sshd: true, name: 'bench-transport' });
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 8, seed: 3 });
  const n1 = lab.nodes[0] as LabNode & { sshd: LabSshd };
  const hv = sim.hypervisors[0];
  if (!hv) throw new Error('no simulated node');
  const agent = await startAgent({ hypervisor: hv, listen: `${n1.ip}:0` });
  const port = Number(new URL(agent.url).port);
  writeFileSync(join(home, '.ssh', 'known_hosts'), `${n1.sshd.knownHostsLine}\n`);
  const direct = new XmlRpcClient({ url: agent.url });
  const link = new SshLink(
    { name: 'n1', ssh: `root@${n1.sshd.host}:${n1.sshd.port}`, identity: n1.sshd.userKeyPath, agent: { kind: 'tcp', host: n1.ip, port }, labels: [] },
    { home, agentSocket: null, maxChannels: CONCURRENT },
  );
  try {
    const viaDirect = (): Promise<unknown> => direct.call(METHOD);
    const viaTunnel = (): Promise<unknown> => link.call(METHOD);
    await timeCalls(viaTunnel, 200); // connect + warm both paths
    await timeCalls(viaDirect, 200);
    // Interleave blocks so both paths see the same machine load.
    const d: number[] = [];
    const s: number[] = [];
    for (let b = 0; b < 10; b++) {
      d.push(...(await timeCalls(viaDirect, ROUNDS / 10)));
      s.push(...(await timeCalls(viaTunnel, ROUNDS / 10)));
    }
    d.sort((a, b) => a - b);
    s.sort((a, b) => a - b);
    const cpsDirect = await throughput(viaDirect, CONCURRENT, CONCURRENT_CALLS);
    const cpsTunnel = await throughput(viaTunnel, CONCURRENT, CONCURRENT_CALLS);
    const r = (x: number, k = 3): number => Number(x.toFixed(k));
    console.log(`method ${METHOD}, ${ROUNDS} sequential calls per path, agent on ${n1.ip}:${port}, sshd ${n1.sshd.host}:${n1.sshd.port}`);
    console.log(`direct loopback : p50 ${r(pct(d, 50))} ms  p99 ${r(pct(d, 99))} ms  ${CONCURRENT} callers: ${Math.round(cpsDirect)} calls/s`);
    console.log(`SSH tunnel      : p50 ${r(pct(s, 50))} ms  p99 ${r(pct(s, 99))} ms  ${CONCURRENT} callers: ${Math.round(cpsTunnel)} calls/s`);
    console.log(`tunnel/direct   : p50 x${r(pct(s, 50) / pct(d, 50), 2)}  throughput x${r(cpsTunnel / cpsDirect, 2)}  (target p50_ratio <= 2.0)`);
    console.log(JSON.stringify({ bench: 'transport', p50_ratio: r(pct(s, 50) / pct(d, 50), 2), p99_ms: r(pct(s, 99)), calls_per_s: Math.round(cpsTunnel) }));
  } finally {
    await link.close();
    direct.close();
    await agent.close();
    sim.close();
    await lab.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});

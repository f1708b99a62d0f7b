/**
 * npm run bench:agent — the node agent against a real libvirtd (test driver,
 * 1,000 domains, 500 running, in a lab node):
 *  1. per-poll collection cost: the agent's whole poll (bulk stats NOWAIT + node
 *     stats + rates into history + bookkeeping) against the bare client making the
 *     same two libvirt calls on the same daemon, alternated, medians -> collect_ratio
 *     (the bulk-stats call alone is printed too);
 *  2. the agent in its own process with a full hour of history for the running VMs,
 *     collecting at 1 Hz: CPU % and RSS from /proc;
 *  3. 16 concurrent callers of vm.list and node.stats (the last minute) over HTTP:
 *     calls/s, p50/p99 (answers checked once, then read raw so the load generator
 *     is not the bottleneck).
 *  4. the write-ahead audit log's cost: calls/s of vm.suspend/vm.resume with and without it (audit-cost.ts).
 *  5. an LXC lab node with 50 containers (no bulk stats): the per-domain route against virsh making
 *     the same calls in one session -> lxc_collect_ratio (agent-lxc.ts).
 * Last line: {"bench":"agent","collect_ratio":..,"vm_list_p99_ms":..,"calls_per_s":..,"cpu_pct":..,"rss_mb":..,"audit_ratio":..,"lxc_collect_ratio":..,"lxc_collect_ms":..,"lxc_virsh_ms":..,"lxc_virsh_start_ms":..,"lxc_containers":50}
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { requireLab, startLab, writeTestNodeXml } from '../lab/index.js';
import { lxcCollect } from './agent-lxc.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { startAgent } from '../../src/agent/index.js';
import { encodeCall, XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import { measureAuditCost } from './audit-cost.js';

const DOMAINS = Number(process.env['BENCH_DOMAINS'] ?? 1000);
const RUNNING = Number(process.env['BENCH_RUNNING'] ?? 500);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 60);
const CPU_SECONDS = Number(process.env['BENCH_CPU_SECONDS'] ?? 20);
const LOAD_SECONDS = Number(process.env['BENCH_LOAD_SECONDS'] ?? 8);
const CALLERS = 16;
/** The V8 flags the systemd unit runs the agent with (a small young generation: a steady daemon needs no more). */
const AGENT_NODE_FLAGS = ['--max-semi-space-size=2'];

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)] ?? NaN;
}
function pct(a: number[], p: number): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
const r2 = (x: number): number => Math.round(x * 100) / 100;
function log(msg: string): void {
  process.stdout.write(`${msg}\n`);
}

function procCpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime (fields 14, 15)
}
function procRssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN) / 1024;
}

async function collectRatio(uri: string): Promise<{ ratio: number; bareMs: number; statsOnlyMs: number; agentMs: number }> {
  const bare = await connectLibvirt(uri, { timeoutMs: 30_000 });
  const agent = await startAgent({ hypervisor: () => connectLibvirt(uri, { timeoutMs: 30_000 }), listen: '127.0.0.1:0', pollMs: 3_600_000 });
  try {
    while (!agent.core.domains.idle) await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 3; i++) {
      await bare.allDomainStats({ nowait: true });
      await agent.collectNow();
    }
    const b: number[] = [];
    const s: number[] = [];
    const a: number[] = [];
    const barePoll = async (): Promise<void> => {
      const t0 = performance.now();
      await Promise.all([bare.allDomainStats({ nowait: true }), bare.nodeStats()]);
      b.push(performance.now() - t0);
    };
    const agentPoll = async (): Promise<void> => {
      const t0 = performance.now();
      await agent.collectNow();
      a.push(performance.now() - t0);
    };
    // Alternate which goes first, so neither side always follows the other.
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2 === 0) {
        await barePoll();
        await agentPoll();
      } else {
        await agentPoll();
        await barePoll();
      }
    }
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await bare.allDomainStats({ nowait: true });
      s.push(performance.now() - t0);
    }
    return { ratio: median(a) / median(b), bareMs: median(b), statsOnlyMs: median(s), agentMs: median(a) };
  } finally {
    await agent.close();
    await bare.close();
  }
}

async function main(): Promise<number> {
  const skip = requireLab(undefined, ['libvirt', 'lxc']);
  if (skip) {
    log(`agent bench: ${skip}`);
    return 1;
  }
  // Its own LXC lab node first (started and stopped before the QEMU-side lab).
  const lxc = await lxcCollect(log);
  const lab = await startLab({ nodes: 1, name: 'bench-agent' });
  try {
    const node = lab.nodes[0];
    if (!node) throw new Error('no lab node');
    const xml = join(lab.dir, 'bench-1000.xml');
    writeTestNodeXml(xml, { domains: DOMAINS, running: RUNNING });
    const uri = node.testUri(xml);
    log(`agent bench: test driver with ${DOMAINS} domains (${RUNNING} running) on ${node.name}`);

    const c = await collectRatio(uri);
    log(`collect: bare client poll (allDomainStats NOWAIT + nodeStats) ${r2(c.bareMs)} ms [allDomainStats alone ${r2(c.statsOnlyMs)} ms], agent poll ${r2(c.agentMs)} ms (medians of ${ROUNDS}) -> ratio ${r2(c.ratio)}`);

    // The write-ahead audit log's cost (test/bench/audit-cost.ts; bench:audit prints more of it).
    const audit = await measureAuditCost(uri, Array.from({ length: 8 }, (_, i) => `vm-${String(i + 1).padStart(4, '0')}`), 2);
    log(`audit: vm.suspend/vm.resume without audit log ${Math.round(audit.withoutPerS)} calls/s, with it ${Math.round(audit.withPerS)} calls/s -> audit_ratio ${r2(audit.ratio)}`);

    const here = dirname(fileURLToPath(import.meta.url));
    const child = spawn(process.execPath, [...AGENT_NODE_FLAGS, join(here, 'agent-child.js'), JSON.stringify({ uri, pollMs: 1000, historySeconds: 3600, fill: true })], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const first = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`agent child exited (${code})`)));
      });
      const info = JSON.parse(first) as { url: string; pid: number; fillMs: number; historyBytes: number; vms: number; vmsWithHistory: number; samplesPerVm: number; heapUsedMb: number; heapTotalMb: number; arrayBuffersMb: number };
      log(`agent process ${info.pid}: ${info.vms} VMs, ${info.vmsWithHistory} with ${info.samplesPerVm} samples of history (${r2(info.historyBytes / 1048576)} MiB of rings, filled in ${Math.round(info.fillMs)} ms); JS heap ${info.heapUsedMb}/${info.heapTotalMb} MB, array buffers ${info.arrayBuffersMb} MB`);

      const ticks0 = procCpuTicks(info.pid);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, CPU_SECONDS * 1000));
      const cpuPct = (((procCpuTicks(info.pid) - ticks0) / 100) / ((performance.now() - t0) / 1000)) * 100;
      const rssMb = procRssMb(info.pid);
      log(`idle collecting at 1 Hz for ${CPU_SECONDS} s: CPU ${r2(cpuPct)} % of one core, RSS ${r2(rssMb)} MB`);

      const client = new XmlRpcClient({ url: info.url, timeoutMs: 60_000 });
      const lat: Record<'vm.list' | 'node.stats', number[]> = { 'vm.list': [], 'node.stats': [] };
      const cursor = ((await client.call('node.stats', 0, 1)) as { cursor: number }).cursor;
      const listed = (await client.call('vm.list')) as unknown[];
      if (listed.length !== info.vms) throw new Error(`vm.list returned ${listed.length} VMs, expected ${info.vms}`);
      const listCall = encodeCall('vm.list', []);
      const statsCall = encodeCall('node.stats', [Math.max(0, cursor - 60)]);
      const statsOnce = (await client.call('node.stats', Math.max(0, cursor - 60))) as { t: unknown[] };
      if (statsOnce.t.length < 30) throw new Error(`node.stats returned ${statsOnce.t.length} samples for the last minute`);
      const end = performance.now() + LOAD_SECONDS * 1000;
      let calls = 0;
      const tl = performance.now();
      await Promise.all(
        Array.from({ length: CALLERS }, async (_, i) => {
          let k = i;
          while (performance.now() < end) {
            const m = k++ % 2 === 0 ? 'vm.list' : 'node.stats';
            const s = performance.now();
            // Raw answers: the load generator must not become the bottleneck by decoding 1,000-VM lists
            // (the answers were decoded and checked once before the run).
            const body = await client.post(m === 'vm.list' ? listCall : statsCall);
            lat[m].push(performance.now() - s);
            if (!body.includes('<params>')) throw new Error(`${m} failed: ${body.slice(0, 300)}`);
            calls++;
          }
        }),
      );
      const callsPerS = calls / ((performance.now() - tl) / 1000);
      client.close();
      log(`${CALLERS} callers for ${LOAD_SECONDS} s: ${Math.round(callsPerS)} calls/s; vm.list (${info.vms} VMs) p50 ${r2(pct(lat['vm.list'], 50))} ms p99 ${r2(pct(lat['vm.list'], 99))} ms; node.stats (last minute) p50 ${r2(pct(lat['node.stats'], 50))} ms p99 ${r2(pct(lat['node.stats'], 99))} ms`);
      log(`targets: collect_ratio <= 1.1, rss_mb < 150, cpu_pct < 5`);
      log(JSON.stringify({ bench: 'agent', collect_ratio: r2(c.ratio), vm_list_p99_ms: r2(pct(lat['vm.list'], 99)), calls_per_s: Math.round(callsPerS), cpu_pct: r2(cpuPct), rss_mb: r2(rssMb), audit_ratio: r2(audit.ratio), lxc_collect_ratio: r2(lxc.ratio), lxc_collect_ms: r2(lxc.agentMs), lxc_virsh_ms: r2(lxc.virshMs), lxc_virsh_start_ms: r2(lxc.virshStartMs), lxc_containers: lxc.containers }));
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    return 0;
  } finally {
    await lab.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`agent bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);

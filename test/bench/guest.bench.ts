/**
 * guest.processes latency with 500 processes: in a TCG guest through the node
 * agent (HTTP -> node agent -> virtio-serial channel -> guest agent), and on
 * the host itself (HTTP on loopback -> the same guest agent code), in one run.
 * Last line: {"bench":"guest","procs":500,"vm_ms":..,"host_ms":..} (medians).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { requireLab, openGuestConsole, waitForPrompt } from '../lab/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/client.js';
import { isStruct, type XmlRpcValue } from '../../src/common/xmlrpc/value.js';
import { bootGuest, guestAgentImage, guestLab, startNodeAgent } from '../guest-agent/e2e/setup.js';
import { cliPath, tempDir } from '../guest-agent/helpers.js';

const TARGET = 500;
const CALLS = Number(process.env['VEM_BENCH_CALLS'] ?? 15);

const count = (v: XmlRpcValue): number => (isStruct(v) && typeof v['count'] === 'number' ? v['count'] : -1);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

interface Timing {
  median: number;
  min: number;
  procs: number;
  /** Median time the agent spent reading /proc (the rest is encoding, transport, relay, decoding). */
  sampleMs: number;
}

async function timeCalls(call: () => Promise<XmlRpcValue>): Promise<Timing> {
  let procs = 0;
  for (let i = 0; i < 2; i++) procs = count(await call()); // warm-up (the first call samples CPU twice)
  const ms: number[] = [];
  const sample: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    const r = await call();
    ms.push(performance.now() - t0);
    procs = count(r);
    if (isStruct(r) && typeof r['sampleMs'] === 'number') sample.push(r['sampleMs']);
  }
  return { median: median(ms), min: Math.min(...ms), procs, sampleMs: median(sample) };
}

async function until<T>(ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function hostRun(): Promise<Timing> {
  const dir = tempDir('bench');
  const sleepers: ChildProcess[] = [];
  const agent = spawn(process.execPath, [cliPath(), 'guest-agent', '--listen', '127.0.0.1:0', '--log', `${dir}/log`], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      agent.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      agent.once('exit', () => reject(new Error('host guest agent exited')));
    });
    const c = new XmlRpcClient({ url, timeoutMs: 60_000 });
    // Other programs on this machine come and go: top up until the count reaches the target.
    for (let round = 0; round < 20; round++) {
      const have = count(await c.call('guest.processes'));
      if (have >= TARGET) break;
      for (let i = have; i < TARGET; i++) sleepers.push(spawn('sleep', ['100000'], { stdio: 'ignore' }));
      await new Promise((r) => setTimeout(r, 500));
    }
    return await timeCalls(() => c.call('guest.processes'));
  } finally {
    for (const s of sleepers) s.kill('SIGKILL');
    agent.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function vmRun(): Promise<Timing | null> {
  if (requireLab(undefined, ['libvirt', 'qemu', 'guest']) !== null) return null;
  const image = await guestAgentImage();
  const lab = await guestLab(1);
  try {
    const n1 = lab.nodes[0];
    if (!n1) throw new Error('no lab node');
    await bootGuest(lab, n1, 'bench1', image, 768);
    const agent = await startNodeAgent(n1);
    try {
      const c = new XmlRpcClient({ url: agent.url, timeoutMs: 120_000 });
      const have = await until(120_000, async () => {
        const n = count(await c.call('guest.processes', 'bench1'));
        return n > 0 ? n : undefined;
      });
      const con = await openGuestConsole(n1.qemuUri, 'bench1');
      try {
        await waitForPrompt(con, /vem-guest# /, 60_000);
        const more = TARGET - have;
        await con.command(`i=0; while [ $i -lt ${more} ]; do sleep 100000 </dev/null >/dev/null 2>&1 & i=$((i+1)); done; true`, 120_000);
      } finally {
        await con.close();
      }
      let seen = 0;
      await until(180_000, async () => {
        seen = count(await c.call('guest.processes', 'bench1'));
        return seen >= TARGET ? true : undefined;
      }).catch((e: Error) => {
        throw new Error(`the guest shows ${seen} processes, not ${TARGET}: ${e.message}`);
      });
      return await timeCalls(() => c.call('guest.processes', 'bench1'));
    } finally {
      await agent.stop();
    }
  } finally {
    await lab.stop();
  }
}

async function main(): Promise<void> {
  const host = await hostRun();
  process.stdout.write(`host (loopback HTTP -> guest agent on the host): ${host.procs} processes, median ${host.median.toFixed(1)} ms (reading /proc: ${host.sampleMs} ms), min ${host.min.toFixed(1)} ms over ${CALLS} calls\n`);
  const vm = await vmRun();
  if (vm === null) {
    process.stdout.write('vm: skipped (the lab prerequisites are missing: see requireLab)\n');
    process.stdout.write(`${JSON.stringify({ bench: 'guest', procs: TARGET, vm_ms: null, host_ms: Number(host.median.toFixed(1)) })}\n`);
    return;
  }
  process.stdout.write(`vm (HTTP -> node agent -> virtio-serial -> guest agent, TCG): ${vm.procs} processes, median ${vm.median.toFixed(1)} ms (reading /proc in the guest: ${vm.sampleMs} ms), min ${vm.min.toFixed(1)} ms over ${CALLS} calls\n`);
  process.stdout.write(`ratio vm/host: ${(vm.median / host.median).toFixed(1)}x\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'guest', procs: TARGET, vm_ms: Number(vm.median.toFixed(1)), host_ms: Number(host.median.toFixed(1)), vm_procs: vm.procs, host_procs: host.procs })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`guest bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});

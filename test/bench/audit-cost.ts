/**
 * The write-ahead audit log's cost per change: calls/s of a mutating method
 * (vm.suspend / vm.resume, 8 callers each on its own VM) through an agent with
 * no audit log, one with the audit log (the default), and one with a durable
 * (fdatasync per record) log — same libvirtd, same run, phases alternated.
 * Shared by bench:agent (one key) and bench:audit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { startAgent, type RunningAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';

export interface AuditCost {
  withoutPerS: number;
  withPerS: number;
  durablePerS: number;
  /** with / without (1 = free). */
  ratio: number;
  durableRatio: number;
}

async function phase(a: RunningAgent, vms: string[], seconds: number): Promise<number> {
  const c = new XmlRpcClient({ url: a.url, timeoutMs: 30_000 });
  const end = performance.now() + seconds * 1000;
  let calls = 0;
  const t0 = performance.now();
  await Promise.all(
    vms.map(async (vm) => {
      // Every VM ends a phase running (an even number of calls), so the next phase starts alike.
      let suspend = true;
      while (performance.now() < end || !suspend) {
        await c.call(suspend ? 'vm.suspend' : 'vm.resume', vm);
        suspend = !suspend;
        calls++;
      }
    }),
  );
  c.close();
  return calls / ((performance.now() - t0) / 1000);
}

/** `uri`: a libvirt URI whose domains `vms` are running (suspend/resume must work on them). */
export async function measureAuditCost(uri: string, vms: string[], secondsPerPhase = 2, rounds = 3): Promise<AuditCost> {
  const dir = mkdtempSync(join(tmpdir(), 'vem-audit-bench-'));
  const start = (auditLog?: string, durable?: boolean): Promise<RunningAgent> =>
    startAgent({ hypervisor: () => connectLibvirt(uri, { timeoutMs: 30_000 }), listen: '127.0.0.1:0', pollMs: 3_600_000, plugins: false, auditLog, auditDurable: durable });
  const plain = await start();
  const audited = await start(join(dir, 'audit.jsonl'));
  const durable = await start(join(dir, 'audit-durable.jsonl'), true);
  const sums = { without: 0, with: 0, durable: 0 };
  try {
    await phase(plain, vms, 0.5); // warm-up
    for (let r = 0; r < rounds; r++) {
      // Rotate the order so none always runs first.
      const order: Array<[keyof typeof sums, RunningAgent]> = [
        ['without', plain],
        ['with', audited],
        ['durable', durable],
      ];
      for (let k = 0; k < r; k++) order.push(order.shift() as [keyof typeof sums, RunningAgent]);
      for (const [name, a] of order) sums[name] += await phase(a, vms, secondsPerPhase);
    }
  } finally {
    await plain.close();
    await audited.close();
    await durable.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const withoutPerS = sums.without / rounds;
  const withPerS = sums.with / rounds;
  const durablePerS = sums.durable / rounds;
  return { withoutPerS, withPerS, durablePerS, ratio: withPerS / withoutPerS, durableRatio: durablePerS / withoutPerS };
}

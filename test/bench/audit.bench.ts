/**
 * npm run bench:audit — the write-ahead audit log's cost per change on a real
 * libvirtd (test driver, lab node): calls/s of vm.suspend/vm.resume without an
 * audit log, with it (default) and with a durable one (fdatasync per record),
 * same run. bench:agent reports the same ratio as audit_ratio.
 * Last line: {"bench":"audit","audit_ratio":..,"durable_ratio":..,"without_per_s":..,"with_per_s":..,"durable_per_s":..}
 */
import { join } from 'node:path';
import { requireLab, startLab, testDomainName, writeTestNodeXml } from '../lab/index.js';
import { measureAuditCost } from './audit-cost.js';

const SECONDS = Number(process.env['BENCH_AUDIT_SECONDS'] ?? 3);
const VMS = 8;
const r2 = (x: number): number => Math.round(x * 100) / 100;

async function main(): Promise<number> {
  const skip = requireLab(undefined, ['libvirt']);
  if (skip) {
    process.stdout.write(`audit bench: ${skip}\n`);
    return 1;
  }
  const lab = await startLab({ nodes: 1, name: 'bench-audit' });
  try {
    const node = lab.nodes[0];
    if (!node) throw new Error('no lab node');
    const xml = join(lab.dir, 'bench-audit.xml');
    writeTestNodeXml(xml, { domains: VMS, running: VMS });
    const c = await measureAuditCost(node.testUri(xml), Array.from({ length: VMS }, (_, i) => testDomainName(i)), SECONDS);
    process.stdout.write(
      `vm.suspend/vm.resume, ${VMS} callers, ${SECONDS} s phases x3 alternated: without audit log ${Math.round(c.withoutPerS)} calls/s, ` +
        `with (write-ahead, default) ${Math.round(c.withPerS)} calls/s -> ratio ${r2(c.ratio)}; durable (fdatasync) ${Math.round(c.durablePerS)} calls/s -> ratio ${r2(c.durableRatio)}\n`,
    );
    process.stdout.write(`target: audit_ratio >= 0.9\n`);
    process.stdout.write(
      `${JSON.stringify({ bench: 'audit', audit_ratio: r2(c.ratio), durable_ratio: r2(c.durableRatio), without_per_s: Math.round(c.withoutPerS), with_per_s: Math.round(c.withPerS), durable_per_s: Math.round(c.durablePerS) })}\n`,
    );
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
    process.stderr.write(`audit bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);

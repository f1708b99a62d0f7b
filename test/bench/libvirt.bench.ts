// npm run bench:libvirt — one warm bulk-stats poll (all groups) of a 1,000-domain
// test-driver node and of running TCG guests, through our client and through
// `virsh domstats --raw` in one warm virsh session on the same URI, interleaved in
// the same run. Last line: {"bench":"libvirt","ours_ms":..,"virsh_ms":..,"ratio":..,"domains":1000,"rss_mb":..}
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { buildGuestImage, guestDomainXml, requireLab, startLab, writeTestNodeXml, type Lab, type LabNode } from '../lab/index.js';
import { connectLibvirt, type LibvirtClient } from '../../src/libvirt/client/index.js';

const ROUNDS = Number(process.env['VEM_BENCH_ROUNDS'] ?? 40);
const GUESTS = Number(process.env['VEM_BENCH_GUESTS'] ?? 2);

/** A warm interactive virsh: commands on stdin, a marker echoed after each to know when it is done. */
class WarmVirsh {
  private out = '';
  private waiter: (() => void) | null = null;
  private n = 0;
  private readonly proc: ChildProcessWithoutNullStreams;

  constructor(uri: string) {
    this.proc = spawn('virsh', ['-q', '-c', uri], { stdio: 'pipe' });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d: string) => {
      this.out += d;
      this.waiter?.();
    });
    this.proc.stderr.on('data', () => undefined);
  }

  /** Runs one command; resolves with its output once the marker after it appears. */
  run(cmd: string): Promise<string> {
    const mark = `__vem_mark_${++this.n}__`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`virsh: no answer to "${cmd}"`)), 60_000);
      this.waiter = () => {
        const i = this.out.indexOf(mark);
        if (i < 0) return;
        clearTimeout(timer);
        const text = this.out.slice(0, i);
        this.out = this.out.slice(i + mark.length);
        this.waiter = null;
        resolve(text);
      };
      this.proc.stdin.write(`${cmd}\necho ${mark}\n`);
    });
  }

  close(): void {
    this.proc.stdin.end('quit\n');
    this.proc.kill('SIGTERM');
  }
}

/** virsh's per-call cost by the batch method: one process running K vs 1 domstats ((T_K - T_1) / (K - 1)). */
async function virshBatchPerCall(uri: string, k = 21): Promise<number> {
  const runOnce = (n: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const t = performance.now();
      const p = spawn('virsh', ['-q', '-c', uri, Array(n).fill('domstats --raw').join(';')], { stdio: ['ignore', 'pipe', 'ignore'] });
      p.stdout.on('data', () => undefined);
      p.on('error', reject);
      p.on('close', (code) => (code === 0 ? resolve(performance.now() - t) : reject(new Error(`virsh exited ${code}`))));
    });
  const per: number[] = [];
  for (let i = 0; i < 3; i++) {
    const one = await runOnce(1);
    const many = await runOnce(k);
    per.push((many - one) / (k - 1));
  }
  return median(per);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Interleaved rounds: ours, then virsh, so both see the same machine load. */
async function compare(label: string, client: LibvirtClient, virsh: WarmVirsh): Promise<{ ours: number; virsh: number; domains: number; fields: number }> {
  let domains = 0;
  let fields = 0;
  for (let i = 0; i < 3; i++) {
    await client.allDomainStats();
    await virsh.run('domstats --raw');
  }
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    let t = performance.now();
    const s = await client.allDomainStats();
    ours.push(performance.now() - t);
    domains = s.length;
    fields = s.reduce((n, d) => n + Object.keys(d.raw).length, 0);
    t = performance.now();
    await virsh.run('domstats --raw');
    theirs.push(performance.now() - t);
  }
  const r = { ours: median(ours), virsh: median(theirs), domains, fields };
  console.log(`${label}: ${domains} domains, ${fields} fields/poll; ours median ${r.ours.toFixed(2)} ms (min ${Math.min(...ours).toFixed(2)}), virsh median ${r.virsh.toFixed(2)} ms (min ${Math.min(...theirs).toFixed(2)}), ratio ${(r.ours / r.virsh).toFixed(3)}`);
  return r;
}

async function main(): Promise<void> {
  const rssAtStart = process.memoryUsage().rss / (1024 * 1024);
  const why = requireLab(undefined, ['libvirt', 'qemu', 'guest']);
  if (why) {
    console.error(`bench:libvirt cannot run: ${why}`);
    process.exitCode = 1;
    return;
  }
  let lab: Lab | undefined;
  const virshes: WarmVirsh[] = [];
  const clients: LibvirtClient[] = [];
  try {
    const [l, image] = await Promise.all([startLab({ nodes: 1, name: 'libvirt-bench' }), GUESTS > 0 ? buildGuestImage({ node: false }) : Promise.resolve(null)]);
    lab = l;
    const node = lab.nodes[0] as LabNode;
    const file = join(lab.dir, 'node1000.xml');
    writeTestNodeXml(file, { domains: 1000, running: 600 });
    const testUri = node.testUri(file);

    const c = await connectLibvirt(testUri);
    clients.push(c);
    const v = new WarmVirsh(testUri);
    virshes.push(v);
    const big = await compare('test driver, 1,000 domains', c, v);
    // Conservative: the faster of the two ways to measure virsh counts.
    const batch = await virshBatchPerCall(testUri);
    console.log(`virsh by the batch method (one process, 21 vs 1 calls): ${batch.toFixed(2)} ms per call`);
    const virshMs = Math.max(0.001, Math.min(big.virsh, batch));

    let guests: { ours: number; virsh: number } | null = null;
    if (image) {
      const q = await connectLibvirt(node.qemuUnixUri);
      clients.push(q);
      for (let i = 0; i < GUESTS; i++) {
        await q.createDomain(guestDomainXml({ name: `bench-g${i + 1}`, kernel: image.kernel, initrd: image.initrd, memoryMiB: 192 }));
      }
      await new Promise((r) => setTimeout(r, 8000)); // let them finish booting, so both sides poll settled guests
      const qv = new WarmVirsh(node.qemuUnixUri);
      virshes.push(qv);
      guests = await compare(`QEMU/TCG, ${GUESTS} running guests`, q, qv);
    }
    const rssMb = process.memoryUsage().rss / (1024 * 1024);
    console.log(`process RSS ${rssMb.toFixed(1)} MB (${rssAtStart.toFixed(1)} MB before the lab and client); rounds ${ROUNDS}`);
    if (guests) console.log(`guests: ours ${guests.ours.toFixed(2)} ms, virsh ${guests.virsh.toFixed(2)} ms, ratio ${(guests.ours / guests.virsh).toFixed(3)}`);
    console.log(JSON.stringify({
      bench: 'libvirt',
      ours_ms: Number(big.ours.toFixed(3)),
      virsh_ms: Number(virshMs.toFixed(3)),
      ratio: Number((big.ours / virshMs).toFixed(3)),
      domains: big.domains,
      rss_mb: Number(rssMb.toFixed(1)),
    }));
  } finally {
    for (const v of virshes) v.close();
    for (const c of clients) await c.close().catch(() => undefined);
    await lab?.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});

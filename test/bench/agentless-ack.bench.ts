// A/B for src/link/agentless-ack.ts: two agentless links to the same lab node (its sshd, its
// test driver), one handing back the channel window after each burst and one as ssh2 makes it,
// vm.info (two libvirt calls at once) called alternately on both in the same run. Without the
// early ACK the node's sshd holds the second reply until the delayed ACK (up to 40 ms).
// `node dist/test/bench/agentless-ack.bench.js`; BENCH_ROUNDS (400). Last line: one JSON object.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startLab, writeTestNodeXml, type LabNode, type LabSshd } from '../lab/index.js';
import { AgentlessLink, setLocalAgentLoader } from '../../src/link/index.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 400);
const SLOW_MS = 35;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'vem-bench-ack-'));
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  process.env['HOME'] = home;
  process.env['XDG_STATE_HOME'] = join(home, 'state');
  setLocalAgentLoader(() => import('../../src/cli/agentless-agent.js').then((m) => m.runLocalAgent));
  const lab = await startLab({ nodes: 1, sshd: true, name: 'bench-ack' });
  const n1 = lab.nodes[0] as LabNode & { sshd: LabSshd };
  writeFileSync(join(home, '.ssh', 'known_hosts'), `${n1.sshd.knownHostsLine}\n`);
  const file = join(home, 'node.xml');
  writeTestNodeXml(file, { domains: 8, running: 8 });
  const ssh = `root@${n1.sshd.host}:${n1.sshd.port}`;
  const make = (name: string, ackBursts: boolean): AgentlessLink =>
    new AgentlessLink({ name, ssh, identity: n1.sshd.userKeyPath, agent: { kind: 'unix', path: '/nonexistent' }, labels: [], agentless: true, uri: `test://${file}` }, { home, agentSocket: null, ackBursts });
  const before = make('n1-before', false);
  const after = make('n1-after', true);
  try {
    const vms = (await after.call('vm.list')) as Array<{ name: string }>;
    await before.call('vm.list');
    const vm = vms[0]?.name;
    if (vm === undefined) throw new Error('the test driver has no VM');
    const t: Record<'before' | 'after', number[]> = { before: [], after: [] };
    for (let i = 0; i < 20; i++) {
      await before.call('vm.info', vm);
      await after.call('vm.info', vm);
    }
    for (let i = 0; i < ROUNDS; i++) {
      const pair: Array<['before' | 'after', AgentlessLink]> = i % 2 === 0 ? [['before', before], ['after', after]] : [['after', after], ['before', before]];
      for (const [k, l] of pair) {
        const s = performance.now();
        await l.call('vm.info', vm);
        t[k].push(performance.now() - s);
      }
    }
    const r = (x: number): number => Number(x.toFixed(3));
    const sum = (k: 'before' | 'after'): { p50: number; p99: number; slow: number } => {
      const s = [...t[k]].sort((a, b) => a - b);
      return { p50: r(pct(s, 50)), p99: r(pct(s, 99)), slow: s.filter((x) => x > SLOW_MS).length };
    };
    const b = sum('before');
    const a = sum('after');
    console.log(`vm.info ${vm}, ${ROUNDS} calls per link, alternated, same node, same sshd`);
    console.log(`before (no early ACK): p50 ${b.p50} ms  p99 ${b.p99} ms  over ${SLOW_MS} ms: ${b.slow}/${ROUNDS}`);
    console.log(`after  (ackEachBurst): p50 ${a.p50} ms  p99 ${a.p99} ms  over ${SLOW_MS} ms: ${a.slow}/${ROUNDS}`);
    console.log(JSON.stringify({ bench: 'agentless-ack', rounds: ROUNDS, before_p50_ms: b.p50, after_p50_ms: a.p50, before_p99_ms: b.p99, after_p99_ms: a.p99, before_over_35ms: b.slow, after_over_35ms: a.slow }));
  } finally {
    await Promise.allSettled([before.close(), after.close()]);
    await lab.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});

// Benchmark: XML-RPC round trips to a real agent (`vem agent --sim`, its own process, as deployed)
// through the SSH tunnel (a real sshd from the lab, direct-tcpip channel) against the same call
// straight to the agent on loopback, measured in the same run; then calls/s with 64 concurrent
// callers through the tunnel. Then an agentless node (the agent's code in this process, libvirt's
// socket through an SSH stream-local channel) against a resident agent over the same libvirt (the
// test driver on the lab node), vm.list p50 in the same run, and vm.info p50: vm.list is answered
// from the collector, vm.info asks libvirt each time (two calls at once), so only vm.info crosses
// the stream-local channel per call (it found the delayed-ACK stall, agentless-ack.ts). Last, the dashboard's own CPU
// (`vem tui` in tmux) over 10 agentless nodes against 10 resident ones, both dashboards running
// side by side over the same idle window. Last line: one JSON object.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startLab, writeTestNodeXml, type LabNode, type LabSshd } from '../lab/index.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { XmlRpcClient } from '../../src/common/xmlrpc/client.js';
import { AgentlessLink, setLocalAgentLoader, SshLink, type NodeLink } from '../../src/link/index.js';
import { readFileSync } from 'node:fs';
import { Tmux } from '../tui/e2e/tmux.js';
import { childrenOf } from '../lab/sshd.js';

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

/**
 * Call by call, the two alternating (and which goes first), so both see the same machine load:
 * on a shared 2-core machine, block-wise measurement mostly measures the neighbours. Sorted times.
 */
async function alternate(a: () => Promise<unknown>, b: () => Promise<unknown>, rounds: number): Promise<[number[], number[]]> {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const pair: Array<[() => Promise<unknown>, number[]]> = i % 2 === 0 ? [[a, ta], [b, tb]] : [[b, tb], [a, ta]];
    for (const [call, into] of pair) {
      const t = performance.now();
      await call();
      into.push(performance.now() - t);
    }
  }
  return [ta.sort((x, y) => x - y), tb.sort((x, y) => x - y)];
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

/** `vem agent --sim` in its own process; resolves with its URL once it serves. */
function spawnAgent(listen: string, dir: string, source: string[] = ['--sim', '--sim-vms', '8']): Promise<{ url: string; child: ChildProcess }> {
  const cli = join(process.cwd(), 'dist', 'src', 'cli.js');
  const child = spawn(process.execPath, [cli, 'agent', ...source, '--listen', listen, '--audit-log', join(dir, `audit-${source[0] ?? ''}.log`), '--history-file', 'none'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error(`vem agent did not start: ${err}`)), 20_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving (http:\/\/\S+?)(?:\s|$)/.exec(err);
      if (m?.[1]) {
        clearTimeout(t);
        resolve({ url: m[1].replace(/\/$/, ''), child });
      }
    });
    child.on('exit', (c) => reject(new Error(`vem agent exited ${c}: ${err}`)));
  });
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'vem-bench-transport-'));
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  process.env['HOME'] = home;
  const lab = await startLab({ nodes: 1, sshd: true, name: 'bench-transport' });
  const n1 = lab.nodes[0] as LabNode & { sshd: LabSshd };
  let agent: { url: string; child: ChildProcess } | undefined;
  try {
    agent = await spawnAgent(`${n1.ip}:0`, home);
  } catch (e) {
    await lab.stop();
    throw e;
  }
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
    const [d, s] = await alternate(viaDirect, viaTunnel, ROUNDS);
    // Throughput in alternating slices too, for the same reason.
    const slices = 8;
    let secDirect = 0;
    let secTunnel = 0;
    for (let i = 0; i < slices; i++) {
      secDirect += CONCURRENT_CALLS / slices / (await throughput(viaDirect, CONCURRENT, CONCURRENT_CALLS / slices));
      secTunnel += CONCURRENT_CALLS / slices / (await throughput(viaTunnel, CONCURRENT, CONCURRENT_CALLS / slices));
    }
    const cpsDirect = CONCURRENT_CALLS / secDirect;
    const cpsTunnel = CONCURRENT_CALLS / secTunnel;
    const r = (x: number, k = 3): number => Number(x.toFixed(k));
    const al = await agentlessVsResident(n1, home);
    const dash = await dashboardCpu(n1, home);
    console.log(`method ${METHOD}, ${ROUNDS} sequential calls per path, agent on ${n1.ip}:${port}, sshd ${n1.sshd.host}:${n1.sshd.port}`);
    console.log(`direct loopback : p50 ${r(pct(d, 50))} ms  p99 ${r(pct(d, 99))} ms  ${CONCURRENT} callers: ${Math.round(cpsDirect)} calls/s`);
    console.log(`SSH tunnel      : p50 ${r(pct(s, 50))} ms  p99 ${r(pct(s, 99))} ms  ${CONCURRENT} callers: ${Math.round(cpsTunnel)} calls/s`);
    console.log(`tunnel/direct   : p50 x${r(pct(s, 50) / pct(d, 50), 2)}  throughput x${r(cpsTunnel / cpsDirect, 2)}  (target p50_ratio <= 2.0)`);
    console.log(`resident agent  : p50 ${r(pct(al.resident, 50))} ms  p99 ${r(pct(al.resident, 99))} ms  (vem agent on the node's test driver, ${al.vms} VMs, through SSH)`);
    console.log(`agentless node  : p50 ${r(pct(al.agentless, 50))} ms  p99 ${r(pct(al.agentless, 99))} ms  (agent code in this process, libvirt through an SSH stream-local channel)`);
    console.log(`agentless/resident: p50 x${r(pct(al.agentless, 50) / pct(al.resident, 50), 2)}  (goal <= 1.5)`);
    console.log(`vm.info ${al.infoVm}: agentless p50 ${r(pct(al.agentlessInfo, 50))} ms  p99 ${r(pct(al.agentlessInfo, 99))} ms  resident p50 ${r(pct(al.residentInfo, 50))} ms  p99 ${r(pct(al.residentInfo, 99))} ms  x${r(pct(al.agentlessInfo, 50) / pct(al.residentInfo, 50), 2)}  (libvirt asked per call)`);
    console.log(`dashboard CPU   : ${DASH_NODES} agentless nodes ${r(dash.agentless, 2)} %  ${DASH_NODES} resident nodes ${r(dash.resident, 2)} %  x${r(dash.agentless / dash.resident, 2)}  (vem tui process only, ${DASH_IDLE_S} s idle window, both at once; RSS ${Math.round(dash.agentlessRss)} / ${Math.round(dash.residentRss)} MB; the ${DASH_NODES} resident agents themselves ${r(dash.residentAgents, 2)} %)`);
    console.log(
      JSON.stringify({
        bench: 'transport', p50_ratio: r(pct(s, 50) / pct(d, 50), 2), p99_ms: r(pct(s, 99)), calls_per_s: Math.round(cpsTunnel),
        agentless_p50_ratio: r(pct(al.agentless, 50) / pct(al.resident, 50), 2), agentless_p50_ms: r(pct(al.agentless, 50)), resident_p50_ms: r(pct(al.resident, 50)),
        agentless_info_p50_ratio: r(pct(al.agentlessInfo, 50) / pct(al.residentInfo, 50), 2), agentless_info_p50_ms: r(pct(al.agentlessInfo, 50)), resident_info_p50_ms: r(pct(al.residentInfo, 50)),
        dashboard_cpu_ratio: r(dash.agentless / dash.resident, 2), dashboard_agentless_cpu_pct: r(dash.agentless, 2), dashboard_resident_cpu_pct: r(dash.resident, 2), resident_agents_cpu_pct: r(dash.residentAgents, 2), dashboard_nodes: DASH_NODES,
      }),
    );
  } finally {
    await link.close();
    direct.close();
    agent.child.kill('SIGTERM');
    await lab.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

/** vm.list, then vm.info, through an agentless link and through a resident agent's SSH link, both over the node's test driver, alternated call by call. */
async function agentlessVsResident(n1: LabNode & { sshd: LabSshd }, home: string): Promise<{ agentless: number[]; resident: number[]; vms: number; agentlessInfo: number[]; residentInfo: number[]; infoVm: string }> {
  process.env['XDG_STATE_HOME'] = join(home, 'state');
  setLocalAgentLoader(() => import('../../src/cli/agentless-agent.js').then((m) => m.runLocalAgent));
  const file = join(home, 'node.xml');
  writeTestNodeXml(file, { domains: 8, running: 8 });
  const resident = await spawnAgent(`${n1.ip}:0`, home, ['--uri', n1.testUri(file)]);
  const ssh = `root@${n1.sshd.host}:${n1.sshd.port}`;
  const links: NodeLink[] = [];
  try {
    const viaResident = new SshLink({ name: 'n1r', ssh, identity: n1.sshd.userKeyPath, agent: { kind: 'tcp', host: n1.ip, port: Number(new URL(resident.url).port) }, labels: [] }, { home, agentSocket: null });
    const viaAgentless = new AgentlessLink({ name: 'n1a', ssh, identity: n1.sshd.userKeyPath, agent: { kind: 'unix', path: '/nonexistent' }, labels: [], agentless: true, uri: `test://${file}` }, { home, agentSocket: null });
    links.push(viaResident, viaAgentless);
    const a = (): Promise<unknown> => viaAgentless.call(METHOD);
    const b = (): Promise<unknown> => viaResident.call(METHOD);
    const first = (await a()) as Array<{ name: string }>;
    await timeCalls(a, 200);
    await timeCalls(b, 200);
    const [ta, tb] = await alternate(a, b, ROUNDS);
    const infoVm = first[0]?.name;
    if (infoVm === undefined) throw new Error('the test driver has no VM');
    const ai = (): Promise<unknown> => viaAgentless.call('vm.info', infoVm);
    const bi = (): Promise<unknown> => viaResident.call('vm.info', infoVm);
    await timeCalls(ai, 50);
    await timeCalls(bi, 50);
    const [tai, tbi] = await alternate(ai, bi, ROUNDS);
    return { agentless: ta, resident: tb, vms: first.length, agentlessInfo: tai, residentInfo: tbi, infoVm };
  } finally {
    await Promise.allSettled(links.map((l) => l.close()));
    resident.child.kill('SIGTERM');
  }
}

const DASH_NODES = 10;
const DASH_IDLE_S = Number(process.env['BENCH_DASH_IDLE_S'] ?? 20);
const TICK = 100; // USER_HZ

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The dashboard's node process under a tmux pane's shell. */
function dashboardPid(tm: Tmux): number {
  const shell = Number(tm.tmux('display-message', '-p', '#{pane_pid}').trim());
  const pid = [shell, ...childrenOf(shell)].find((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('cli.js\0tui');
    } catch {
      return false;
    }
  });
  if (pid === undefined) throw new Error('the dashboard process was not found');
  return pid;
}

/**
 * `vem tui` over 10 agentless nodes (the agent's code for each runs in the dashboard's process)
 * and `vem tui` over 10 resident agents (each its own `vem agent` process), all on the lab node's
 * test driver through its sshd, both dashboards up at once so they share the machine's load.
 */
async function dashboardCpu(n1: LabNode & { sshd: LabSshd }, home: string): Promise<{ agentless: number; resident: number; agentlessRss: number; residentRss: number; residentAgents: number }> {
  const file = join(home, 'dash-node.xml');
  writeTestNodeXml(file, { domains: 8, running: 8 });
  const agents: Array<{ url: string; child: ChildProcess }> = [];
  const tms: Tmux[] = [];
  try {
    for (let i = 1; i <= DASH_NODES; i++) {
      const d = join(home, `resident-${i}`);
      mkdirSync(d, { recursive: true });
      agents.push(await spawnAgent(`${n1.ip}:0`, d, ['--uri', n1.testUri(file)]));
    }
    const ssh = `root@${n1.sshd.host}:${n1.sshd.port}`;
    const entry = (name: string, agent: string, uri?: string): string[] => [`  - name: ${name}`, `    ssh: ${ssh}`, `    identity: ${n1.sshd.userKeyPath}`, `    agent: ${agent}`, ...(uri ? [`    uri: ${uri}`] : [])];
    const agentless = join(home, 'agentless.yaml');
    const resident = join(home, 'resident.yaml');
    writeFileSync(agentless, ['nodes:', ...Array.from({ length: DASH_NODES }, (_, i) => entry(`a${i + 1}`, 'none', `test://${file}`)).flat(), ''].join('\n'));
    writeFileSync(resident, ['nodes:', ...agents.map((a, i) => entry(`r${i + 1}`, `${n1.ip}:${new URL(a.url).port}`)).flat(), ''].join('\n'));
    const cli = join(process.cwd(), 'dist', 'src', 'cli.js');
    const env = { HOME: home, XDG_STATE_HOME: join(home, 'state') };
    const ta = new Tmux([process.execPath, cli, 'tui', '--cluster', agentless], { width: 160, height: 48, env });
    tms.push(ta);
    const tr = new Tmux([process.execPath, cli, 'tui', '--cluster', resident], { width: 160, height: 48, env });
    tms.push(tr);
    const allUp = (prefix: string) => (screen: string): boolean => (screen.match(new RegExp(`\\b${prefix}\\d+\\s+up\\b`, 'g')) ?? []).length >= DASH_NODES;
    await ta.waitFor(allUp('a'), 90_000, `${DASH_NODES} agentless nodes up`);
    await tr.waitFor(allUp('r'), 90_000, `${DASH_NODES} resident nodes up`);
    await new Promise((res) => setTimeout(res, 3000)); // first history fills, connections settle
    const pa = dashboardPid(ta);
    const pr = dashboardPid(tr);
    // The resident dashboard's agents do the work the agentless one does in its own process.
    const agentTicks = (): number => agents.reduce((sum, a) => sum + (a.child.pid !== undefined ? cpuTicks(a.child.pid) : 0), 0);
    const a0 = cpuTicks(pa);
    const r0 = cpuTicks(pr);
    const g0 = agentTicks();
    const t0 = Date.now();
    await new Promise((res) => setTimeout(res, DASH_IDLE_S * 1000));
    const secs = (Date.now() - t0) / 1000;
    return {
      agentless: ((cpuTicks(pa) - a0) / TICK / secs) * 100,
      resident: ((cpuTicks(pr) - r0) / TICK / secs) * 100,
      residentAgents: ((agentTicks() - g0) / TICK / secs) * 100,
      agentlessRss: rssMb(pa),
      residentRss: rssMb(pr),
    };
  } finally {
    for (const t of tms) t.kill();
    for (const a of agents) a.child.kill('SIGTERM');
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});

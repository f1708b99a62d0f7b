// End-to-end: real OpenSSH sshd processes from the lab (one per node, each on its own
// 127.77.x.y address), real agents behind them (startAgent on the simulated hypervisor),
// reached through the transport's SSH links with a private HOME.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pty from 'node-pty';
import { requireLab, startLab, type Lab, type LabNode, type LabSshd } from '../../lab/index.js';
import { startAgent, type RunningAgent } from '../../../src/agent/index.js';
import { createSimCluster, type SimCluster } from '../../../src/libvirt/sim/index.js';
import { LinkDownError, openLink, SshLink, type LinkState, type NodeConfig, type NodeLink } from '../../../src/link/index.js';
import { connectionsTo, descendantsOf, holdsConnectionTo, makeHome, startSshAgent, waitState, writeKnownHosts } from './helpers.js';

const skip = requireLab(undefined, ['libvirt', 'sshd']);
const FAST = { backoff: { minMs: 100, maxMs: 800 }, readyTimeoutMs: 8000, keepaliveMs: 1000, keepaliveCountMax: 3 };

function names(v: unknown): string[] {
  assert.ok(Array.isArray(v), 'vm.list returns a list');
  return v.map((x: unknown) => (typeof x === 'string' ? x : (x as { name: string }).name)).sort();
}

describe('SSH links to real sshd and real agents', { skip: skip ?? false }, () => {
  let lab: Lab;
  let sim: SimCluster;
  const agents: RunningAgent[] = [];
  let h: ReturnType<typeof makeHome>;
  let n1: LabNode & { sshd: LabSshd };
  let n2: LabNode & { sshd: LabSshd };
  let agent1Sock: string;
  let agent2Port: number;
  let expected1: string[];
  let expected2: string[];
  const links: NodeLink[] = [];
  const oldHome = process.env['HOME'];

  const track = (l: NodeLink): NodeLink => (links.push(l), l);

  before(async () => {
    h = makeHome('ssh');
    process.env['HOME'] = h.home; // nothing below may fall back to the real ~/.ssh
    lab = await startLab({ nodes: 2, sshd: true, name: 'transport' });
    n1 = lab.nodes[0] as typeof n1;
    n2 = lab.nodes[1] as typeof n2;
    sim = createSimCluster({ nodes: 2, vmsPerNode: 3, seed: 7 });
    const [hv1, hv2] = sim.hypervisors;
    assert.ok(hv1 && hv2);
    // n1's agent on a unix socket (streamlocal), n2's on its loopback address (direct-tcpip).
    agent1Sock = join(lab.dir, 'agent-n1.sock');
    agents.push(await startAgent({ hypervisor: hv1, socket: agent1Sock }));
    const a2 = await startAgent({ hypervisor: hv2, listen: `${n2.ip}:0` });
    agents.push(a2);
    agent2Port = Number(new URL(a2.url).port);
    expected1 = (await hv1.listDomains()).map((d) => d.name).sort();
    expected2 = (await hv2.listDomains()).map((d) => d.name).sort();
    writeKnownHosts(join(h.ssh, 'known_hosts'), [n1.sshd.knownHostsLine, n2.sshd.knownHostsLine]);
  });

  after(async () => {
    await Promise.all(links.map((l) => l.close()));
    await Promise.all(agents.map((a) => a.close()));
    sim?.close();
    await lab?.stop();
    h?.cleanup();
    process.env['HOME'] = oldHome;
  });

  const node1 = (): NodeConfig => ({
    name: 'n1', ssh: `root@${n1.sshd.host}:${n1.sshd.port}`, identity: n1.sshd.userKeyPath,
    agent: { kind: 'unix', path: agent1Sock }, labels: [],
  });

  test('key auth by identity file; calls reach the agent over streamlocal', async () => {
    const seen: LinkState[] = [];
    const link = track(openLink(node1(), { ...FAST, agentSocket: null }));
    link.on('state', (s) => seen.push(s));
    assert.equal(link.state, 'connecting');
    assert.deepEqual(names(await link.call('vm.list')), expected1);
    assert.equal(link.state, 'up');
    assert.ok(seen.includes('up'));
    const methods = await link.call('system.listMethods');
    assert.ok(Array.isArray(methods) && methods.includes('vm.list'));
    // Many calls at once share the one SSH connection.
    const many = await Promise.all(Array.from({ length: 40 }, () => link.call('vm.list')));
    for (const r of many) assert.deepEqual(names(r), expected1);
    // ...one connection: exactly one TCP connection from this process to n1's sshd.
    assert.equal(connectionsTo([process.pid], n1.sshd.host, n1.sshd.port), 1);
    await link.close();
    assert.equal(link.state, 'down');
  });

  test('a VM console through the same SSH link (the agent\'s console upgrade)', async () => {
    const hv1 = sim.hypervisors[0];
    assert.ok(hv1);
    const running = (await hv1.listDomains({ active: true, inactive: false }))[0]?.name;
    assert.ok(running, 'the simulated node has a running VM');
    const link = track(openLink(node1(), { ...FAST, agentSocket: null }));
    const con = await link.openConsole(running);
    let seen = '';
    const prompt = `root@${running}:~# `;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no prompt, got ${JSON.stringify(seen)}`)), 10_000);
      con.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes(`hostname\r\n`) && seen.lastIndexOf(prompt) > seen.indexOf('hostname')) {
          clearTimeout(t);
          resolve();
        }
      });
      con.write('hostname\r');
    });
    assert.ok(seen.includes(prompt));
    con.destroy();
    // Calls still flow on the same connection after the console.
    assert.deepEqual(names(await link.call('vm.list')), expected1);
    await assert.rejects(link.openConsole('no-such-vm'), /409|no-such-vm|not found/i);
    await link.close();
  });

  test('SSH up but no agent behind it: the node is down with that reason, and up once the agent starts', async () => {
    const sock = join(lab.dir, 'agent-late.sock');
    const link = track(openLink({ ...node1(), agent: { kind: 'unix', path: sock } }, { ...FAST, agentSocket: null }));
    assert.equal(await waitState(link, ['down', 'up'], 15_000), 'down');
    assert.match(link.detail ?? '', /SSH is up but node n1: the agent at unix:.*agent-late\.sock is not reachable through SSH/);
    await assert.rejects(link.call('vm.list'), LinkDownError);
    const hv1 = sim.hypervisors[0];
    assert.ok(hv1);
    const late = await startAgent({ hypervisor: hv1, socket: sock });
    try {
      assert.equal(await waitState(link, ['up'], 15_000), 'up');
      assert.deepEqual(names(await link.call('vm.list')), expected1);
    } finally {
      await link.close();
      await late.close();
    }
  });

  test('key auth by a real ssh-agent; an agent without the key gives auth-failed', async () => {
    const sa = await startSshAgent(lab.dir);
    const empty = await startSshAgent(lab.dir);
    try {
      await sa.add(n2.sshd.userKeyPath);
      const cfg: NodeConfig = { name: 'n2', ssh: `root@${n2.sshd.host}:${n2.sshd.port}`, agent: { kind: 'tcp', host: n2.ip, port: agent2Port }, labels: [] };
      // HOME has no id_* files, so the agent is the only way in.
      const link = track(openLink(cfg, { ...FAST, agentSocket: sa.socket }));
      assert.deepEqual(names(await link.call('vm.list')), expected2);
      await link.close();
      const bad = track(openLink(cfg, { ...FAST, agentSocket: empty.socket }));
      assert.equal(await waitState(bad, ['auth-failed', 'up'], 15_000), 'auth-failed');
      assert.match(bad.detail ?? '', /authentication as root@.* failed/);
      await assert.rejects(bad.call('vm.list'), (e: unknown) => e instanceof LinkDownError && e.state === 'auth-failed');
      await bad.close();
    } finally {
      sa.stop();
      empty.stop();
    }
  });

  test('an encrypted identity: the passphrase is asked once (callback), and on a terminal without echo', async () => {
    const key = join(h.home, 'enc_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'open sesame', '-C', 'vem-enc', '-f', key]);
    appendFileSync(join(dirname(n1.sshd.userKeyPath), 'authorized_keys'), readFileSync(`${key}.pub`, 'utf8'));
    const asked: Array<[string, number]> = [];
    const ask = async (path: string, attempt: number): Promise<string> => {
      asked.push([path, attempt]);
      return attempt === 1 ? 'wrong guess' : 'open sesame';
    };
    const cfg: NodeConfig = { ...node1(), identity: key };
    const a = track(openLink(cfg, { ...FAST, agentSocket: null, askPassphrase: ask }));
    assert.deepEqual(names(await a.call('vm.list')), expected1);
    assert.deepEqual(asked, [[key, 1], [key, 2]]);
    // A second link (and a reconnect) reuse the decrypted key: no new question.
    const b = track(openLink(cfg, { ...FAST, agentSocket: null, askPassphrase: ask }));
    assert.deepEqual(names(await b.call('vm.list')), expected1);
    assert.equal(asked.length, 2);
    await Promise.all([a.close(), b.close()]);

    // `vem call` on a real terminal (node-pty): the prompt appears, the typed passphrase is not echoed.
    const clusterFile = join(h.home, 'enc-cluster.yaml');
    writeFileSync(clusterFile, `nodes:\n  - name: n1\n    ssh: ${cfg.ssh}\n    identity: ${key}\n    agent: unix:${agent1Sock}\n`);
    const env: Record<string, string> = { ...(process.env as Record<string, string>), HOME: h.home };
    delete env['SSH_AUTH_SOCK'];
    const term = pty.spawn(process.execPath, [join(process.cwd(), 'dist', 'src', 'cli.js'), 'call', '--cluster', clusterFile, 'n1', 'vm.list'], { cols: 200, rows: 40, env });
    let screen = '';
    const code = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => (term.kill(), reject(new Error(`pty: ${screen}`))), 30_000);
      let typed = false;
      term.onData((d) => {
        screen += d;
        if (!typed && screen.includes(`Enter passphrase for key '${key}': `)) {
          typed = true;
          term.write('open sesame\r');
        }
      });
      term.onExit(({ exitCode }) => (clearTimeout(t), resolve(exitCode)));
    });
    assert.equal(code, 0, screen);
    assert.ok(!screen.includes('open sesame'), 'the passphrase is not echoed');
    for (const n of expected1) assert.ok(screen.includes(`"${n}"`), `vm.list output names ${n}`);
  });

  test('ProxyJump from ~/.ssh/config: through n1 sshd to n2 agent, and a three-hop chain', async () => {
    writeFileSync(join(h.ssh, 'config'), [
      'Host jump',
      `  HostName ${n1.sshd.host}`,
      `  Port ${n1.sshd.port}`,
      '  User root',
      `  IdentityFile ${n1.sshd.userKeyPath}`,
      'Host far',
      `  HostName ${n2.sshd.host}`,
      `  Port ${n2.sshd.port}`,
      '  User root',
      `  IdentityFile ${n2.sshd.userKeyPath}`,
      '  ProxyJump jump',
      // Three hops with two sshds: n1, then n2 through n1, then n1 again through n2.
      'Host round',
      `  HostName ${n1.sshd.host}`,
      `  Port ${n1.sshd.port}`,
      '  User root',
      `  IdentityFile ${n1.sshd.userKeyPath}`,
      '  ProxyJump jump,far',
      '',
    ].join('\n'));
    try {
      const link = track(openLink({ name: 'far', ssh: 'far', agent: { kind: 'tcp', host: n2.ip, port: agent2Port }, labels: [] }, { ...FAST, agentSocket: null }));
      assert.equal((link as SshLink).hops().length, 2);
      assert.deepEqual(names(await link.call('vm.list')), expected2);
      // The connection to n2's sshd is held by n1's sshd (the jump), not by this process.
      assert.ok(holdsConnectionTo(descendantsOf(n1.sshd.pid), n2.sshd.host, n2.sshd.port), "n1's sshd carries the connection to n2's sshd");
      assert.ok(!holdsConnectionTo([process.pid], n2.sshd.host, n2.sshd.port), 'this process does not connect to n2 directly');
      await link.close();

      const round = track(openLink({ name: 'round', ssh: 'round', agent: { kind: 'unix', path: agent1Sock }, labels: [] }, { ...FAST, agentSocket: null }));
      assert.deepEqual((round as SshLink).hops().map((hop) => hop.host), [n1.sshd.host, n2.sshd.host, n1.sshd.host]);
      assert.deepEqual(names(await round.call('vm.list')), expected1);
      assert.ok(holdsConnectionTo(descendantsOf(n2.sshd.pid), n1.sshd.host, n1.sshd.port), "n2's sshd carries the last hop back to n1");
      await round.close();
    } finally {
      writeFileSync(join(h.ssh, 'config'), '');
    }
  });

  test('a changed host key is refused loudly; an unknown one waits for trust', async () => {
    const kh = join(h.ssh, 'known_hosts');
    const good = readFileSync(kh, 'utf8');
    const [, n2type, n2key] = n2.sshd.knownHostsLine.split(' ');
    const n1name = n1.sshd.knownHostsLine.split(' ')[0];
    try {
      // n1's name with n2's key: what a man in the middle would look like.
      writeKnownHosts(kh, [`${n1name} ${n2type} ${n2key}`]);
      const bad = track(openLink(node1(), { ...FAST, agentSocket: null }));
      assert.equal(await waitState(bad, ['hostkey-refused', 'up'], 15_000), 'hostkey-refused');
      assert.match(bad.detail ?? '', /HOST KEY CHANGED/);
      const fp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${join(n1.sshd.userKeyPath, '..', 'ssh_host_ed25519_key')}.pub`], { encoding: 'utf8' }).split(' ')[1];
      assert.ok(fp && (bad.detail ?? '').includes(fp), `the detail shows the offered key's fingerprint ${fp}`);
      await assert.rejects(bad.call('vm.list'), (e: unknown) => e instanceof LinkDownError && e.state === 'hostkey-refused');
      await bad.close();

      writeKnownHosts(kh, []);
      const unknown = track(openLink(node1(), { ...FAST, agentSocket: null })) as SshLink;
      assert.equal(await waitState(unknown, ['hostkey-unknown', 'up'], 15_000), 'hostkey-unknown');
      assert.equal(unknown.pendingHostKey?.fingerprint, fp);
      await unknown.trustHostKey();
      assert.deepEqual(names(await unknown.call('vm.list')), expected1);
      assert.ok(readFileSync(kh, 'utf8').includes(n1.sshd.knownHostsLine), 'the trusted key was appended in known_hosts form');
      await unknown.close();

      // StrictHostKeyChecking accept-new in ~/.ssh/config, with its own UserKnownHostsFile: learnt on first contact.
      const own = join(h.ssh, 'learnt_hosts');
      writeFileSync(join(h.ssh, 'config'), `Host learn\n  HostName ${n1.sshd.host}\n  Port ${n1.sshd.port}\n  User root\n  IdentityFile ${n1.sshd.userKeyPath}\n  UserKnownHostsFile ${own}\n  StrictHostKeyChecking accept-new\n`);
      const learn = track(openLink({ ...node1(), name: 'learn', ssh: 'learn', identity: undefined }, { ...FAST, agentSocket: null }));
      assert.deepEqual(names(await learn.call('vm.list')), expected1);
      assert.equal(readFileSync(own, 'utf8'), `${n1.sshd.knownHostsLine}\n`);
      await learn.close();
      // ...but a changed key is still refused under accept-new.
      writeKnownHosts(own, [`${n1name} ${n2type} ${n2key}`]);
      const changed = track(openLink({ ...node1(), name: 'learn2', ssh: 'learn', identity: undefined }, { ...FAST, agentSocket: null }));
      assert.equal(await waitState(changed, ['hostkey-refused', 'up'], 15_000), 'hostkey-refused');
      assert.ok((changed.detail ?? '').includes(`line 1 of ${own}`));
      await changed.close();
    } finally {
      writeFileSync(kh, good);
      writeFileSync(join(h.ssh, 'config'), '');
    }
  });

  test('sshd killed mid-session: the node shows down, then calls resume by themselves', async () => {
    const link = track(openLink(node1(), { ...FAST, agentSocket: null }));
    assert.deepEqual(names(await link.call('vm.list')), expected1);
    const states: LinkState[] = [];
    link.on('state', (s) => states.push(s));
    await n1.sshd.stop();
    assert.equal(await waitState(link, ['down'], 10_000), 'down');
    await assert.rejects(link.call('vm.list'), (e: unknown) => e instanceof LinkDownError);
    await n1.sshd.start();
    assert.equal(await waitState(link, ['up'], 15_000), 'up');
    assert.deepEqual(names(await link.call('vm.list')), expected1);
    assert.deepEqual([states[0], states[states.length - 1]], ['down', 'up']);

    // A silent outage (the session process frozen, no FIN): keepalives notice, and the link comes back.
    const sessions = descendantsOf(n1.sshd.pid);
    assert.ok(sessions.length > 0);
    for (const p of sessions) process.kill(p, 'SIGSTOP');
    try {
      assert.equal(await waitState(link, ['down'], 15_000), 'down');
      assert.match(link.detail ?? '', /SSH connection lost \(Keepalive timeout\)/);
    } finally {
      for (const p of sessions) process.kill(p, 'SIGCONT');
    }
    assert.equal(await waitState(link, ['up'], 15_000), 'up');
    assert.deepEqual(names(await link.call('vm.list')), expected1);
    await link.close();
  });
});

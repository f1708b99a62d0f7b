// `vem deploy` through a login that is not root, on a real lab node (its own sshd and libvirtd):
// the agent is installed as a system service, so deploy must refuse before it writes anything,
// with one line naming the login and the fix. The lab's sshd lets `nobody` in with the lab key
// and test/lab/nonroot.ts gives nobody a shell inside the node's namespace only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireLab, startLab, type Lab, type LabNode, type LabSshd } from '../lab/index.js';
import { letNobodyLogIn, NONROOT_USER } from '../lab/nonroot.js';
import { makeHome, writeKnownHosts } from '../link/e2e/helpers.js';
import { runVem } from '../vem-cli.js';
import { ensureAgentBundle } from './bundle.js';

const skip = requireLab(undefined, ['libvirt', 'qemu', 'sshd']);

type SshNode = LabNode & { sshd: LabSshd };

/** Every path under a folder with its size (files) or '/' (folders), sorted; [] if it is not there. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d).sort()) {
      const st = statSync(join(d, e), { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) {
        out.push(`${rel}${e}/`);
        walk(join(d, e), `${rel}${e}/`);
      } else out.push(`${rel}${e} ${st.size} ${readFileSync(join(d, e)).toString('base64')}`);
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return out;
}

/** One command on the node through OpenSSH's own client, as `user`, with the lab key. */
function sshAs(n: SshNode, user: string, knownHosts: string, cmd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ['-F', 'none', '-i', n.sshd.userKeyPath, '-p', String(n.sshd.port), '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', `${user}@${n.sshd.host}`, cmd];
  return new Promise((resolve) => {
    execFile('ssh', args, { timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as NodeJS.ErrnoException).code ?? 1) || 1 : 0, stdout, stderr }));
  });
}

describe('vem deploy through a non-root login (lab node, sshd + libvirtd)', { skip: skip ?? false, timeout: 180_000 }, () => {
  let lab: Lab;
  let n1: SshNode;
  let h: ReturnType<typeof makeHome>;
  let env: NodeJS.ProcessEnv;
  let cluster: string;
  let knownHosts: string;
  let undo: (() => Promise<void>) | undefined;

  before(async () => {
    await ensureAgentBundle();
    h = makeHome('deploy-noroot');
    lab = await startLab({ nodes: 1, sshd: true, name: 'deploy-noroot' });
    n1 = lab.nodes[0] as SshNode;
    undo = await letNobodyLogIn(n1);
    cluster = join(h.home, 'cluster.yaml');
    writeFileSync(cluster, ['nodes:', '  - name: n1', `    ssh: ${NONROOT_USER}@${n1.sshd.host}:${n1.sshd.port}`, `    identity: ${n1.sshd.userKeyPath}`, '    agent: none', ''].join('\n'));
    knownHosts = join(h.ssh, 'known_hosts');
    writeKnownHosts(knownHosts, [n1.sshd.knownHostsLine]);
    env = { ...process.env, HOME: h.home };
    delete env['SSH_AUTH_SOCK'];
  });

  after(async () => {
    await undo?.().catch(() => undefined);
    await lab?.stop();
    h?.cleanup();
  });

  test(`the lab lets ${NONROOT_USER} in with a shell on the node only`, async () => {
    const r = await sshAs(n1, NONROOT_USER, knownHosts, 'id -u');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '65534', 'logged in as nobody, not root');
    assert.match(readFileSync('/etc/passwd', 'utf8'), /^nobody:.*:\/usr\/sbin\/nologin$/m, "this machine's own nobody keeps nologin");
  });

  test('vem deploy refuses with one line naming the login and the fix; the node, the cluster file and the tokens are as they were', async () => {
    const nodeBefore = tree(n1.deployBacking);
    const prefixBefore = tree(n1.deployPrefix);
    const clusterBefore = readFileSync(cluster, 'utf8');
    const tokens = join(h.home, 'tokens');
    const tokensBefore = tree(tokens);
    const r = await runVem(['deploy', '--cluster', cluster, '--node-prefix', n1.deployPrefix, 'n1'], env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.stderr, '');
    // Off a terminal the progress line is appended (connecting, checking, FAILED); then one line per node.
    const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
    const progress = lines.filter((l) => /^n1: (connecting|checking the node|FAILED)$/.test(l));
    assert.deepEqual(lines.filter((l) => !progress.includes(l)), [
      'n1: not root (logged in as nobody), and the agent is installed as a system service: use root@HOST in the cluster file\'s ssh: entry (PermitRootLogin prohibit-password on the node) (nothing was changed on the node)',
    ], 'one line for the node: only the login is wrong, and it says what to use instead');
    assert.equal(lines.at(-1), lines.find((l) => l.includes('not root')), 'the outcome comes after the progress');
    assert.deepEqual(tree(n1.deployBacking), nodeBefore, "the node's deploy folders are unchanged");
    assert.deepEqual(tree(n1.deployPrefix), prefixBefore);
    assert.equal(readFileSync(cluster, 'utf8'), clusterBefore, 'the cluster file is unchanged');
    assert.deepEqual(tree(tokens), tokensBefore, 'no token was written');
  });
});

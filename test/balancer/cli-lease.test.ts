// Two admins balancing one cluster: `vem balance apply --auto` (the real CLI in a
// child process) against two real `vem agent --sim` agents while a second holder
// already holds the `balance` lease on one of them. The CLI moves nothing, names
// the holder, and holds nothing anywhere (all or nothing); once the other lets go
// it takes the lease on both, and gives it back when interrupted.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import { startVemAgent, VEM_CLI, type VemAgent } from '../vem-cli.js';

async function until(cond: () => boolean | Promise<boolean>, what: () => string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The methods of the change records an agent's audit log holds. */
function auditedMethods(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => {
    const r = JSON.parse(l) as { method?: string; intent?: { method?: string } };
    return r.intent?.method ?? r.method ?? '';
  });
}

type Listed = Array<{ scope: string; holder: string; op: string }>;

test('vem balance apply --auto: a second balancer holds the lease on one agent: nothing moved, the holder named, nothing held; after it lets go the CLI holds it on both, and releases it on ^C', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-cli-lease-'));
  const agents: VemAgent[] = [];
  t.after(() => {
    for (const a of agents) if (a.proc.exitCode === null) a.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const audit = { src: join(dir, 'src-audit.jsonl'), dst: join(dir, 'dst-audit.jsonl') };
  const src = await startVemAgent(['--sim', '--sim-vms', '3', '--listen', '127.0.0.1:0', '--audit-log', audit.src, '--poll-ms', '200']);
  agents.push(src);
  const dst = await startVemAgent(['--sim', '--sim-vms', '0', '--listen', '127.0.0.1:0', '--audit-log', audit.dst, '--poll-ms', '200']);
  agents.push(dst);
  const cluster = join(dir, 'two.yaml');
  // A migrate-uri for dst, so a CLI without the lease really calls vm.migrate on src (the simulator refuses the URI, after the call is audited).
  writeFileSync(cluster, `nodes:\n  - name: src\n    url: ${src.url}\n  - name: dst\n    url: ${dst.url}\n    migrate-uri: qemu+ssh://127.0.0.1/system\n`);
  const onSrc = new XmlRpcClient({ url: src.url });
  const onDst = new XmlRpcClient({ url: dst.url });
  t.after(() => {
    onSrc.close();
    onDst.close();
  });

  // The other admin's balancer holds the lease on dst only.
  const other = (await onDst.call('lease.acquire', 'balance', 'bob@ws2:vem tui:4242', 'level-2 balancing', 300)) as { token: string };

  const cli = spawn(process.execPath, [VEM_CLI, 'balance', 'apply', '--cluster', cluster, '--auto', '--every', '1', '--period', '1', '--evacuate', 'src'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  cli.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
  t.after(() => {
    if (cli.exitCode === null) cli.kill('SIGKILL');
  });

  const refused = /nothing moved this round: no balance lease on dst: bob@ws2:vem tui:4242 \(level-2 balancing\) since \d\d:\d\d:\d\dZ/g;
  await until(() => (stderr.match(refused) ?? []).length >= 2, () => `two refused rounds; stderr so far: ${stderr}; stdout: ${stdout}`);
  // Nothing moved: no migration asked of src, its VMs all there, and src's lease (taken before dst refused) given back.
  assert.ok(!auditedMethods(audit.src).includes('vm.migrate'), `src was asked to migrate: ${auditedMethods(audit.src).join(', ')}`);
  assert.equal(((await onSrc.call('vm.list')) as unknown[]).length, 3);
  assert.deepEqual(((await onSrc.call('leases.list')) as Listed).filter((l) => l.scope === 'balance'), [], 'all or nothing: the CLI holds no lease on src');
  assert.doesNotMatch(stdout, /done|FAILED/);
  assert.ok(!auditedMethods(audit.src).includes('lease.acquire') || auditedMethods(audit.src).includes('lease.release'), 'src\'s lease was taken and given back');

  // The other admin lets go: the next round takes the lease on both agents and acts.
  assert.equal(await onDst.call('lease.release', other.token), true);
  const mine = new RegExp(`@[^:]+:vem balance:${cli.pid ?? 0}$`);
  await until(async () => {
    const both = [...((await onSrc.call('leases.list')) as Listed), ...((await onDst.call('leases.list')) as Listed)].filter((l) => l.scope === 'balance');
    return both.length === 2 && both.every((l) => mine.test(l.holder));
  }, () => `the CLI holding the lease on both; stderr: ${stderr}`);
  assert.match(stderr, /balance lease held on src, dst as /);
  await until(() => auditedMethods(audit.src).includes('vm.migrate'), () => `a migration asked of src once the lease is held; stdout: ${stdout}; stderr: ${stderr}`);

  // ^C: the CLI ends after its round and gives the lease back.
  cli.kill('SIGINT');
  assert.equal(await exited, 0, stderr);
  for (const c of [onSrc, onDst]) assert.deepEqual(((await c.call('leases.list')) as Listed).filter((l) => l.scope === 'balance'), [], 'released on ^C');
});

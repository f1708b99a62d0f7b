// Faults injected into the audit trail, on a real libvirtd (test driver, lab node):
//  - SIGKILL of the agent process, repeatedly, during a stream of changes from 8 clients:
//    every call the agent answered has its outcome in the log, after its intent;
//  - a torn last line (what power loss mid-write leaves) between two runs: detected,
//    terminated and counted, never a crash, the next records whole;
//  - disk full (a size-limited tmpfs), the log removed, no permission (an immutable
//    file at the path): the change is refused with a fault that says so, the VM is
//    unchanged, reads keep working, and changes resume once the log can be written.
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireLab, startLab, writeTestNodeXml, testDomainName } from '../lab/index.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { startAgent } from '../../src/agent/index.js';
import { AUDIT_UNAVAILABLE, readAuditLog, type AuditEntry } from '../../src/agent/audit.js';
import { XmlRpcClient, XmlRpcFault } from '../../src/common/xmlrpc/index.js';
import { startVemAgent, type VemAgent } from '../vem-cli.js';

const VMS = 8;
const ROUNDS = 6;

type Agent = VemAgent;

function spawnAgent(uri: string, audit: string): Promise<Agent> {
  return startVemAgent(['--uri', uri, '--listen', '127.0.0.1:0', '--audit-log', audit, '--history-file', 'none', '--poll-ms', '1000'], 10_000);
}

type Key = string; // method|vm
const keyOf = (method: string, vm: unknown): Key => `${method}|${String(vm)}`;

test('fault: SIGKILL of the agent during a stream of changes loses no answered change; a torn last line is counted and skipped', { timeout: 150_000 }, async (t) => {
  if (requireLab(t, ['libvirt']) !== null) return;
  const lab = await startLab({ nodes: 1, name: 'fault-audit' });
  const procs: ChildProcess[] = [];
  t.after(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await lab.stop();
  });
  const n = lab.nodes[0];
  assert.ok(n);
  const nodeXml = join(lab.dir, 'fault-audit.xml');
  writeTestNodeXml(nodeXml, { domains: VMS, running: VMS });
  const uri = n.testUri(nodeXml);
  const audit = join(lab.dir, 'audit', 'audit.jsonl');

  let answeredTotal = 0;
  let inFlightLost = 0;
  let tornInjected = 0;
  let tornPending = false;
  for (let round = 0; round < ROUNDS; round++) {
    const offset = round === 0 ? 0 : statSync(audit).size;
    const agent = await spawnAgent(uri, audit);
    procs.push(agent.proc);
    if (tornPending) assert.match(agent.stderr(), /last line was torn/, 'the agent says it found a torn line');
    tornPending = false;
    const client = new XmlRpcClient({ url: agent.url, timeoutMs: 10_000 });
    const answered = new Map<Key, number>();
    let stop = false;
    // Each client alternates suspend/resume on its own VM (its state follows the calls it made;
    // after a crash the first call may fault, which is an answered, audited call too).
    const loops = Array.from({ length: VMS }, async (_, i) => {
      const vm = testDomainName(i);
      let suspend = true;
      while (!stop) {
        const method = suspend ? 'vm.suspend' : 'vm.resume';
        try {
          await client.call(method, vm);
        } catch (e) {
          if (!(e instanceof XmlRpcFault)) {
            inFlightLost++; // no answer: the agent died during the call
            return;
          }
        }
        answered.set(keyOf(method, vm), (answered.get(keyOf(method, vm)) ?? 0) + 1);
        suspend = !suspend;
      }
    });
    // Kill at a different point of the stream each round.
    await new Promise((r) => setTimeout(r, 250 + ((round * 137) % 500)));
    agent.proc.kill('SIGKILL');
    await new Promise((r) => agent.proc.once('exit', r));
    stop = true;
    await Promise.all(loops);
    client.close();

    // What this run wrote: every answered call must have its outcome line, and every outcome its intent before it.
    const text = readFileSync(audit, 'utf8').slice(offset);
    const lines = text.split('\n').filter((l) => l !== '');
    const entries: AuditEntry[] = [];
    for (const l of lines) {
      try {
        entries.push(JSON.parse(l) as AuditEntry);
      } catch {
        /* a torn line we injected before this run started */
      }
    }
    const intents = new Map<string, number>();
    const logged = new Map<Key, number>();
    entries.forEach((e, i) => {
      if (e.intent && e.id) intents.set(e.id, i);
      else if (e.method) {
        assert.ok(e.id !== undefined && (intents.get(e.id) ?? Infinity) < i, `outcome ${JSON.stringify(e)} has its intent before it`);
        const k = keyOf(e.method, e.args?.[0]);
        logged.set(k, (logged.get(k) ?? 0) + 1);
      }
    });
    let answeredRound = 0;
    for (const [k, count] of answered) {
      answeredRound += count;
      assert.ok((logged.get(k) ?? 0) >= count, `round ${round}: ${k} answered ${count} times, logged ${logged.get(k) ?? 0}`);
    }
    assert.ok(answeredRound > 20, `round ${round}: the stream made changes (${answeredRound})`);
    answeredTotal += answeredRound;

    // Between some runs, what power loss mid-write leaves: half a record, no newline.
    if (round % 2 === 0) {
      appendFileSync(audit, '{"time":"2026-12-02T00:00:00.000Z","id":"torn-1","caller":"tcp:127.0.0.1:1","meth');
      tornInjected++;
      tornPending = true;
    }
  }
  const all = readAuditLog(audit);
  assert.equal(all.torn, tornInjected, 'every torn line is counted and skipped');
  assert.ok(all.entries.length > answeredTotal, 'intents and outcomes are whole records');
  t.diagnostic(`${ROUNDS} SIGKILLs: ${answeredTotal} answered changes, all in the log; ${inFlightLost} calls in flight at the kills; ${tornInjected} torn lines skipped`);
});

function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]).status === 0;
}

test('fault: disk full, audit log removed, no permission — changes refused with a fault, the VM unchanged, reads still answered', { timeout: 120_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'chattr']) !== null) return;
  const lab = await startLab({ nodes: 1, name: 'fault-audit-full' });
  t.after(() => lab.stop());
  const n = lab.nodes[0];
  assert.ok(n);
  const nodeXml = join(lab.dir, 'fault-full.xml');
  writeTestNodeXml(nodeXml, { domains: 4, running: 4 });
  const uri = n.testUri(nodeXml);
  const fsDir = join(lab.dir, 'small-fs');
  assert.ok(mountTmpfs(fsDir, '64k'), 'a 64 KiB tmpfs for the audit log (root)');
  t.after(() => {
    spawnSync('umount', ['-l', fsDir]);
  });
  const audit = join(fsDir, 'audit.jsonl');
  const a = await startAgent({ hypervisor: () => connectLibvirt(uri, { timeoutMs: 10_000 }), listen: '127.0.0.1:0', pollMs: 500, auditLog: audit, plugins: false });
  t.after(() => a.close());
  const c = new XmlRpcClient({ url: a.url });
  t.after(() => c.close());
  const vm = testDomainName(0);
  const state = async (): Promise<string> => ((await c.call('vm.info', vm)) as { state: string }).state;
  const refused = (re: RegExp) => (e: unknown) => e instanceof XmlRpcFault && e.code === AUDIT_UNAVAILABLE && re.test(e.message);

  // Disk full: fill the filesystem; the next changes are refused (once the log's last page is used up).
  await c.call('vm.suspend', vm);
  await c.call('vm.resume', vm);
  const filler = join(fsDir, 'filler');
  spawnSync('sh', ['-c', `dd if=/dev/zero of=${filler} bs=4k 2>/dev/null; true`]);
  let refusal: XmlRpcFault | undefined;
  let suspended = false;
  for (let i = 0; i < 200 && !refusal; i++) {
    const before = await state();
    try {
      await c.call(suspended ? 'vm.resume' : 'vm.suspend', vm);
      suspended = !suspended;
    } catch (e) {
      assert.ok(refused(/disk is full/)(e), `refused for the full disk: ${String(e)}`);
      refusal = e as XmlRpcFault;
      assert.equal(await state(), before, 'a refused change is not made');
    }
  }
  assert.ok(refusal, 'a full disk refuses changes');
  assert.match(refusal.message, new RegExp(`cannot write the audit log ${audit.replace(/[.]/g, '\\.')}`));
  assert.ok(Array.isArray(await c.call('vm.list')), 'reads keep working while the log cannot be written');
  assert.equal(typeof ((await c.call('node.info')) as { hostname: string }).hostname, 'string');
  const ev = (await c.call('events.poll', 0, 0)) as { events: Array<{ source: string; kind: string; detail?: { message?: string } }> };
  assert.ok(ev.events.some((e) => e.source === 'audit' && e.kind === 'write-failed' && /disk is full/.test(e.detail?.message ?? '')), 'the event log says the audit log failed');
  unlinkSync(filler);
  await c.call(suspended ? 'vm.resume' : 'vm.suspend', vm);
  suspended = !suspended;

  // Removed: not silently recreated; refused until a file is at the path again.
  unlinkSync(audit);
  const before = await state();
  await assert.rejects(c.call(suspended ? 'vm.resume' : 'vm.suspend', vm), refused(/was removed .*touch/));
  assert.equal(await state(), before);
  assert.ok(Array.isArray(await c.call('vm.list')));
  writeFileSync(audit, '');
  await c.call(suspended ? 'vm.resume' : 'vm.suspend', vm);
  suspended = !suspended;
  const after = readAuditLog(audit).entries;
  assert.equal(after.length, 2, 'the recreated log holds the next change: intent and outcome');

  // No permission: the file at the path (rotated in) cannot be opened for writing.
  const elsewhere = join(lab.dir, 'audit-perm');
  mkdirSync(elsewhere, { recursive: true });
  const permLog = join(elsewhere, 'audit.jsonl');
  const b = await startAgent({ hypervisor: () => connectLibvirt(uri, { timeoutMs: 10_000 }), listen: '127.0.0.1:0', pollMs: 500, auditLog: permLog, plugins: false });
  t.after(() => b.close());
  const cb = new XmlRpcClient({ url: b.url });
  t.after(() => cb.close());
  await cb.call(suspended ? 'vm.resume' : 'vm.suspend', vm);
  suspended = !suspended;
  renameSync(permLog, `${permLog}.1`);
  writeFileSync(permLog, '');
  const chattr = spawnSync('chattr', ['+i', permLog]);
  t.after(() => {
    spawnSync('chattr', ['-i', permLog]);
  });
  assert.equal(chattr.status, 0, `chattr +i: ${chattr.stderr?.toString()}`);
  const before2 = await state();
  await assert.rejects(cb.call(suspended ? 'vm.resume' : 'vm.suspend', vm), refused(/cannot be opened|no permission/));
  assert.equal(await state(), before2);
  assert.ok(Array.isArray(await cb.call('vm.list')));
  spawnSync('chattr', ['-i', permLog]);
  await cb.call(suspended ? 'vm.resume' : 'vm.suspend', vm);
  assert.equal(readAuditLog(permLog).entries.length, 2, 'changes resume in the new file once it can be written');
});

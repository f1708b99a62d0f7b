// Faults injected into the metrics history, with `vem agent` processes on a real libvirtd
// (test driver, lab node): a restart (SIGTERM, the at-shutdown save), a crash (SIGKILL,
// the periodic save), a corrupt file (set aside with a message, never a crash), and a
// size cap on the file.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { requireLab, startLab, writeTestNodeXml, testDomainName } from '../lab/index.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import { waitFor } from './e2e-helpers.js';
import { startVemAgent } from '../vem-cli.js';


interface Agent {
  proc: ChildProcess;
  client: XmlRpcClient;
  stderr: () => string;
}

async function spawnAgent(uri: string, dir: string, history: string): Promise<Agent> {
  const a = await startVemAgent(['--uri', uri, '--listen', '127.0.0.1:0', '--audit-log', join(dir, 'audit.jsonl'), '--history-file', history, '--history-save', '1', '--poll-ms', '200']);
  return { proc: a.proc, client: new XmlRpcClient({ url: a.url }), stderr: a.stderr };
}

async function stop(a: Agent, signal: NodeJS.Signals): Promise<number | null> {
  a.client.close();
  const exited = new Promise<number | null>((r) => a.proc.once('exit', (code) => r(code)));
  a.proc.kill(signal);
  return exited;
}

type Stats = { t: number[]; cpuPct: number[]; cursor: number };

test('fault: the metrics history survives a restart (SIGTERM) and a crash (SIGKILL); a corrupt file is set aside with a message', { timeout: 120_000 }, async (t) => {
  if (requireLab(t, ['libvirt']) !== null) return;
  const lab = await startLab({ nodes: 1, name: 'fault-history' });
  const procs: ChildProcess[] = [];
  t.after(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await lab.stop();
  });
  const n = lab.nodes[0];
  assert.ok(n);
  const nodeXml = join(lab.dir, 'fault-history.xml');
  writeTestNodeXml(nodeXml, { domains: 6, running: 4 });
  const uri = n.testUri(nodeXml);
  const history = join(lab.dir, 'state', 'history.bin');
  const vm = testDomainName(0);

  // Run 1: some history, then a clean stop writes the file.
  const a = await spawnAgent(uri, lab.dir, history);
  procs.push(a.proc);
  const s1 = await waitFor('8 samples', async () => {
    const s = (await a.client.call('vm.stats', vm, 0)) as Stats;
    return s.t.length >= 8 ? s : undefined;
  });
  const n1 = (await a.client.call('node.stats', 0)) as Stats;
  assert.equal(await stop(a, 'SIGTERM'), 0);
  assert.ok(existsSync(history), 'the history file is written at shutdown');

  // Run 2: the old samples are back at once, with their times; new ones follow.
  const b = await spawnAgent(uri, lab.dir, history);
  procs.push(b.proc);
  const s2 = (await b.client.call('vm.stats', vm, 0)) as Stats;
  for (const x of s1.t) assert.ok(s2.t.includes(x), `sample at ${x} kept across the restart`);
  const n2 = (await b.client.call('node.stats', 0)) as Stats;
  for (const x of n1.t) assert.ok(n2.t.includes(x), 'node samples kept too');
  assert.ok(s2.cursor >= s1.cursor, 'cursors continue after the saved ones');
  const ev = (await b.client.call('events.poll', 0, 0)) as { events: Array<{ source: string; kind: string; detail: { samples?: number } }> };
  assert.ok(ev.events.some((e) => e.source === 'history' && e.kind === 'loaded' && (e.detail.samples ?? 0) > 0));
  // Let a periodic save (every second) land, then crash.
  const startedB = Date.now();
  await waitFor('a periodic save', async () => statSync(history).mtimeMs > startedB + 300, 10_000, 100);
  const s2b = (await b.client.call('vm.stats', vm, 0)) as Stats;
  const savedMtime = statSync(history).mtimeMs;
  await stop(b, 'SIGKILL');

  // Run 3: what the last periodic save held is back (samples of run 2 up to that save).
  const c = await spawnAgent(uri, lab.dir, history);
  procs.push(c.proc);
  const s3 = (await c.client.call('vm.stats', vm, 0)) as Stats;
  const fromRun2 = s2b.t.filter((x) => x > startedB && x < savedMtime - 250);
  assert.ok(fromRun2.length > 0, 'run 2 collected before its periodic save');
  for (const x of fromRun2) assert.ok(s3.t.includes(x), `sample ${x} of the crashed run kept by the periodic save`);
  for (const x of s1.t) assert.ok(s3.t.includes(x), 'and those of run 1');
  await stop(c, 'SIGTERM');

  // A corrupt file: set aside with a message; the agent starts with an empty history and serves.
  writeFileSync(history, Buffer.concat([Buffer.from('VEMHIST1'), Buffer.alloc(100, 7)]));
  const d = await spawnAgent(uri, lab.dir, history);
  procs.push(d.proc);
  assert.match(d.stderr(), /history file .* is unreadable \(checksum mismatch.*\); set aside as .*\.corrupt-/);
  const aside = readdirSync(dirname(history)).filter((f) => f.startsWith('history.bin.corrupt-'));
  assert.equal(aside.length, 1, 'the corrupt file is kept for a person to look at');
  const s4 = (await d.client.call('node.stats', 0)) as Stats;
  for (const x of s1.t) assert.ok(!s4.t.includes(x), 'no old samples from a corrupt file');
  assert.ok(Array.isArray(await d.client.call('vm.list')));
  assert.equal(await stop(d, 'SIGTERM'), 0);
});

test('fault: the history file stays within its size cap, keeping the newest samples', { timeout: 60_000 }, async (t) => {
  if (requireLab(t, ['libvirt']) !== null) return;
  const lab = await startLab({ nodes: 1, name: 'fault-history-cap' });
  t.after(() => lab.stop());
  const n = lab.nodes[0];
  assert.ok(n);
  const nodeXml = join(lab.dir, 'cap.xml');
  writeTestNodeXml(nodeXml, { domains: 20, running: 20 });
  const uri = n.testUri(nodeXml);
  const history = join(lab.dir, 'history.bin');
  const cap = 12_000;
  const a = await startAgent({ hypervisor: () => connectLibvirt(uri), listen: '127.0.0.1:0', pollMs: 100, plugins: false, historyFile: history, historyFileMaxBytes: cap });
  const c = new XmlRpcClient({ url: a.url });
  await waitFor('40 collections', async () => a.core.collector.collections >= 40, 30_000, 100);
  const before = (await c.call('vm.stats', testDomainName(0), 0)) as Stats;
  c.close();
  await a.close();
  const size = statSync(history).size;
  assert.ok(size <= cap, `history file ${size} bytes <= cap ${cap}`);
  const b = await startAgent({ hypervisor: () => connectLibvirt(uri), listen: '127.0.0.1:0', pollMs: 100_000, plugins: false, historyFile: history, historyFileMaxBytes: cap });
  t.after(() => b.close());
  const cb = new XmlRpcClient({ url: b.url });
  t.after(() => cb.close());
  const after = (await cb.call('vm.stats', testDomainName(0), 0)) as Stats;
  const kept = after.t.filter((x) => before.t.includes(x));
  assert.ok(kept.length > 0 && kept.length < before.t.length, `some but not all samples kept (${kept.length} of ${before.t.length})`);
  assert.deepEqual(kept, before.t.slice(before.t.length - kept.length), 'the newest ones');
});

// The client against QEMU/TCG guests on two lab nodes: bulk stats vs virsh, the
// serial console as a Duplex, devices, balloon and lifecycle events, the guest
// agent, and a peer-to-peer live migration with job-stats progress.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildGuestImage, guestDomainXml, requireLab, startLab, type Lab, type LabNode } from '../lab/index.js';
import { GUEST_PROMPT } from '../lab/guest-image.js';
import { connectLibvirt, type LibvirtClient } from '../../src/libvirt/client/index.js';
import { LibvirtError } from '../../src/libvirt/errors.js';
import type { DomainEvent, JobStats } from '../../src/libvirt/hypervisor.js';
import { consoleShell, waitPrompt, type ConsoleShell } from './guest-console.js';
import { parseDomstats, parseKeyValues } from './virsh-parse.js';
import { QEMU_GA_START, qemuGaFiles } from '../guest-agent/e2e/setup.js';
import { execFileSync } from 'node:child_process';

const skip = requireLab(undefined, ['libvirt', 'qemu', 'guest']);
const PROMPT = new RegExp(GUEST_PROMPT.replace(/[#]/g, '\\#'));
const AGENT = 'org.qemu.guest_agent.0';

/** Debian's real qemu-ga (the guest-agent e2e's copy, unpacked into the lab cache), started at boot on its channel. */
const QGA = qemuGaFiles();
/** The same binary run on the host: the peer that says which version the guest's agent must report. */
const QGA_VERSION = /(\d+\.\d+\.\d+)/.exec(execFileSync(QGA[0]?.hostPath ?? 'qemu-ga', ['--version'], { encoding: 'utf8' }))?.[1];

describe('libvirt client vs virsh on QEMU/TCG guests', { skip: skip ?? false, timeout: 600_000 }, () => {
  let lab: Lab;
  let n1: LabNode;
  let n2: LabNode;
  let c1: LibvirtClient;
  let c2: LibvirtClient;
  let sh: ConsoleShell;
  const events: DomainEvent[] = [];

  before(async () => {
    const [l, image] = await Promise.all([startLab({ nodes: 2, name: 'libvirt-qemu' }), buildGuestImage({ node: false, files: QGA, startup: [QEMU_GA_START] })]);
    lab = l;
    n1 = lab.nodes[0] as LabNode;
    n2 = lab.nodes[1] as LabNode;
    c1 = await connectLibvirt(n1.qemuUnixUri);
    c2 = await connectLibvirt(n2.qemuUri);
    await c1.onDomainEvent((e) => events.push(e));
    await c2.onDomainEvent((e) => events.push(e));
    const xml = guestDomainXml({ name: 'g1', kernel: image.kernel, initrd: image.initrd, memoryMiB: 256 }).replace(
      '</devices>',
      `  <channel type='unix'><source mode='bind'/><target type='virtio' name='${AGENT}'/></channel>\n  </devices>`,
    );
    await c1.defineDomain(xml);
    await c1.start('g1');
    sh = consoleShell(await c1.openConsole('g1'));
    await waitPrompt(sh, PROMPT);
  });

  after(async () => {
    await c1?.close().catch(() => undefined);
    await c2?.close().catch(() => undefined);
    await lab?.stop();
  });

  it('the console opened through the client takes a typed command and returns its output', async () => {
    sh.send('echo $((6*7))-vem; uname -s\r');
    await sh.expect(/42-vem\s+Linux/);
    sh.send('echo vem-state-4711 > /tmp/state\r');
    await sh.expect(PROMPT);
  });

  it('console backpressure: a reader that stops pauses the flow, and nothing is lost when it reads again', async () => {
    const stream = await c1.openConsole('g1', undefined, { force: true });
    const con = consoleShell(stream);
    await waitPrompt(con, PROMPT, 30_000);
    stream.pause();
    stream.write('seq 1 40000; echo vem-seq-$((20000*2))-done\r');
    await new Promise((r) => setTimeout(r, 3000));
    // paused: at most the Readable's buffer plus what was in flight when it filled
    assert.ok(stream.readableLength <= 64 * 1024 + 256 * 1024, `buffered ${stream.readableLength} bytes while paused`);
    assert.ok(c1.rpc.pausedStreams > 0, 'the connection did not stop reading for the full stream');
    stream.resume();
    await con.expect(/vem-seq-40000-done/, 60_000);
    const nums = con.output().split('\n').map((l) => l.trim()).filter((l) => /^\d+$/.test(l)).map(Number);
    assert.equal(nums.length, 40000, 'lines were lost');
    assert.equal(nums[39999], 40000);
    assert.equal(c1.rpc.pausedStreams, 0);
    stream.destroy();
    sh.send('\r');
  });

  it('host info, capabilities and node memory/CPU statistics of a QEMU node agree with virsh', async () => {
    const h = await c1.hostInfo();
    assert.equal(h.driver, 'QEMU');
    assert.equal(h.uri, 'qemu:///system');
    assert.equal(h.hostname, (await n1.virsh(n1.qemuUnixUri, 'hostname')).trim());
    assert.match(h.hypervisorVersion, /^\d+\.\d+\.\d+$/);
    assert.match(await c1.capabilities(), /<arch>x86_64<\/arch>/);
    const ns = await c1.nodeStats();
    const vm = parseKeyValues(await n1.virsh(n1.qemuUnixUri, 'nodememstats'));
    assert.equal(`${ns.memory.totalKiB} KiB`, vm['total']);
    assert.ok(ns.memory.freeKiB > 0 && ns.memory.freeKiB <= ns.memory.totalKiB);
    assert.ok(ns.cpu.idleNs > 0 && ns.cpu.userNs > 0);
  });

  it('a lifecycle event arrives within a second of an outside virsh suspend', async () => {
    const t0 = Date.now();
    await n1.virsh(n1.qemuUnixUri, 'suspend', 'g1');
    while (!events.some((e) => e.event === 'suspended' && e.at >= t0) && Date.now() - t0 < 1000) await new Promise((r) => setTimeout(r, 5));
    const ev = events.find((e) => e.kind === 'lifecycle' && e.event === 'suspended' && e.at >= t0);
    assert.ok(ev, 'no suspended event within a second');
    assert.equal(ev.domain.name, 'g1');
    assert.equal((await c1.domainInfo('g1')).state, 'paused');
    await c1.resume('g1');
    assert.equal((await n1.virsh(n1.qemuUnixUri, 'domstate', 'g1')).trim(), 'running');
  });

  it('bulk stats of the running guest have the fields virsh domstats --raw shows, with equal stable values', async () => {
    const ours = (await c1.allDomainStats({ nowait: true })).find((s) => s.name === 'g1');
    const theirs = parseDomstats(await n1.virsh(n1.qemuUnixUri, 'domstats', '--raw', 'g1')).get('g1');
    assert.ok(ours && theirs);
    const skipVolatile = (k: string): boolean => /^(cpu\.|vcpu\.\d+\.(time|wait|delay)|balloon\.(last-update|rss|unused|available|usable|disk_caches|hugetlb|major|minor|swap)|block\.\d+\.(rd|wr|fl)|net\.\d+\.(rx|tx)|dirtyrate)/.test(k);
    assert.deepEqual(Object.keys(ours.raw).filter((k) => !/^balloon\./.test(k)).sort(), Object.keys(theirs).filter((k) => !/^balloon\./.test(k)).sort());
    for (const [k, v] of Object.entries(ours.raw)) {
      if (skipVolatile(k) || theirs[k] === undefined) continue;
      assert.equal(String(v), theirs[k], k);
    }
    assert.equal(ours.state?.state, 'running');
    assert.ok((ours.cpu?.timeNs ?? 0) > 0);
    assert.equal(ours.balloon?.maximumKiB, 256 * 1024);
    assert.equal(ours.vcpu?.current, 1);
    assert.equal(ours.vcpu?.timesNs.length, 1);
  });

  it('setMemory goes through the balloon: virsh sees it and a balloon-change event arrives', async () => {
    const t0 = Date.now();
    await c1.setMemory('g1', 200 * 1024, { live: true });
    while (!events.some((e) => e.kind === 'balloon-change' && e.at >= t0) && Date.now() - t0 < 15000) await new Promise((r) => setTimeout(r, 50));
    const ev = events.find((e) => e.kind === 'balloon-change' && e.at >= t0);
    assert.ok(ev, 'no balloon-change event');
    assert.ok(ev.actualKiB !== undefined && ev.actualKiB > 0 && ev.actualKiB <= 256 * 1024, `balloon-change carries the balloon's size: ${JSON.stringify(ev)}`);
    const used = parseKeyValues(await n1.virsh(n1.qemuUnixUri, 'dominfo', 'g1'))['Used memory'];
    assert.equal(used, `${(await c1.domainInfo('g1')).memKiB} KiB`);
  });

  it('devices: live attach and detach of a virtio channel, config attach of a disk, seen in virsh dumpxml', async () => {
    const chan = "<channel type='unix'><source mode='bind'/><target type='virtio' name='vem.extra.0'/></channel>";
    const t0 = Date.now();
    await c1.attachDevice('g1', chan, { live: true });
    assert.match(await n1.virsh(n1.qemuUnixUri, 'dumpxml', 'g1'), /vem\.extra\.0/);
    // detach with the device as the live XML has it (libvirt filled in the socket path)
    const live = /<channel type='unix'>(?:(?!<\/channel>)[\s\S])*vem\.extra\.0[\s\S]*?<\/channel>/.exec(await c1.domainXml('g1'));
    assert.ok(live, 'attached channel not in the live XML');
    await c1.detachDevice('g1', live[0], { live: true });
    while (!events.some((e) => e.kind === 'device-removed' && e.at >= t0) && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 50));
    assert.doesNotMatch(await n1.virsh(n1.qemuUnixUri, 'dumpxml', 'g1'), /vem\.extra\.0/);
    assert.ok(events.some((e) => e.kind === 'device-removed' && e.domain.name === 'g1'), 'no device-removed event');
    const disk = "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/vem-extra.img'/><target dev='vdb' bus='virtio'/></disk>";
    await c1.attachDevice('g1', disk, { config: true });
    assert.match(await n1.virsh(n1.qemuUnixUri, 'dumpxml', '--inactive', 'g1'), /vem-extra\.img/);
    await c1.detachDevice('g1', disk, { config: true });
    assert.doesNotMatch(await n1.virsh(n1.qemuUnixUri, 'dumpxml', '--inactive', 'g1'), /vem-extra\.img/);
  });

  it('QEMU guest agent (Debian\'s qemu-ga in the guest): a command through libvirt and QEMU, guest-info, and the guest\'s hostname', async () => {
    // libvirt marks the agent connected once the guest has opened its port
    let text: string;
    for (const t0 = Date.now(); ; ) {
      try {
        text = await c1.guestAgentCommand('g1', '{"execute":"guest-info"}', 10);
        break;
      } catch (e) {
        if (!(e instanceof LibvirtError) || e.code !== 86 || Date.now() - t0 > 60_000) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    const out = JSON.parse(text) as { return: { version: string; supported_commands: Array<{ name: string; enabled: boolean }> } };
    assert.ok(QGA_VERSION, 'qemu-ga --version on the host names a version');
    assert.equal(out.return.version, QGA_VERSION, 'the guest runs the real qemu-ga');
    assert.ok(out.return.supported_commands.some((c) => c.name === 'guest-get-host-name' && c.enabled));
    // The earlier console tests took the console over: open our own (force) and ask the guest itself.
    const con = consoleShell(await c1.openConsole('g1', undefined, { force: true }));
    con.send('\recho HN=$(hostname)=\r');
    const hn = (await con.expect(/HN=([A-Za-z0-9._-]+)=/))[1];
    const info = await c1.guestInfo('g1', 8);
    assert.equal(info['hostname'], hn, 'guest-get-host-name through libvirt agrees with the console');
    await assert.rejects(c1.guestAgentCommand('g1', '{"execute":"guest-no-such"}', 10), LibvirtError);
  });

  it('a failed migration leaves the guest running on the source', async () => {
    await assert.rejects(c1.migrate('g1', `qemu+tcp://${n2.ip}:1/system`, { live: true }), LibvirtError);
    assert.equal((await c1.domainInfo('g1')).state, 'running');
  });

  it('abortJob stops a running migration; the guest stays on the source, running', async () => {
    const migrating = c1.migrate('g1', n2.qemuUri, { live: true, persistOnTarget: true, undefineSource: true, bandwidthMiBs: 1 }).then(() => 'finished', (e: unknown) => e);
    let seen: JobStats | null = null;
    for (const t0 = Date.now(); !seen && Date.now() - t0 < 20_000; ) {
      const s = await c1.jobStats('g1').catch(() => null);
      if (s && s.type !== 'none' && (s.dataProcessed ?? 0) > 0) seen = s;
      else await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(seen, 'the migration never showed progress');
    await c1.abortJob('g1');
    const result = await migrating;
    assert.ok(result instanceof LibvirtError, `migration was not aborted: ${String(result)}`);
    assert.equal((await c1.domainInfo('g1')).state, 'running');
    assert.ok(!(await c2.listDomains()).some((d) => d.name === 'g1'), 'the aborted guest appeared on the target');
    assert.equal((await c1.jobStats('g1')).type, 'none', 'a job is still running after the abort');
  });

  it('peer-to-peer live migration with job-stats progress; the guest state survives; completed stats match virsh domjobinfo', async () => {
    const samples: JobStats[] = [];
    let done = false;
    const poll = (async () => {
      while (!done) {
        const s = await c1.jobStats('g1').catch(() => null);
        if (s) samples.push(s);
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    const t0 = Date.now();
    try {
      await c1.migrate('g1', n2.qemuUri, { live: true, persistOnTarget: true, undefineSource: true, bandwidthMiBs: 64, maxDowntimeMs: 400 });
    } finally {
      done = true;
      await poll;
    }
    const moving = samples.filter((s) => s.type === 'unbounded' || s.type === 'bounded');
    assert.ok(moving.length > 0, `no job progress seen in ${samples.length} samples over ${Date.now() - t0} ms`);
    assert.ok(moving.some((s) => (s.dataProcessed ?? s.memProcessed ?? 0) > 0), 'progress never moved');
    assert.equal(moving[0]?.operation, 'outgoing-migration');
    assert.ok(!(await c1.listDomains()).some((d) => d.name === 'g1'), 'still on the source');
    const on2 = await c2.domainInfo('g1');
    assert.equal(on2.state, 'running');
    assert.equal(on2.persistent, true);

    const done2 = await c2.jobStats('g1', true);
    assert.equal(done2.type, 'completed');
    const vj = Object.fromEntries(Object.entries(parseKeyValues(await n2.virsh(n2.qemuUri, 'domjobinfo', '--completed', '--keep-completed', 'g1'))).map(([k, v]) => [k, v.replace(/\s+/g, ' ')]));
    assert.equal(vj['Job type'], 'Completed');
    // QEMU reports these for every completed live migration: their absence is a client bug.
    assert.ok(done2.dataTotal !== undefined && done2.dataTotal > 0, `data total reported: ${JSON.stringify(done2)}`);
    assert.match(vj['Data total'] ?? '', /\S/);
    assert.ok(done2.downtimeMs !== undefined, 'downtime reported');
    assert.equal(vj['Total downtime'], `${done2.downtimeMs} ms`);
    assert.ok(done2.timeElapsedMs !== undefined, 'time elapsed reported');
    assert.equal(vj['Time elapsed'], `${done2.timeElapsedMs} ms`);

    // the event is sent by the daemons on their own schedule: give it a few seconds
    const isCompleted = (e: DomainEvent): boolean => e.kind === 'job-completed' && e.domain.name === 'g1';
    for (const t1 = Date.now(); !events.some(isCompleted) && Date.now() - t1 < 10_000; ) await new Promise((r) => setTimeout(r, 50));
    const completedEvent = events.find(isCompleted);
    assert.ok(completedEvent?.stats, 'no job-completed event for the migration');

    const sh2 = consoleShell(await c2.openConsole('g1', undefined, { force: true }));
    await waitPrompt(sh2, PROMPT, 30_000);
    sh2.send('cat /tmp/state\r');
    await sh2.expect(/vem-state-4711/);
  });
});

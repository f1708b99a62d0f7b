// The lab's own proof (issue 2): two real libvirt nodes, a real TCG guest that boots
// to a shell prompt on n1, live-migrates to n2 with virsh, keeps a value written in
// its tmpfs, and a teardown that leaves no process, mount or slot behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireLab, startLab, buildGuestImage, guestDomainXml, openGuestConsole, waitForPrompt, isAlive, GUEST_CHANNEL, type Lab } from './index.js';
import { run } from './procs.js';
import { slotRoot } from './slots.js';

const PROMPT = /vem-guest# /;

async function sshRun(lab: Lab, i: number, command: string, extra: string[] = []): Promise<string> {
  const n = lab.nodes[i];
  assert.ok(n?.sshd);
  const kh = join(lab.dir, `known_hosts_${n.name}`);
  writeFileSync(kh, `${n.sshd.knownHostsLine}\n`);
  return run('ssh', ['-F', 'none', '-i', n.sshd.userKeyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${kh}`, '-o', 'ConnectTimeout=10',
    ...extra, '-p', String(n.sshd.port), `root@${n.sshd.host}`, command], { timeoutMs: 30_000 });
}

test('lab smoke: two nodes, a guest boots, live-migrates with its memory, teardown leaves nothing', { timeout: 240_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu', 'sshd', 'guest']) !== null) return;
  const image = await buildGuestImage();
  const lab = await startLab({ nodes: 2, sshd: true, name: 'smoke' });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await lab.stop();
  });
  const [n1, n2] = lab.nodes;
  assert.ok(n1 && n2);

  // Two distinct hosts on loopback, each with its own host UUID, both on TCP and unix socket.
  assert.notEqual(n1.ip, n2.ip);
  for (const n of lab.nodes) assert.match(n.ip, /^127\.\d+\.\d+\.\d+$/);
  const caps1 = await n1.virsh(n1.qemuUri, 'capabilities');
  const caps2 = await n2.virsh(n2.qemuUnixUri, 'capabilities');
  assert.ok(caps1.includes(`<uuid>${n1.hostUuid}</uuid>`), 'n1 reports its own host UUID');
  assert.ok(caps2.includes(`<uuid>${n2.hostUuid}</uuid>`), 'n2 reports its own host UUID');
  assert.notEqual(n1.hostUuid, n2.hostUuid);
  assert.equal((await n1.virsh(n1.qemuUri, 'hostname')).trim(), 'n1');
  assert.equal((await n2.virsh(n2.qemuUri, 'hostname')).trim(), 'n2');

  // sshd per node: key login lands in that node's namespace; no password login.
  assert.equal((await sshRun(lab, 1, 'hostname')).trim(), 'n2');
  assert.match(await sshRun(lab, 0, 'virsh -c qemu:///system hostname'), /^n1\s*$/);
  await assert.rejects(sshRun(lab, 0, 'true', ['-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'PubkeyAuthentication=no']), /Permission denied/);

  // A guest boots on n1 and its console shows the shell prompt.
  const xml = join(lab.dir, 'g1.xml');
  writeFileSync(xml, guestDomainXml({ name: 'g1', kernel: image.kernel, initrd: image.initrd, memoryMiB: 384 }));
  await n1.virsh(n1.qemuUri, 'create', xml);
  assert.equal((await n2.virsh(n2.qemuUri, 'list', '--all', '--name')).trim(), '', 'n2 does not see n1 guests');
  const con1 = await openGuestConsole(n1.qemuUri, 'g1');
  await waitForPrompt(con1, PROMPT, 90_000);
  await con1.command('stty cols 400');
  const value = randomBytes(12).toString('hex');
  await con1.command(`echo ${value} > /tmp/value`);
  assert.equal((await con1.command('cat /tmp/value')).trim(), value);
  // The agent's channel shows up in the guest under its name.
  assert.match(await con1.command(`ls /dev/virtio-ports/`), new RegExp(GUEST_CHANNEL.replace(/\./g, '\\.')));
  await con1.close();

  // Live migration n1 -> n2 over qemu+tcp.
  await n1.virsh(n1.qemuUri, 'migrate', '--live', 'g1', n2.qemuUri);
  assert.equal((await n1.virsh(n1.qemuUri, 'list', '--name')).trim(), '', 'g1 left n1');
  assert.match(await n2.virsh(n2.qemuUri, 'domstate', 'g1'), /running/);

  // The value written before the move is read back after it: the memory came along.
  const con2 = await openGuestConsole(n2.qemuUri, 'g1');
  await waitForPrompt(con2, PROMPT, 30_000);
  assert.equal((await con2.command('cat /tmp/value')).trim(), value);
  await con2.close();

  // The channel socket lives in n2's own folder (read from the live XML).
  const live = await n2.virsh(n2.qemuUri, 'dumpxml', 'g1');
  const chan = /<source mode='bind' path='(\/var\/lib\/libvirt\/[^']+)'/.exec(live)?.[1];
  assert.ok(chan, 'live XML names the channel socket');
  assert.ok(existsSync(join(n2.dir, 'lib', chan.slice('/var/lib/libvirt/'.length))), 'channel socket inside n2/lib');

  // Teardown: every process of the lab ends, the namespaces (and so the mounts) go, the slot is free.
  const pids = [...lab.nodes.flatMap((n) => n.livePids()), ...lab.nodes.map((n) => n.sshd?.pid ?? 0)];
  const qemuPids = n2.livePids().filter((p) => readFileSync(`/proc/${p}/comm`, 'utf8').startsWith('qemu'));
  assert.equal(qemuPids.length, 1, 'one QEMU process on n2 before stop');
  assert.ok(pids.includes(n1.libvirtdPid()) && pids.includes(n2.libvirtdPid()));
  const slot = n1.ip.split('.')[2];
  await lab.stop();
  stopped = true;
  assert.deepEqual(pids.filter(isAlive), [], 'no lab process left');
  for (const n of lab.nodes) assert.deepEqual(n.livePids(), [], `nothing left in ${n.name}'s namespace`);
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(lab.dir), 'no lab mount visible');
  assert.ok(!existsSync(join(slotRoot(), String(slot))) || !readFileSync(join(slotRoot(), String(slot), 'owner.json'), 'utf8').includes(lab.dir), 'slot released');
});

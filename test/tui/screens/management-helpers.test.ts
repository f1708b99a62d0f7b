/** Pure logic of the management screens: XML devices, validation, process table, decoders. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { domainDevices, xmlWellFormed } from '../../../src/tui/store/manage-xml.js';
import { DOMAIN } from '../../fixtures/domain-xml.js';
import { nameProblem, parseSignal, parseSize, validateVolume, volumeXml } from '../../../src/tui/commands/manage-validate.js';
import { processMatches, selectProcesses } from '../../../src/tui/screens/guest-table.js';
import { addressText, prefixLength } from '../../../src/tui/screens/networks.js';
import { agentLine } from '../../../src/tui/screens/guest.js';
import { decodeFilesystems, decodeNetworks, decodePools, decodeProcesses, decodeSessions, decodeUsers, type ProcessRow } from '../../../src/tui/store/manage-decode.js';
import { WireShapeError } from '../../../src/api/client.js';
import type { Network, Pool } from '../../../src/api/index.js';
import { QGA_METHODS } from '../../../src/agent/guest/qga.js';
import { isPolicyRefusal } from '../../../src/tui/commands/manage.js';
import { bootOrderOf, detachDiskXml, detachNicXml, diskXml, nextDiskTarget, nicXml, parseBootOrder, withBootOrder } from '../../../src/tui/commands/manage-devices.js';


test('domain XML: disks by path or pool/volume, an empty CD-ROM, NICs by network or bridge', () => {
  const d = domainDevices(DOMAIN);
  assert.deepEqual(
    d.disks.map((x) => [x.device, x.target, x.path, x.pool, x.volume]),
    [
      ['disk', 'vda', '/var/lib/libvirt/images/web-01.qcow2', undefined, undefined],
      ['disk', 'vdb', undefined, 'fast', 'data-1'],
      ['cdrom', 'sda', undefined, undefined, undefined],
    ],
  );
  assert.deepEqual(d.nics, [
    { type: 'network', network: 'default', bridge: undefined, mac: '52:54:00:aa:bb:cc' },
    { type: 'bridge', network: undefined, bridge: 'br-lan', mac: undefined },
  ]);
  assert.deepEqual(domainDevices('<not xml'), { disks: [], nics: [] });
});

test('edited XML: broken XML is caught with its line before anything is sent', () => {
  assert.deepEqual(xmlWellFormed(DOMAIN), { ok: true });
  const bad = xmlWellFormed('<domain>\n  <name>x</name>\n  <devices>\n</domain>');
  assert.equal(bad.ok, false);
  if (!bad.ok) {
    assert.equal(bad.line, 4);
    assert.match(bad.message, /devices|domain/);
  }
  assert.equal(xmlWellFormed('  ').ok, false);
});

test('sizes, names and signals', () => {
  assert.equal(parseSize('20G'), 20 * 1024 ** 3);
  assert.equal(parseSize('512M'), 512 * 1024 ** 2);
  assert.equal(parseSize('1.5t'), 1.5 * 1024 ** 4);
  assert.equal(parseSize('20'), 20 * 1024 ** 3);
  assert.equal(parseSize('-1G'), undefined);
  assert.equal(parseSize('lots'), undefined);
  assert.equal(parseSize('5X'), undefined);
  assert.equal(nameProblem('disk-1.qcow2', 'volume name'), undefined);
  assert.match(nameProblem('../etc', 'volume name') ?? '', /volume name '..\/etc' may only use/);
  assert.match(nameProblem('', 'name') ?? '', /name is empty/);
  assert.equal(parseSignal(''), 'TERM');
  assert.equal(parseSignal('sigkill'), 'KILL');
  assert.equal(parseSignal('hup'), 'HUP');
  assert.equal(parseSignal('BOOM'), undefined);
  assert.equal(volumeXml("a'b", 1024, 'raw'), "<volume><name>a&apos;b</name><capacity unit='bytes'>1024</capacity><target><format type='raw'/></target></volume>");
});

test('a new volume: each problem names its field; a valid one gives its size in bytes', () => {
  const pool = { name: 'default', available: 10 * 1024 ** 3, state: 'running' };
  const ok = validateVolume({ name: 'new.qcow2', size: '5G', format: 'qcow2' }, pool, ['web-01.qcow2']);
  assert.deepEqual(ok, { errors: [], bytes: 5 * 1024 ** 3 });
  const taken = validateVolume({ name: 'web-01.qcow2', size: '5G', format: 'qcow2' }, pool, ['web-01.qcow2']);
  assert.deepEqual(taken.errors.map((e) => e.field), ['name']);
  assert.match(taken.errors[0]?.message ?? '', /already has a volume 'web-01.qcow2'/);
  const big = validateVolume({ name: 'x', size: '11G', format: 'raw' }, pool, []);
  assert.deepEqual(big.errors.map((e) => e.field), ['size']);
  assert.match(big.errors[0]?.message ?? '', /more than the 10G available in pool default/);
  const all = validateVolume({ name: 'a b', size: 'huge', format: 'vmdk' }, { ...pool, state: 'inactive' }, []);
  assert.deepEqual(all.errors.map((e) => e.field), ['name', 'size', 'format', 'pool']);
});

function proc(pid: number, user: string, cpuPct: number, rssKiB: number, command: string): ProcessRow {
  return { pid, ppid: 1, user, state: 'S', cpuPct, rssKiB, name: command.split(' ')[0] ?? '', command };
}

test('process table: sorts by cpu, rss, pid, user, command (ties by pid), filters by words, reverses', () => {
  const ps: ProcessRow[] = [proc(10, 'root', 1, 500, 'sshd'), proc(20, 'www-data', 9, 100, 'nginx: worker'), proc(30, 'www-data', 9, 900, 'php-fpm'), proc(5, 'alice', 0, 50, 'bash')];
  assert.deepEqual(selectProcesses(ps, '', 'cpu', false).map((p) => p.pid), [20, 30, 10, 5]);
  assert.deepEqual(selectProcesses(ps, '', 'rss', false).map((p) => p.pid), [30, 10, 20, 5]);
  assert.deepEqual(selectProcesses(ps, '', 'pid', false).map((p) => p.pid), [5, 10, 20, 30]);
  assert.deepEqual(selectProcesses(ps, '', 'user', false).map((p) => p.pid), [5, 10, 20, 30]);
  assert.deepEqual(selectProcesses(ps, '', 'command', false).map((p) => p.pid), [5, 20, 30, 10]);
  assert.deepEqual(selectProcesses(ps, '', 'pid', true).map((p) => p.pid), [30, 20, 10, 5]);
  assert.deepEqual(selectProcesses(ps, 'www', 'pid', false).map((p) => p.pid), [20, 30]);
  assert.deepEqual(selectProcesses(ps, 'www !nginx', 'pid', false).map((p) => p.pid), [30]);
  assert.equal(processMatches(ps[0] as ProcessRow, '10'), true);
  // An in-place sort keeps the length; the order is what would show the mutation.
  assert.deepEqual(ps.map((p) => p.pid), [10, 20, 30, 5], 'the input is not reordered');
});

test('network addresses and prefix lengths', () => {
  assert.equal(prefixLength('255.255.255.0'), 24);
  assert.equal(prefixLength('255.255.0.0'), 16);
  assert.equal(prefixLength('255.255.255.255'), 32);
  assert.equal(prefixLength('255.0.255.0'), undefined);
  const net: Network = { name: 'default', uuid: 'u', active: true, persistent: true, autostart: false, bridge: 'virbr0', ipAddress: '192.168.122.1', netmask: '255.255.255.0', dhcpStart: '192.168.122.2', dhcpEnd: '192.168.122.254' };
  const [n] = decodeNetworks([net]);
  assert.ok(n);
  assert.equal(addressText(n), '192.168.122.1/24');
  assert.equal(n.autostart, false);
  assert.equal(addressText({ ...n, ipAddress: '' }), '-');
});

/** What qemu-guest-agent replies to one command (QMP JSON), as the node agent's fallback reads it. */
function qga(reply: unknown): (cmd: string, t: number) => Promise<string> {
  return async () => JSON.stringify({ return: reply });
}

test("decoders fill defaults for what a declared field may omit, and read qemu-guest-agent's answers", async () => {
  const pool: Pool = { name: 'default', uuid: 'u', state: 'running', capacity: 100, allocation: 40, available: 60, autostart: false, persistent: true };
  const [p] = decodePools([pool]);
  assert.deepEqual(p, { name: 'default', state: 'running', type: '', path: '', capacity: 100, allocation: 40, available: 60, autostart: false });
  const procs = decodeProcesses({ processes: [{ pid: 7, user: 'root', cpuPercent: 1.5, rssKiB: 10, command: '/sbin/x' }] });
  assert.equal(procs[0]?.cpuPct, 1.5);
  assert.equal(procs[0]?.ppid, 0);
  // The node agent's own qemu-guest-agent mapping, fed the replies qemu-guest-agent gives.
  const users = await (QGA_METHODS['guest.users'] as NonNullable<(typeof QGA_METHODS)['guest.users']>)(qga([{ user: 'alice', 'login-time': 1700000000.5 }]), 5);
  const u = decodeUsers(users);
  assert.equal(u.users[0]?.name, 'alice');
  assert.equal(u.users[0]?.loggedIn, true);
  assert.equal(u.users[0]?.uid, -1, 'qemu-guest-agent does not know the uid');
  assert.deepEqual(u.groups, []);
  const sessions = decodeSessions(await (QGA_METHODS['guest.sessions'] as NonNullable<(typeof QGA_METHODS)['guest.sessions']>)(qga([{ user: 'bob', domain: 'CORP', 'login-time': 1700000000 }]), 5));
  assert.deepEqual(sessions, [{ user: 'bob', line: '', host: 'CORP', loginTime: '2023-11-14T22:13:20.000Z' }]);
  const fs = decodeFilesystems(await (QGA_METHODS['guest.filesystems'] as NonNullable<(typeof QGA_METHODS)['guest.filesystems']>)(qga([{ name: 'sda1', mountpoint: '/', type: 'ext4', 'total-bytes': 100, 'used-bytes': 30 }]), 5));
  assert.deepEqual(fs, [{ mountPoint: '/', device: 'sda1', fsType: 'ext4', totalBytes: 100, usedBytes: 30 }]);
});

test('decoders refuse shapes the agent does not send, naming the method and the field', () => {
  assert.throws(() => decodeProcesses([{ pid: 7 }]), (e: unknown) => e instanceof WireShapeError && e.method === 'guest.processes');
  assert.throws(() => decodePools([{ name: 'default', capacity: 1 }]), (e: unknown) => e instanceof WireShapeError && e.problems.includes('result[0].state: missing'));
  assert.throws(() => decodeUsers([{ name: 'alice' }]), WireShapeError);
});

test('agent line: none, qemu-guest-agent, simulated; policy refusals told apart from failures', () => {
  assert.equal(agentLine({ errors: {}, loading: false, status: { agent: 'none', detail: 'no channel', simulated: false } }).level, 'bad');
  assert.match(agentLine({ errors: {}, loading: false, status: { agent: 'qemu-guest-agent', detail: '', simulated: false } }).text, /less data/);
  assert.match(agentLine({ errors: {}, loading: false, status: { agent: 'simulated', detail: '', simulated: true } }).text, /SIMULATED/);
  assert.equal(isPolicyRefusal(Object.assign(new Error('nope'), { code: 403 })), true);
  assert.equal(isPolicyRefusal(new Error("refused by the guest's policy: signal is not allowed")), true);
  assert.equal(isPolicyRefusal(new Error('no process 455 in this guest')), false);
});

test('device XML: the next free disk target, disks and NICs that libvirt can match for detach and update', () => {
  const d = domainDevices(DOMAIN);
  assert.equal(nextDiskTarget(d.disks), 'vdc');
  assert.equal(nextDiskTarget([]), 'vda');
  const disk = domainDevices(`<domain><devices>${diskXml('/i/x.qcow2', 'qcow2', 'vdc')}${nicXml('lan', '52:54:00:00:00:01')}</devices></domain>`);
  assert.deepEqual(disk.disks, [{ device: 'disk', target: 'vdc', path: '/i/x.qcow2', pool: undefined, volume: undefined, type: 'file', shared: false }]);
  assert.deepEqual(disk.nics, [{ type: 'network', network: 'lan', bridge: undefined, mac: '52:54:00:00:00:01' }]);
  assert.match(diskXml('/i/a.iso', 'iso', 'sdb'), /type='raw'.*bus='sata'/);
  assert.equal(detachDiskXml(d.disks[0] ?? assert.fail()), "<disk type='file' device='disk'><source file='/var/lib/libvirt/images/web-01.qcow2'/><target dev='vda'/></disk>");
  assert.equal(detachNicXml(d.nics[1] ?? assert.fail()), "<interface type='bridge'><source bridge='br-lan'/></interface>");
  assert.equal(xmlWellFormed(nicXml("a'b")).ok, true);
});

test('boot order: parsed with errors naming the entry; replaced inside <os> only, after <type>', () => {
  assert.deepEqual(parseBootOrder('cdrom, hd'), { order: ['cdrom', 'hd'] });
  assert.deepEqual(parseBootOrder('hd,usb'), { error: "boot order: 'usb' is not one of hd, cdrom, network, fd" });
  assert.deepEqual(parseBootOrder('hd hd'), { error: 'boot order: a device is named twice' });
  const xml = "<domain><name>a</name><os>\n    <type arch='x86_64'>hvm</type>\n    <boot dev='hd'/>\n  </os><devices><disk><boot order='1'/></disk></devices></domain>";
  const out = withBootOrder(xml, ['cdrom', 'network', 'hd']);
  assert.deepEqual(bootOrderOf(out), ['cdrom', 'network', 'hd']);
  assert.equal(xmlWellFormed(out).ok, true);
  assert.match(out, /<type arch='x86_64'>hvm<\/type>\n {4}<boot dev='cdrom'\/>/);
  assert.match(out, /<disk><boot order='1'\/><\/disk>/);
  assert.throws(() => withBootOrder('<domain/>', ['hd']), /no <os>/);
});

// The per-domain stats route's own logic (drivers without the bulk call: LXC, libxl), against a
// scripted driver: a running VM's memory, interface and block stats go out with its GetInfo in the
// same wave; each call refused with NO_SUPPORT is learned once per connection; interface names come
// from the live XML once per run, not per poll; a failed device call leaves the figure absent, not
// partial; the record then gives memory in use and rates through the agent's own rates code.
// The real drivers' answers are checked on an LXC lab node (test/agent/e2e-lxc-stats.lab.test.ts).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { capabilitiesOf, devicesOfXml, domainStats } from '../../src/libvirt/capabilities.js';
import { ErrorCode, LibvirtError } from '../../src/libvirt/errors.js';
import type { BlockStats, DomainInfo, DomainMemoryStats, DomainStats, Hypervisor, InterfaceStats } from '../../src/libvirt/hypervisor.js';
import { decodeBlockStats, decodeInterfaceStats, decodeMemoryStats } from '../../src/libvirt/procedures/stats.js';
import { XdrReader } from '../../src/libvirt/xdr/reader.js';
import { XdrWriter } from '../../src/libvirt/xdr/writer.js';
import { memUsedKiB, vmCounters, vmSample } from '../../src/agent/rates.js';

type Call = 'info' | 'xml' | 'mem' | 'if' | 'blk';

function info(name: string, id: number): DomainInfo {
  return { name, uuid: `u-${name}`, id, state: id >= 0 ? 'running' : 'shutoff', maxMemKiB: 65536, memKiB: 65536, vcpus: 1, cpuTimeNs: 1e9, persistent: true, autostart: false };
}
const noSupport = (api: string): LibvirtError => new LibvirtError(`this function is not supported by the connection driver: ${api}`, ErrorCode.NO_SUPPORT, 20);
const xmlOf = (id: number, nics: string[]): string =>
  `<domain type='lxc' id='${id}'><devices>${nics.map((n, i) => `<interface type='ethernet'><mac address='52:54:00:00:00:0${i}'/><target dev='${n}'/><guest dev='eth${i}'/></interface>`).join('')}<console type='pty'/></devices></domain>`;

/** A scripted LXC-like driver: every call counted, in flight counted, refusals by call. */
class Scripted extends EventEmitter {
  domains = [info('c1', 101), info('c2', 102), info('off', -1)];
  nics: Record<string, string[]> = { c1: ['veth1'], c2: ['veth2a', 'veth2b'], off: ['veth9'] };
  refuse = new Set<Call>();
  failDevice = new Set<string>();
  stoppedAfterList = new Set<string>();
  calls: Array<{ call: Call; name: string; dev?: string }> = [];
  inFlight = 0;
  maxInFlight = 0;
  bytes = 1000;

  private async answer<T>(call: Call, name: string, dev: string | undefined, api: string, fn: () => T): Promise<T> {
    this.calls.push(dev === undefined ? { call, name } : { call, name, dev });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 5));
    this.inFlight--;
    if (this.refuse.has(call)) throw noSupport(api);
    if (call !== 'info' && call !== 'xml' && this.stoppedAfterList.has(name)) throw new LibvirtError('Requested operation is not valid: domain is not running', ErrorCode.OPERATION_INVALID, 17);
    if (dev !== undefined && this.failDevice.has(dev)) throw new LibvirtError(`invalid argument: '${dev}' is not a known interface`, ErrorCode.INVALID_ARG, 17);
    return fn();
  }
  async allDomainStats(): Promise<DomainStats[]> {
    throw noSupport('virConnectGetAllDomainStats');
  }
  async listDomains() {
    return this.domains.map(({ name, uuid, id }) => ({ name, uuid, id }));
  }
  domainInfo(name: string): Promise<DomainInfo> {
    return this.answer('info', name, undefined, 'virDomainGetInfo', () => {
      const d = this.domains.find((x) => x.name === name) as DomainInfo;
      return this.stoppedAfterList.has(name) ? { ...d, id: -1, state: 'shutoff' as const } : d;
    });
  }
  domainXml(name: string): Promise<string> {
    return this.answer('xml', name, undefined, 'virDomainGetXMLDesc', () => xmlOf(this.domains.find((x) => x.name === name)?.id ?? -1, this.nics[name] ?? []));
  }
  domainMemoryStats(name: string): Promise<DomainMemoryStats> {
    return this.answer('mem', name, undefined, 'virDomainMemoryStats', () => ({ actualKiB: 65536, swapInKiB: 20000, rssKiB: 20000 }));
  }
  domainInterfaceStats(name: string, dev: string): Promise<InterfaceStats> {
    return this.answer('if', name, dev, 'virDomainInterfaceStats', () => ({ rxBytes: this.bytes, rxPkts: 10, rxErrs: 0, rxDrop: 0, txBytes: 2 * this.bytes, txPkts: 20, txErrs: 0, txDrop: -1 }));
  }
  domainBlockStats(name: string, dev: string): Promise<BlockStats> {
    return this.answer('blk', name, dev, 'virDomainBlockStats', () => ({ rdReqs: 1, rdBytes: 4096, wrReqs: 2, wrBytes: 3 * this.bytes, errs: -1 }));
  }
}
const asHv = (f: Scripted): Hypervisor => f as unknown as Hypervisor;
const count = (f: Scripted, call: Call): number => f.calls.filter((c) => c.call === call).length;
const byName = (s: DomainStats[], n: string): DomainStats => {
  const r = s.find((x) => x.name === n);
  assert.ok(r, n);
  return r;
};

test('a running VM gets memory, interface and block stats with its GetInfo; a stopped one only GetInfo', async () => {
  const f = new Scripted();
  const s = await domainStats(asHv(f));
  const c2 = byName(s, 'c2');
  assert.equal(c2.balloon?.rssKiB, 20000);
  assert.equal(c2.balloon?.currentKiB, 65536);
  assert.deepEqual(c2.net?.map((n) => [n.name, n.rxBytes, n.txBytes, n.txDrop]), [['veth2a', 1000, 2000, 0], ['veth2b', 1000, 2000, 0]]);
  // No <disk> in a container's XML: the whole VM's block total, asked with ''.
  assert.deepEqual(c2.block?.map((b) => [b.name, b.rdBytes, b.wrBytes]), [['', 4096, 3000]]);
  assert.deepEqual(f.calls.filter((c) => c.name === 'off').map((c) => c.call), ['info'], 'nothing but GetInfo for a stopped VM');
  const off = byName(s, 'off');
  assert.equal(off.net, undefined);
  assert.equal(off.balloon?.rssKiB, undefined);
  assert.equal(capabilitiesOf(asHv(f)).statsRoute, 'per-domain');
});

test('steady state: one wave per poll, every call in flight at once, at most one XML read per poll', async () => {
  const f = new Scripted();
  await domainStats(asHv(f));
  assert.equal(count(f, 'xml'), 2, 'the two running VMs, once');
  const xmlReads: number[] = [];
  for (let p = 0; p < 6; p++) {
    f.calls = [];
    f.maxInFlight = 0;
    await domainStats(asHv(f));
    xmlReads.push(count(f, 'xml'));
    // 3 GetInfo + 2 memory + 3 interfaces + 2 block totals (+ the one VM whose XML is re-read in turn).
    assert.equal(f.calls.length, 10 + count(f, 'xml'));
    assert.equal(f.maxInFlight, f.calls.length, 'all issued together, not one VM after another');
  }
  // The turn goes over the 3 listed VMs; the stopped one needs no XML, so 2 reads per 3 polls.
  assert.ok(xmlReads.every((n) => n <= 1), xmlReads.join(', '));
  assert.equal(xmlReads.reduce((a, b) => a + b, 0), 4, xmlReads.join(', '));
  // A restart is a new run (a new id, new veth names): its XML is read again.
  const c1 = f.domains[0] as DomainInfo;
  f.domains[0] = { ...c1, id: 201 };
  f.nics['c1'] = ['veth1new'];
  f.calls = [];
  const s = await domainStats(asHv(f));
  assert.ok(f.calls.some((c) => c.call === 'xml' && c.name === 'c1'));
  assert.deepEqual(byName(s, 'c1').net?.map((n) => n.name), ['veth1new']);
});

test('a NIC hot-plugged into a running VM is counted within one pass over the VMs', async () => {
  const f = new Scripted();
  await domainStats(asHv(f));
  f.nics['c1'] = ['veth1', 'veth1hot'];
  const seen: number[] = [];
  // Its turn comes within 3 polls (3 VMs listed); what that read finds counts from the next.
  for (let p = 0; p < 4; p++) seen.push(byName(await domainStats(asHv(f)), 'c1').net?.length ?? -1);
  assert.equal(seen[seen.length - 1], 2, `interfaces seen per poll: ${seen.join(', ')}`);
});

test('a call refused with NO_SUPPORT is learned once per connection, shown in node.info, and asked again after reconnect', async () => {
  const f = new Scripted();
  f.refuse.add('mem');
  f.refuse.add('blk');
  const s = await domainStats(asHv(f));
  const c1 = byName(s, 'c1');
  assert.equal(c1.balloon?.rssKiB, undefined, 'memory in use stays unknown');
  assert.equal(c1.block, undefined, 'disk rates stay unknown');
  assert.equal(c1.net?.length, 1, 'the call the driver has still comes');
  const u = capabilitiesOf(asHv(f)).unsupported;
  assert.match(u['memory-stats'] ?? '', /virDomainMemoryStats/);
  assert.match(u['block-stats'] ?? '', /virDomainBlockStats/);
  assert.equal(u['interface-stats'], undefined);
  f.calls = [];
  await domainStats(asHv(f));
  assert.equal(count(f, 'mem') + count(f, 'blk'), 0, 'not asked again');
  assert.equal(count(f, 'if'), 3);
  f.refuse.clear();
  f.emit('reconnect');
  f.calls = [];
  const again = await domainStats(asHv(f));
  assert.equal(count(f, 'mem'), 2, 'the daemon behind the URI may have changed');
  assert.equal(byName(again, 'c1').balloon?.rssKiB, 20000);
});

test('every per-domain call refused: no XML is read for them after the first poll', async () => {
  const f = new Scripted();
  f.refuse.add('mem');
  f.refuse.add('if');
  f.refuse.add('blk');
  await domainStats(asHv(f));
  f.calls = [];
  const s = await domainStats(asHv(f));
  assert.deepEqual([...new Set(f.calls.map((c) => c.call))], ['info']);
  assert.equal(byName(s, 'c1').net, undefined);
});

test('one interface failing leaves the VM\'s network absent (a partial sum would be wrong) and its XML is read again', async () => {
  const f = new Scripted();
  await domainStats(asHv(f));
  f.failDevice.add('veth2b'); // detached since the XML was read
  f.calls = [];
  const s = await domainStats(asHv(f));
  assert.equal(byName(s, 'c2').net, undefined);
  assert.equal(byName(s, 'c1').net?.length, 1, 'the other VM is unaffected');
  assert.equal(byName(s, 'c2').balloon?.rssKiB, 20000, 'its other figures still come');
  f.nics['c2'] = ['veth2a'];
  f.failDevice.clear();
  f.calls = [];
  const next = await domainStats(asHv(f));
  assert.ok(f.calls.some((c) => c.call === 'xml' && c.name === 'c2'), 'read again after the failure');
  assert.deepEqual(byName(next, 'c2').net?.map((n) => n.name), ['veth2a']);
  assert.equal(capabilitiesOf(asHv(f)).unsupported['interface-stats'], undefined, 'a device error is not the driver lacking the call');
});

test('a VM stopped between the list and its calls: GetInfo\'s record, no extras, the poll goes on', async () => {
  const f = new Scripted();
  f.stoppedAfterList.add('c1');
  const s = await domainStats(asHv(f));
  const c1 = byName(s, 'c1');
  assert.equal(c1.state?.state, 'shutoff');
  assert.equal(c1.net, undefined);
  assert.equal(c1.balloon?.rssKiB, undefined);
  assert.ok(byName(s, 'c2').net);
});

test('the folded record gives memory in use and rates through the agent\'s rates code', async () => {
  const f = new Scripted();
  const a = byName(await domainStats(asHv(f)), 'c1');
  f.bytes = 3000;
  const b = byName(await domainStats(asHv(f)), 'c1');
  assert.equal(memUsedKiB(b), 20000, 'rss, below the allocation');
  const sample = vmSample(vmCounters(a, 0), vmCounters(b, 2000), b, 2);
  assert.ok(sample);
  assert.equal(sample.memUsedKiB, 20000);
  assert.equal(sample.netRxBps, 1000, '2000 bytes more in 2 s');
  assert.equal(sample.netTxBps, 2000);
  assert.equal(sample.diskWrBps, 3000);
  assert.equal(sample.diskRdBps, 0);
});

test('interface names and disk targets from a live domain XML: target dev, else the MAC; an empty CD-ROM left out', () => {
  const d = devicesOfXml(`<domain><devices>
    <disk type='file' device='disk'><source file='/x.img'/><target dev='xvda' bus='xen'/></disk>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
    <interface type='bridge'><mac address='00:16:3e:00:00:01'/><source bridge='br0'/><target dev='vif3.0'/></interface>
    <interface type='network'><mac address='00:16:3e:00:00:02'/><source network='default'/></interface>
  </devices></domain>`, 3);
  assert.deepEqual(d, { id: 3, nics: ['vif3.0', '00:16:3e:00:00:02'], disks: ['xvda'] });
});

test('the three replies decode as remote_protocol.x lays them out', () => {
  const mem = new XdrWriter().uint(4).int(6).uhyper(65536).int(0).uhyper(43940).int(7).uhyper(43940).int(99).uhyper(1).finish();
  assert.deepEqual(decodeMemoryStats(new XdrReader(mem)), { actualKiB: 65536, swapInKiB: 43940, rssKiB: 43940 });
  const w = new XdrWriter();
  for (const v of [1, 2, 3, 4, 5, 6, 7, -1]) w.hyper(v);
  assert.deepEqual(decodeInterfaceStats(new XdrReader(w.finish())), { rxBytes: 1, rxPkts: 2, rxErrs: 3, rxDrop: 4, txBytes: 5, txPkts: 6, txErrs: 7, txDrop: -1 });
  const bw = new XdrWriter();
  for (const v of [10, 20, 30, 40, -1]) bw.hyper(v);
  assert.deepEqual(decodeBlockStats(new XdrReader(bw.finish())), { rdReqs: 10, rdBytes: 20, wrReqs: 30, wrBytes: 40, errs: -1 });
  // A count past what the bytes can hold is refused before anything is allocated.
  assert.throws(() => decodeMemoryStats(new XdrReader(new XdrWriter().uint(1000).finish())), /cannot fit/);
});

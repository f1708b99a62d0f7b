// Pure-logic tests of the wire codecs: XDR, typed parameters, frames, URIs, the
// bulk-stats mapping and event decoding, and the XML field readers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XdrReader } from '../../src/libvirt/xdr/reader.js';
import { XdrWriter } from '../../src/libvirt/xdr/writer.js';
import { readTypedParamList, readTypedParams, TypedParamType, writeTypedParams, type TypedParam } from '../../src/libvirt/xdr/typed-params.js';
import { decodeRemoteError, encodeMessage, FrameDecoder, type Frame } from '../../src/libvirt/rpc/frame.js';
import { MessageStatus, MessageType, Proc, REMOTE_PROGRAM } from '../../src/libvirt/rpc/constants.js';
import { parseLibvirtUri } from '../../src/libvirt/uri.js';
import { endpointOf } from '../../src/libvirt/uri.js';
import { decodeAllStats } from '../../src/libvirt/procedures/stats.js';
import { decodeEvent } from '../../src/libvirt/procedures/events.js';
import { parseSnapshotXml } from '../../src/libvirt/procedures/snapshot.js';
import { parseNetworkXml } from '../../src/libvirt/procedures/network.js';
import { migrateFlags, migrateParams, toJobStats } from '../../src/libvirt/procedures/migration.js';
import { uuidBytes, uuidString, writeDomain } from '../../src/libvirt/procedures/types.js';
import { LibvirtError, ProtocolError } from '../../src/libvirt/errors.js';
import { UsageError } from '../../src/common/errors.js';

describe('XDR', () => {
  it('round-trips every primitive with 4-byte alignment', () => {
    const w = new XdrWriter(4);
    w.int(-5).uint(0xfffffffe).bool(true).hyper(-(2 ** 40)).uhyper(2 ** 52 + 3).double(1.5).string('héllo').optString(null).optString('x').opaque(Buffer.from([1, 2, 3])).fixedOpaque(Buffer.alloc(16, 7));
    w.array([3, 4, 5], (ww, v) => ww.int(v));
    const b = w.finish();
    assert.equal(b.length % 4, 0);
    const r = new XdrReader(b);
    assert.equal(r.int(), -5);
    assert.equal(r.uint(), 0xfffffffe);
    assert.equal(r.bool(), true);
    assert.equal(r.hyper(), -(2 ** 40));
    assert.equal(r.uhyper(), 2 ** 52 + 3);
    assert.equal(r.double(), 1.5);
    assert.equal(r.string(), 'héllo');
    assert.equal(r.optString(), null);
    assert.equal(r.optString(), 'x');
    assert.deepEqual([...r.opaque(10)], [1, 2, 3]);
    assert.deepEqual([...r.fixedOpaque(16)], Array(16).fill(7));
    assert.deepEqual(r.array(10, (rr) => rr.int()), [3, 4, 5]);
    r.done('all');
  });

  it('refuses truncated input, over-limit lengths and bad bools with ProtocolError', () => {
    assert.throws(() => new XdrReader(Buffer.alloc(3)).int(), ProtocolError);
    assert.throws(() => new XdrReader(Buffer.from([0, 0, 0, 9, 65])).string(), ProtocolError);
    assert.throws(() => new XdrReader(Buffer.from([0, 0, 1, 0])).string(10), ProtocolError);
    assert.throws(() => new XdrReader(Buffer.from([0, 0, 0, 2])).bool(), ProtocolError);
    assert.throws(() => new XdrReader(Buffer.from([0xff, 0xff, 0xff, 0xff])).array(1e9, (r) => r.int()), ProtocolError);
    assert.throws(() => new XdrReader(Buffer.alloc(8)).done('x'), ProtocolError);
  });

  it('typed parameters keep their types and values', () => {
    const params: TypedParam[] = [
      { field: 'i', type: TypedParamType.INT, value: -3 },
      { field: 'u', type: TypedParamType.UINT, value: 7 },
      { field: 'l', type: TypedParamType.LLONG, value: -(2 ** 33) },
      { field: 'ul', type: TypedParamType.ULLONG, value: 2 ** 50 },
      { field: 'd', type: TypedParamType.DOUBLE, value: 0.25 },
      { field: 'b', type: TypedParamType.BOOLEAN, value: true },
      { field: 's', type: TypedParamType.STRING, value: 'tcp://127.0.0.1' },
    ];
    const w = new XdrWriter();
    writeTypedParams(w, params);
    const b = w.finish();
    assert.deepEqual(readTypedParams(new XdrReader(b), 64), { i: -3, u: 7, l: -(2 ** 33), ul: 2 ** 50, d: 0.25, b: true, s: 'tcp://127.0.0.1' });
    assert.deepEqual(readTypedParamList(new XdrReader(b), 64), params);
    assert.throws(() => readTypedParams(new XdrReader(b), 3), ProtocolError);
    const bad = Buffer.from(b);
    bad.writeInt32BE(99, 4 + 4 + 4); // type of the first parameter
    assert.throws(() => readTypedParams(new XdrReader(bad), 64), ProtocolError);
  });

  it('uuids print as libvirt does', () => {
    const s = '6a6d0000-0000-4000-8000-000000100001';
    assert.equal(uuidString(uuidBytes(s)), s);
    assert.throws(() => uuidBytes('nope'));
  });
});

describe('frames', () => {
  const frame = (serial: number, body: (w: XdrWriter) => void): Buffer =>
    encodeMessage({ program: REMOTE_PROGRAM, version: 1, procedure: 59, type: MessageType.REPLY, serial, status: MessageStatus.OK }, body);

  it('splits a byte stream cut at every possible point', () => {
    const a = frame(1, (w) => w.string('node-a'));
    const b = frame(2, (w) => w.string('node-b'));
    const all = Buffer.concat([a, b]);
    for (let cut = 0; cut <= all.length; cut++) {
      const d = new FrameDecoder();
      const got: Frame[] = [];
      d.push(all.subarray(0, cut), (f) => got.push(f));
      d.push(all.subarray(cut), (f) => got.push(f));
      assert.deepEqual(got.map((f) => [f.header.serial, new XdrReader(f.body).string()]), [[1, 'node-a'], [2, 'node-b']]);
      assert.equal(d.pending, 0);
    }
  });

  it('refuses lengths below a header and above the limit before buffering them', () => {
    const d = new FrameDecoder(1024);
    assert.throws(() => d.push(Buffer.from([0, 0, 0, 8, 0, 0, 0, 0]), () => undefined), ProtocolError);
    assert.throws(() => d.push(Buffer.alloc(4), () => undefined), ProtocolError, 'stays failed');
    const e = new FrameDecoder(1024);
    assert.throws(() => e.push(Buffer.from([0, 0, 8, 1]), () => undefined), ProtocolError);
  });

  it('decodes remote_error into LibvirtError', () => {
    const w = new XdrWriter();
    w.int(42).int(10).optString('Domain not found: no domain with matching name').int(2).int(0).optString(null).optString(null).optString(null).int(0).int(0).int(0);
    const e = decodeRemoteError(w.finish());
    assert.ok(e instanceof LibvirtError);
    assert.equal(e.code, 42);
    assert.equal(e.domain, 10);
    assert.match(e.message, /Domain not found/);
  });
});

describe('URIs', () => {
  it('parses libvirt URIs and tells the daemon the right name', () => {
    const a = parseLibvirtUri('qemu:///system');
    assert.equal(a.transport, 'unix');
    assert.equal(a.socket, '/var/run/libvirt/libvirt-sock');
    assert.equal(a.daemonUri, 'qemu:///system');
    const b = parseLibvirtUri('qemu+unix:///system?socket=/tmp/n1/libvirt-sock');
    assert.equal(b.socket, '/tmp/n1/libvirt-sock');
    assert.equal(b.daemonUri, 'qemu:///system');
    const c = parseLibvirtUri('qemu+tcp://127.0.0.5/system');
    assert.deepEqual(endpointOf(c), { host: '127.0.0.5', port: 16509 });
    assert.equal(c.daemonUri, 'qemu:///system');
    const d = parseLibvirtUri('test+unix:///tmp/lab/node.xml?socket=/s');
    assert.equal(d.daemonUri, 'test:///tmp/lab/node.xml');
    const e = parseLibvirtUri('qemu+tcp://root@[::1]:16600/system?keyfile=x&foo=bar');
    assert.equal(e.host, '::1');
    assert.equal(e.port, 16600);
    assert.equal(e.user, 'root');
    assert.equal(e.daemonUri, 'qemu:///system?foo=bar');
    assert.equal(parseLibvirtUri('qemu://host/system').transport, 'tls');
  });

  it('rejects bad URIs and unsupported transports with a clear UsageError', () => {
    assert.throws(() => parseLibvirtUri('not a uri'), UsageError);
    assert.throws(() => parseLibvirtUri('qemu+tcp://h:99999/system'), UsageError);
    assert.throws(() => parseLibvirtUri('qemu+carrier://h/system'), UsageError);
    assert.throws(() => endpointOf(parseLibvirtUri('qemu+ssh://h/system')), /not supported/);
  });
});

/** A CONNECT_GET_ALL_DOMAIN_STATS reply body with one domain and these parameters. */
function statsBody(params: TypedParam[]): Buffer {
  const w = new XdrWriter();
  w.uint(1);
  writeDomain(w, { name: 'g1', uuid: uuidBytes('00000000-0000-0000-0000-000000000001'), id: 3 });
  writeTypedParams(w, params);
  return w.finish();
}

describe('bulk stats mapping', () => {
  it('maps libvirt field names into DomainStats and keeps every field in raw', () => {
    const U = TypedParamType.ULLONG;
    const S = TypedParamType.STRING;
    const I = TypedParamType.INT;
    const UI = TypedParamType.UINT;
    const body = statsBody([
      { field: 'state.state', type: I, value: 1 },
      { field: 'state.reason', type: I, value: 1 },
      { field: 'cpu.time', type: U, value: 5e9 },
      { field: 'cpu.user', type: U, value: 3e9 },
      { field: 'cpu.system', type: U, value: 1e9 },
      { field: 'balloon.current', type: U, value: 524288 },
      { field: 'balloon.maximum', type: U, value: 524288 },
      { field: 'balloon.rss', type: U, value: 400000 },
      { field: 'balloon.usable', type: U, value: 300000 },
      { field: 'vcpu.current', type: UI, value: 2 },
      { field: 'vcpu.maximum', type: UI, value: 4 },
      { field: 'vcpu.0.state', type: I, value: 1 },
      { field: 'vcpu.0.time', type: U, value: 111 },
      { field: 'vcpu.1.time', type: U, value: 222 },
      { field: 'net.count', type: UI, value: 1 },
      { field: 'net.0.name', type: S, value: 'vnet0' },
      { field: 'net.0.rx.bytes', type: U, value: 10 },
      { field: 'net.0.rx.pkts', type: U, value: 1 },
      { field: 'net.0.tx.bytes', type: U, value: 20 },
      { field: 'net.0.tx.pkts', type: U, value: 2 },
      { field: 'net.0.rx.drop', type: U, value: 0 },
      { field: 'block.count', type: UI, value: 2 },
      { field: 'block.0.name', type: S, value: 'vda' },
      { field: 'block.0.path', type: S, value: '/img/a.qcow2' },
      { field: 'block.0.rd.bytes', type: U, value: 4096 },
      { field: 'block.0.rd.reqs', type: U, value: 1 },
      { field: 'block.0.wr.bytes', type: U, value: 8192 },
      { field: 'block.0.wr.reqs', type: U, value: 2 },
      { field: 'block.0.capacity', type: U, value: 1 << 30 },
      { field: 'block.1.name', type: S, value: 'hdc' },
      { field: 'perf.cycles', type: U, value: 9 },
    ]);
    const [s] = decodeAllStats(body);
    assert.ok(s);
    assert.equal(s.name, 'g1');
    assert.deepEqual(s.state, { state: 'running', reason: 1 });
    assert.deepEqual(s.cpu, { timeNs: 5e9, userNs: 3e9, systemNs: 1e9 });
    assert.deepEqual(s.balloon, { currentKiB: 524288, maximumKiB: 524288, rssKiB: 400000, usableKiB: 300000 });
    assert.deepEqual(s.vcpu, { current: 2, maximum: 4, timesNs: [111, 222] });
    assert.deepEqual(s.net, [{ name: 'vnet0', rxBytes: 10, rxPkts: 1, txBytes: 20, txPkts: 2, rxDrop: 0 }]);
    assert.equal(s.block?.length, 2);
    assert.deepEqual(s.block?.[0], { name: 'vda', path: '/img/a.qcow2', rdBytes: 4096, rdReqs: 1, wrBytes: 8192, wrReqs: 2, capacity: 1 << 30 });
    assert.equal(s.block?.[1]?.name, 'hdc');
    assert.equal(s.raw['perf.cycles'], 9);
    assert.equal(Object.keys(s.raw).length, 31);
  });

  it('a VM without disks or NICs (block.count 0, net.count 0) has empty lists: the figure is 0, not one the driver lacks', () => {
    const UI = TypedParamType.UINT;
    const [s] = decodeAllStats(statsBody([{ field: 'net.count', type: UI, value: 0 }, { field: 'block.count', type: UI, value: 0 }]));
    assert.deepEqual(s?.net, []);
    assert.deepEqual(s?.block, []);
    const [bare] = decodeAllStats(statsBody([{ field: 'state.state', type: TypedParamType.INT, value: 1 }]));
    assert.equal(bare?.block, undefined, 'no block group at all: absent');
  });

  it('refuses a domain count that cannot fit', () => {
    const w = new XdrWriter();
    w.uint(5000);
    assert.throws(() => decodeAllStats(w.finish()), ProtocolError);
  });
});

describe('events', () => {
  const dom = { name: 'g1', uuid: uuidBytes('00000000-0000-0000-0000-000000000001'), id: 3 };
  it('decodes lifecycle, balloon, device and job-completed messages', () => {
    let w = new XdrWriter();
    w.int(7);
    writeDomain(w, dom);
    w.int(3).int(0);
    const life = decodeEvent(Proc.DOMAIN_EVENT_CALLBACK_LIFECYCLE, w.finish(), 1);
    assert.deepEqual(life, { callbackId: 7, event: { kind: 'lifecycle', domain: { name: 'g1', uuid: '00000000-0000-0000-0000-000000000001', id: 3 }, event: 'suspended', detail: 0, at: 1 } });
    w = new XdrWriter();
    w.int(8);
    writeDomain(w, dom);
    w.uhyper(262144);
    assert.equal(decodeEvent(Proc.DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE, w.finish())?.event.actualKiB, 262144);
    w = new XdrWriter();
    w.int(9);
    writeDomain(w, dom);
    w.string('net1');
    assert.equal(decodeEvent(Proc.DOMAIN_EVENT_CALLBACK_DEVICE_ADDED, w.finish())?.event.device, 'net1');
    w = new XdrWriter();
    w.int(10);
    writeDomain(w, dom);
    writeTypedParams(w, [{ field: 'downtime', type: TypedParamType.ULLONG, value: 57 }]);
    assert.deepEqual(decodeEvent(Proc.DOMAIN_EVENT_CALLBACK_JOB_COMPLETED, w.finish())?.event.stats, { downtime: 57 });
    assert.equal(decodeEvent(9999, Buffer.alloc(0)), null);
    assert.throws(() => decodeEvent(Proc.DOMAIN_EVENT_CALLBACK_REBOOT, Buffer.alloc(6)), ProtocolError);
  });
});

describe('XML fields and migration options', () => {
  it('reads snapshot fields from the head, not the embedded domain', () => {
    const x = `<domainsnapshot><name>s2</name><description>a &amp; b</description><state>running</state><parent><name>s1</name></parent><creationTime>1700000000</creationTime><domain type='qemu'><name>vm</name><description>other</description></domain></domainsnapshot>`;
    assert.deepEqual(parseSnapshotXml(x, 's2'), { name: 's2', current: true, creationTime: 1700000000, state: 'running', parent: 's1', description: 'a & b' });
    assert.deepEqual(parseSnapshotXml('<domainsnapshot><name>s0</name><domain><name>vm</name></domain></domainsnapshot>', 's2'), { name: 's0', current: false });
  });

  it('reads network bridge, address, prefix as netmask and DHCP range', () => {
    assert.deepEqual(parseNetworkXml("<network><name>n</name><bridge name='br9' stp='on'/><ip address='10.1.0.1' prefix='20'><dhcp><range start='10.1.0.2' end='10.1.0.9'/></dhcp></ip></network>"), {
      bridge: 'br9', ipAddress: '10.1.0.1', netmask: '255.255.240.0', dhcpStart: '10.1.0.2', dhcpEnd: '10.1.0.9',
    });
  });

  it('builds peer-to-peer migration flags and parameters', () => {
    assert.equal(migrateFlags({}), 1 | 2);
    assert.equal(migrateFlags({ live: false, persistOnTarget: true, undefineSource: true, copyStorage: true }), 2 | 8 | 16 | 64);
    assert.deepEqual(migrateParams({ migrateUri: 'tcp://127.0.0.3', bandwidthMiBs: 100 }).map((p) => [p.field, p.value]), [['migrate_uri', 'tcp://127.0.0.3'], ['bandwidth', 100]]);
    const js = toJobStats(1, { operation: 5, time_elapsed: 1200, data_total: 100, data_processed: 40, data_remaining: 60, memory_dirty_rate: 3, downtime: 50 });
    assert.equal(js.type, 'bounded');
    assert.equal(js.operation, 'outgoing-migration');
    assert.equal(js.dataProcessed, 40);
    assert.equal(js.downtimeMs, 50);
  });
});

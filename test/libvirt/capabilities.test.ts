// The stats route per driver answer: bulk where it exists, NOWAIT dropped when refused as a
// flag, per-domain GetInfo (issued concurrently) when the bulk call is NO_SUPPORT, a VM that
// vanishes mid-poll left out, and what was learned forgotten on reconnect.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { capabilitiesOf, domainStats } from '../../src/libvirt/capabilities.js';
import { ErrorCode, LibvirtError } from '../../src/libvirt/errors.js';
import type { DomainInfo, DomainStats, Hypervisor } from '../../src/libvirt/hypervisor.js';

function info(name: string, id: number, cpuTimeNs: number): DomainInfo {
  return { name, uuid: `u-${name}`, id, state: id >= 0 ? 'running' : 'shutoff', maxMemKiB: 2048, memKiB: 1024, vcpus: 2, cpuTimeNs, persistent: true, autostart: false };
}

class FakeDriver extends EventEmitter {
  bulk: 'ok' | 'no-support' | 'no-nowait' = 'ok';
  bulkCalls: Array<{ nowait?: boolean }> = [];
  inFlight = 0;
  maxInFlight = 0;
  domains = [info('c1', 3, 5e9), info('c2', 4, 7e9), info('off', -1, 0)];
  vanish = new Set<string>();
  async allDomainStats(o: { nowait?: boolean } = {}): Promise<DomainStats[]> {
    this.bulkCalls.push(o);
    if (this.bulk === 'no-support') throw new LibvirtError('this function is not supported by the connection driver: virConnectGetAllDomainStats', ErrorCode.NO_SUPPORT);
    if (this.bulk === 'no-nowait' && o.nowait) throw new LibvirtError('unsupported flags (0x80000000) in function x', ErrorCode.INVALID_ARG);
    return [{ name: 'bulk', uuid: 'u', raw: {} }];
  }
  async listDomains() {
    return this.domains.map(({ name, uuid, id }) => ({ name, uuid, id }));
  }
  async domainInfo(name: string): Promise<DomainInfo> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 5));
    this.inFlight--;
    if (this.vanish.has(name)) throw new LibvirtError(`Domain not found: no domain with matching name '${name}'`, ErrorCode.NO_DOMAIN);
    const d = this.domains.find((x) => x.name === name);
    if (!d) throw new Error('unknown');
    return d;
  }
}
const asHv = (f: FakeDriver): Hypervisor => f as unknown as Hypervisor;

test('bulk route with NOWAIT where the driver has it', async () => {
  const f = new FakeDriver();
  const s = await domainStats(asHv(f));
  assert.deepEqual(s.map((x) => x.name), ['bulk']);
  assert.deepEqual(f.bulkCalls, [{ nowait: true }]);
  assert.equal(capabilitiesOf(asHv(f)).statsRoute, 'bulk');
});

test('NOWAIT refused as a flag: bulk without it, learned once', async () => {
  const f = new FakeDriver();
  f.bulk = 'no-nowait';
  await domainStats(asHv(f));
  await domainStats(asHv(f));
  assert.deepEqual(f.bulkCalls, [{ nowait: true }, {}, {}]);
  assert.equal(capabilitiesOf(asHv(f)).bulkNowait, false);
});

test('bulk NO_SUPPORT: per-domain GetInfo issued concurrently, absent figures stay absent', async () => {
  const f = new FakeDriver();
  f.bulk = 'no-support';
  const s = await domainStats(asHv(f));
  assert.equal(f.maxInFlight, 3, 'every GetInfo in flight at once');
  assert.deepEqual(s.map((x) => x.name), ['c1', 'c2', 'off']);
  const c1 = s[0] as DomainStats;
  assert.equal(c1.cpu?.timeNs, 5e9);
  assert.equal(c1.balloon?.currentKiB, 1024);
  assert.equal(c1.block, undefined);
  assert.equal(c1.net, undefined);
  assert.equal(s[2]?.cpu, undefined, 'a stopped VM has no CPU figure');
  const caps = capabilitiesOf(asHv(f));
  assert.equal(caps.bulkStats, false);
  assert.equal(caps.statsRoute, 'per-domain');
  assert.match(caps.unsupported['bulk-stats'] ?? '', /not supported/);
  await domainStats(asHv(f));
  assert.equal(f.bulkCalls.length, 1, 'the refused bulk call is not retried every poll');
});

test('a VM vanishing mid-poll is left out; the others still come', async () => {
  const f = new FakeDriver();
  f.bulk = 'no-support';
  f.vanish.add('c2');
  const s = await domainStats(asHv(f));
  assert.deepEqual(s.map((x) => x.name), ['c1', 'off']);
});

test('a driver that refuses every stats call: a clear error, not an empty list', async () => {
  const f = new FakeDriver();
  f.bulk = 'no-support';
  f.domainInfo = async () => {
    throw new LibvirtError('this function is not supported by the connection driver: virDomainGetInfo', ErrorCode.NO_SUPPORT);
  };
  await assert.rejects(domainStats(asHv(f)), /virDomainGetInfo/);
});

test('reconnect forgets what was learned (the daemon may have changed)', async () => {
  const f = new FakeDriver();
  f.bulk = 'no-support';
  await domainStats(asHv(f));
  f.bulk = 'ok';
  f.emit('reconnect');
  const s = await domainStats(asHv(f));
  assert.deepEqual(s.map((x) => x.name), ['bulk']);
});

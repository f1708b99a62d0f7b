// The capability probe: what a driver lacks is known before anyone tries it (so the dashboard can
// grey the action), from libvirt's own answers: virConnectSupportsFeature for migration, NO_SUPPORT
// from one VM's snapshot list. Asked once per connection, again after a reconnect, and the record
// is the same seen through the agent's timing Proxy as by the client's own guarded calls.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { capabilitiesOf, domainStats, guardFeature, type DriverFeatureName } from '../../src/libvirt/capabilities.js';
import { ErrorCode, LibvirtError } from '../../src/libvirt/errors.js';
import type { DomainStats, Hypervisor } from '../../src/libvirt/hypervisor.js';

class ProbeDriver extends EventEmitter {
  features: Record<DriverFeatureName, boolean> = { 'migration-p2p': true, 'migration-offline': true };
  asked: DriverFeatureName[] = [];
  snapshotCalls = 0;
  snapshotError: LibvirtError | undefined;
  async driverSupports(f: DriverFeatureName): Promise<boolean> {
    this.asked.push(f);
    return this.features[f];
  }
  async allDomainStats(): Promise<DomainStats[]> {
    return [{ name: 'c1', uuid: 'u1', raw: {} }];
  }
  async snapshotList(): Promise<[]> {
    this.snapshotCalls++;
    if (this.snapshotError) throw this.snapshotError;
    return [];
  }
  async hostInfo(): Promise<{ hostname: string; driver: string }> {
    return { hostname: 'n2', driver: 'LXC' };
  }
}
const asHv = (f: ProbeDriver): Hypervisor => f as unknown as Hypervisor;
const noSnapshots = new LibvirtError('this function is not supported by the connection driver: virDomainListAllSnapshots', ErrorCode.NO_SUPPORT);

test('no peer-to-peer migration: both kinds recorded as unsupported before any migration is tried', async () => {
  const f = new ProbeDriver();
  f.features['migration-p2p'] = false;
  f.features['migration-offline'] = false;
  await domainStats(asHv(f));
  const u = capabilitiesOf(asHv(f)).unsupported;
  assert.match(u['migration'] ?? '', /no peer-to-peer migration \(virConnectSupportsFeature\)/);
  assert.equal(u['offline-migration'], u['migration']);
});

test('peer to peer but no offline migration: only offline is unsupported', async () => {
  const f = new ProbeDriver();
  f.features['migration-offline'] = false;
  await domainStats(asHv(f));
  const u = capabilitiesOf(asHv(f)).unsupported;
  assert.equal(u['migration'], undefined);
  assert.match(u['offline-migration'] ?? '', /no offline migration/);
});

test('a driver with everything records nothing, and is asked once, not every poll', async () => {
  const f = new ProbeDriver();
  await domainStats(asHv(f));
  await domainStats(asHv(f));
  await domainStats(asHv(f));
  assert.deepEqual(capabilitiesOf(asHv(f)).unsupported, {});
  assert.deepEqual(f.asked.sort(), ['migration-offline', 'migration-p2p']);
  assert.equal(f.snapshotCalls, 1);
});

test("snapshots: one VM's NO_SUPPORT is recorded; any other error is not taken for a missing feature", async () => {
  const f = new ProbeDriver();
  f.snapshotError = noSnapshots;
  await domainStats(asHv(f));
  assert.match(capabilitiesOf(asHv(f)).unsupported['snapshots'] ?? '', /virDomainListAllSnapshots/);
  const g = new ProbeDriver();
  g.snapshotError = new LibvirtError("Domain not found: no domain with matching name 'c1'", ErrorCode.NO_DOMAIN);
  await domainStats(asHv(g));
  assert.equal(capabilitiesOf(asHv(g)).unsupported['snapshots'], undefined);
});

test('a driver that cannot be asked (no driverSupports) records nothing and stats still come', async () => {
  const f = new ProbeDriver();
  Object.defineProperty(f, 'driverSupports', { value: undefined }); // shadows the method: as the simulator's QEMU kind
  const s = await domainStats(asHv(f));
  assert.deepEqual(s.map((x) => x.name), ['c1']);
  assert.equal(capabilitiesOf(asHv(f)).unsupported['migration'], undefined);
});

test("through a Proxy (the agent's timed link): a refusal the client records is in the record node.info reads", async () => {
  const f = new ProbeDriver();
  const target = asHv(f);
  const proxy = new Proxy(target, {
    get: (t, p, r) => {
      const v = Reflect.get(t, p, r) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  // The client guards its own call with `this`, the target; node.info reads through the Proxy.
  await assert.rejects(guardFeature(target, 'console', async () => { throw new LibvirtError('this function is not supported by the connection driver: virDomainOpenConsole', ErrorCode.NO_SUPPORT); }));
  assert.match(capabilitiesOf(proxy).unsupported['console'] ?? '', /virDomainOpenConsole/);
});

test('reconnect: asked again (the daemon behind the URI may be another)', async () => {
  const f = new ProbeDriver();
  f.features['migration-p2p'] = false;
  await domainStats(asHv(f));
  assert.ok(capabilitiesOf(asHv(f)).unsupported['migration']);
  f.features['migration-p2p'] = true;
  f.emit('reconnect');
  await domainStats(asHv(f));
  assert.equal(capabilitiesOf(asHv(f)).unsupported['migration'], undefined);
  assert.equal(f.asked.filter((x) => x === 'migration-p2p').length, 2);
});

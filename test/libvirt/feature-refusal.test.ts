// A feature the driver lacks (libvirt's NO_SUPPORT) is refused with the driver and node named,
// recorded for node.info, and any other error passes through unchanged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capabilitiesOf, featureLabels, guardFeature, type Feature } from '../../src/libvirt/capabilities.js';
import { ErrorCode, LibvirtError } from '../../src/libvirt/errors.js';
import type { Hypervisor } from '../../src/libvirt/hypervisor.js';

const lxcNode = (hostInfoFails = false): Hypervisor => ({
  hostInfo: async () => {
    if (hostInfoFails) throw new Error('link down');
    return { hostname: 'n2', driver: 'LXC' };
  },
}) as unknown as Hypervisor;
const noSupport = (fn: string) => async (): Promise<never> => {
  throw new LibvirtError(`this function is not supported by the connection driver: ${fn}`, ErrorCode.NO_SUPPORT);
};

const expected: Record<Feature, RegExp> = {
  migration: /^live migration is not supported by the LXC driver on n2 \(/,
  'offline-migration': /^migration is not supported by the LXC driver on n2 \(/,
  snapshots: /^snapshots are not supported by the LXC driver on n2 \(/,
  balloon: /^memory ballooning is not supported by the LXC driver on n2 \(/,
  'max-memory': /^changing the maximum memory is not supported by the LXC driver on n2 \(/,
  vcpus: /^changing vCPUs is not supported by the LXC driver on n2 \(/,
  scheduler: /^scheduler parameters are not supported by the LXC driver on n2 \(/,
  console: /^the console is not supported by the LXC driver on n2 \(/,
  reset: /^a hard reset is not supported by the LXC driver on n2 \(/,
  'volume-data': /^reading or writing a volume's data is not supported by the LXC driver on n2 \(/,
  'guest-agent': /^guest-agent commands are not supported by the LXC driver on n2 \(/,
  'dhcp-leases': /^DHCP lease lists are not supported by the LXC driver on n2 \(/,
  pools: /^defining and starting storage pools is not supported by the LXC driver on n2 \(/,
  'pool-build': /^building a storage pool is not supported by the LXC driver on n2 \(/,
  'job-abort': /^cancelling a job is not supported by the LXC driver on n2 \(/,
};

for (const f of Object.keys(featureLabels) as Feature[]) {
  test(`${f}: NO_SUPPORT refused naming the driver and node, recorded`, async () => {
    const hv = lxcNode();
    await assert.rejects(guardFeature(hv, f, noSupport('virX')), (e: unknown) => {
      assert.ok(e instanceof LibvirtError);
      assert.match(e.message, expected[f]);
      assert.match(e.message, /virX\)$/, "libvirt's own words kept");
      assert.equal(e.code, ErrorCode.NO_SUPPORT);
      return true;
    });
    assert.match(capabilitiesOf(hv).unsupported[f] ?? '', /not supported by the connection driver/);
  });
}

test('an unsupported flag (OPERATION_UNSUPPORTED) is a refusal too', async () => {
  const hv = lxcNode();
  const op = async (): Promise<never> => { throw new LibvirtError('Operation not supported: live snapshot', ErrorCode.OPERATION_UNSUPPORTED); };
  await assert.rejects(guardFeature(hv, 'snapshots', op), /snapshots are not supported by the LXC driver on n2/);
});

test('any other error passes through unchanged and records nothing', async () => {
  const hv = lxcNode();
  const orig = new LibvirtError("Domain not found: no domain with matching name 'x'", ErrorCode.NO_DOMAIN);
  await assert.rejects(guardFeature(hv, 'scheduler', async () => { throw orig; }), (e: unknown) => e === orig);
  assert.deepEqual(capabilitiesOf(hv).unsupported, {});
});

test('hostInfo failing too: the refusal still stands', async () => {
  await assert.rejects(guardFeature(lxcNode(true), 'console', noSupport('virDomainOpenConsole')),
    /the console is not supported by the connection driver on this node \(/);
});

test('success returns the value', async () => {
  assert.equal(await guardFeature(lxcNode(), 'scheduler', async () => 42), 42);
});

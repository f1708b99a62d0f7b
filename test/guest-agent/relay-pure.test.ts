/** Pure parts of the relay: finding the channel in domain XML, mapping qemu-guest-agent answers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findChannel, hasQemuAgentChannel } from '../../src/agent/guest/domain-xml.js';
import { mapFilesystems, mapInterfaces, mapOsInfo, mapUsers, qgaReturn } from '../../src/agent/guest/qga.js';

// As libvirt 9 prints a running QEMU domain with both channels (paths filled in by libvirt).
const LIVE = `<domain type='qemu' id='3'>
  <name>g1</name>
  <devices>
    <channel type='unix'>
      <source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-3-g1/org.qemu.guest_agent.0'/>
      <target type='virtio' name='org.qemu.guest_agent.0' state='disconnected'/>
      <alias name='channel0'/>
      <address type='virtio-serial' controller='0' bus='0' port='1'/>
    </channel>
    <channel type="unix">
      <source mode="bind" path="/var/lib/libvirt/qemu/channel/target/domain-3-g1/org.vemanager.guest.0"/>
      <target type="virtio" name="org.vemanager.guest.0" state="connected"/>
    </channel>
    <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>
  </devices>
</domain>`;

test('findChannel picks the named virtio channel and its socket path', () => {
  assert.deepEqual(findChannel(LIVE, 'org.vemanager.guest.0'), { path: '/var/lib/libvirt/qemu/channel/target/domain-3-g1/org.vemanager.guest.0', state: 'connected' });
  assert.equal(findChannel(LIVE, 'org.qemu.guest_agent.0')?.state, 'disconnected');
  assert.equal(findChannel(LIVE, 'com.redhat.spice.0'), null, 'not a unix channel');
  assert.equal(findChannel(LIVE, 'other.name'), null);
  // Inactive XML: libvirt has not filled the path in yet.
  assert.equal(findChannel("<channel type='unix'><source mode='bind'/><target type='virtio' name='org.vemanager.guest.0'/></channel>", 'org.vemanager.guest.0'), null);
  assert.equal(findChannel("<channel type='unix'><source mode='bind' path='/a&amp;b'/><target type='virtio' name='x'/></channel>", 'x')?.path, '/a&b');
  assert.ok(hasQemuAgentChannel(LIVE));
  assert.ok(!hasQemuAgentChannel('<domain/>'));
});

test('qemu-guest-agent answers (qapi/qga schema shapes) map to the guest agent shapes', () => {
  assert.throws(() => qgaReturn('{"error":{"class":"GenericError","desc":"Guest agent is not responding"}}'), /Guest agent is not responding/);
  assert.throws(() => qgaReturn('not json'), /not JSON/);
  const os = qgaReturn('{"return":{"name":"Debian GNU/Linux","kernel-release":"6.1.0-56-cloud-amd64","version-id":"12","pretty-name":"Debian GNU/Linux 12 (bookworm)","version":"12 (bookworm)","machine":"x86_64","id":"debian","kernel-version":"#1 SMP"}}');
  assert.deepEqual(mapOsInfo(os, { 'host-name': 'web1' }), {
    hostname: 'web1', os: { id: 'debian', name: 'Debian GNU/Linux', version: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' }, kernel: '6.1.0-56-cloud-amd64', machine: 'x86_64',
  });
  assert.deepEqual(mapUsers([{ user: 'root', 'login-time': 1764082800.5 }]), [{ user: 'root', domain: '', loginTime: new Date(1764082800500) }]);
  assert.deepEqual(
    mapInterfaces([{ name: 'eth0', 'hardware-address': '52:54:00:12:34:56', 'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': '10.0.0.5', prefix: 24 }, { 'ip-address-type': 'ipv6', 'ip-address': 'fe80::1', prefix: 64 }], statistics: { 'rx-bytes': 100, 'tx-bytes': 50 } }]),
    [{ name: 'eth0', mac: '52:54:00:12:34:56', rxBytes: 100, txBytes: 50, addresses: [{ family: 'IPv4', address: '10.0.0.5', cidr: '10.0.0.5/24' }, { family: 'IPv6', address: 'fe80::1', cidr: 'fe80::1/64' }] }],
  );
  assert.deepEqual(mapFilesystems([{ name: 'vda1', mountpoint: '/', type: 'ext4', 'used-bytes': 300, 'total-bytes': 1000, disk: [] }]), [
    { device: 'vda1', mountPoint: '/', fsType: 'ext4', totalBytes: 1000, usedBytes: 300, availableBytes: 700 },
  ]);
});

test('passwords are redacted from guest.* arguments for audit logs', async () => {
  const { redactGuestArgs } = await import('../../src/agent/guest/index.js');
  assert.deepEqual(redactGuestArgs('guest.userSetPassword', ['g1', 'alice', 's3cret']), ['g1', 'alice', '[redacted]']);
  assert.deepEqual(redactGuestArgs('guest.userAdd', ['g1', 'alice', { password: 's3cret', shell: '/bin/sh' }]), ['g1', 'alice', { password: '[redacted]', shell: '/bin/sh' }]);
  assert.deepEqual(redactGuestArgs('guest.signal', ['g1', 5, 'SIGTERM']), ['g1', 5, 'SIGTERM']);
});

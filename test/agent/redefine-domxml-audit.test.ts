import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRedefineXml } from '../../src/agent/methods/vm.js';
import { summarizeDomainXml } from '../../src/agent/domxml.js';
import { auditLine } from '../../src/agent/audit.js';
import { XmlRpcFault } from '../../src/common/xmlrpc/index.js';

test('redefinition must keep the name and uuid', () => {
  checkRedefineXml('web', 'AB-1', '<domain><name>web</name><uuid>ab-1</uuid></domain>');
  checkRedefineXml('web', 'AB-1', '<domain><name> web </name></domain>');
  assert.throws(() => checkRedefineXml('web', 'AB-1', '<domain><name>db</name></domain>'), (e: unknown) => e instanceof XmlRpcFault && /renaming/.test(e.message));
  assert.throws(() => checkRedefineXml('web', 'AB-1', '<domain><name>web</name><uuid>cd-2</uuid></domain>'), /uuid/);
  assert.throws(() => checkRedefineXml('web', 'AB-1', '<domain/>'), /no <name>/);
});

test('domain XML summary: disks, interfaces, graphics, consoles, channels', () => {
  const s = summarizeDomainXml(`<domain type='qemu'><name>g</name><os><type arch='x86_64'>hvm</type></os><devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/i/g&amp;1.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/><target dev='vnet0'/><model type='virtio'/></interface>
    <graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'/>
    <serial type='pty'><source path='/dev/pts/3'/><target type='isa-serial'/></serial>
    <channel type='unix'><source mode='bind' path='/run/ch.sock'/><target type='virtio' name='org.vemanager.guest.0' state='connected'/></channel>
  </devices></domain>`);
  assert.equal(s.type, 'qemu');
  assert.equal(s.arch, 'x86_64');
  assert.deepEqual(s.disks, [{ device: 'disk', type: 'file', target: 'vda', bus: 'virtio', source: '/i/g&1.qcow2', format: 'qcow2' }]);
  assert.deepEqual(s.interfaces, [{ type: 'network', mac: '52:54:00:00:00:01', source: 'default', target: 'vnet0', model: 'virtio' }]);
  assert.deepEqual(s.graphics, [{ type: 'vnc', port: 5901, autoport: 'yes', listen: '127.0.0.1' }]);
  assert.deepEqual(s.consoles, [{ type: 'pty', tty: '/dev/pts/3', target: 'isa-serial' }]);
  assert.deepEqual(s.channels, [{ type: 'unix', name: 'org.vemanager.guest.0', path: '/run/ch.sock', state: 'connected' }]);
});

test('audit lines are one JSON object per call with time, caller, method, args, result', () => {
  const line = auditLine({ caller: 'unix:/run/vem/agent.sock', method: 'vm.setMemory', args: ['web', 1048576, { live: true }], ok: true, result: true }, new Date(0));
  assert.ok(line.endsWith('\n'));
  assert.deepEqual(JSON.parse(line), { time: '1970-01-01T00:00:00.000Z', caller: 'unix:/run/vem/agent.sock', method: 'vm.setMemory', args: ['web', 1048576, { live: true }], result: true });
  const f = JSON.parse(auditLine({ caller: 'c', method: 'vm.start', args: ['x'], ok: false, fault: { code: 42, message: 'no domain' } }));
  assert.deepEqual(f.result, { fault: { code: 42, message: 'no domain' } });
  const big = JSON.parse(auditLine({ caller: 'c', method: 'vm.define', args: ['x'.repeat(100_000)], ok: true, result: null }));
  assert.ok((big.args[0] as string).length < 70_000);
});

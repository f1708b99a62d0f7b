import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGraphics } from '../../src/link/vnc.js';
import { splitCallArgs } from '../../src/cli/call.js';
import { parseCliArgs } from '../../src/common/xmlrpc/cli.js';

const dom = (devices: string): string => `<domain type='qemu'><name>g</name><devices>${devices}</devices></domain>`;

test('displays from live domain XML: VNC first, listen forms, sockets, unstarted ports left out', () => {
  assert.deepEqual(parseGraphics(dom(`<graphics type='spice' port='5901' autoport='yes' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics><graphics type='vnc' port='5900' autoport='yes' listen='127.77.1.3'><listen type='address' address='127.77.1.3'/></graphics>`)), [
    { protocol: 'vnc', kind: 'tcp', host: '127.77.1.3', port: 5900 },
    { protocol: 'spice', kind: 'tcp', host: '127.0.0.1', port: 5901 },
  ]);
  // Bound to every address (or no listen given): reached on the node's loopback.
  assert.deepEqual(parseGraphics(dom(`<graphics type='vnc' port='5907'><listen type='address' address='0.0.0.0'/></graphics>`)), [{ protocol: 'vnc', kind: 'tcp', host: '127.0.0.1', port: 5907 }]);
  assert.deepEqual(parseGraphics(dom(`<graphics type='vnc' port='5908'/>`)), [{ protocol: 'vnc', kind: 'tcp', host: '127.0.0.1', port: 5908 }]);
  assert.deepEqual(parseGraphics(dom(`<graphics type='vnc' socket='/var/lib/libvirt/qemu/g.vnc'><listen type='socket' socket='/var/lib/libvirt/qemu/g.vnc'/></graphics>`)), [{ protocol: 'vnc', kind: 'unix', path: '/var/lib/libvirt/qemu/g.vnc' }]);
  assert.deepEqual(parseGraphics(dom(`<graphics type='spice' tlsPort='5910' autoport='yes'/>`)), [{ protocol: 'spice', kind: 'tcp', host: '127.0.0.1', port: 5910 }]);
  assert.deepEqual(parseGraphics(dom(`<graphics type='vnc' port='-1' autoport='yes'/>`)), []);
  assert.deepEqual(parseGraphics(dom(`<graphics type='sdl'/><serial type='pty'/>`)), []);
  assert.deepEqual(parseGraphics(`<domain><name>x</name></domain>`), []);
});

test('vem call: options in any position (as --help shows them); after a lone -- every word is an argument', () => {
  assert.deepEqual(splitCallArgs(['--cluster', 'c.yaml', 'n1', 'vm.setVcpus', 'g', '-2']), { opts: ['--cluster', 'c.yaml'], rest: ['n1', 'vm.setVcpus', 'g', '-2'] });
  assert.deepEqual(splitCallArgs(['n1', '--cluster', 'c.yaml', 'node.info', '--raw']), { opts: ['--cluster', 'c.yaml', '--raw'], rest: ['n1', 'node.info'] });
  assert.deepEqual(splitCallArgs(['n1', 'vm.x', '--', '--agent']), { opts: [], rest: ['n1', 'vm.x', '--agent'] });
  assert.deepEqual(splitCallArgs(['--agent=http://127.0.0.1:1', 'system.listMethods']), { opts: ['--agent=http://127.0.0.1:1'], rest: ['system.listMethods'] });
  assert.deepEqual(splitCallArgs(['--', '--odd-node', 'm']), { opts: [], rest: ['--odd-node', 'm'] });
  assert.deepEqual(parseCliArgs(['42', '-2.5', 'true', '{"a":[1]}', 'plain', 's:42']), [42, -2.5, true, { a: [1] }, 'plain', '42']);
});

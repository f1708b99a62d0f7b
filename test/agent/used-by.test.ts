// Who uses a volume or a network (the agent's usedBy, which the storage and network
// views show instead of reading every VM's XML themselves).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeDomainXml } from '../../src/agent/domxml.js';
import { networkUsers, volumeUsers } from '../../src/agent/used-by.js';
import { DOMAIN } from '../fixtures/domain-xml.js';

const defs = new Map([
  ['web-01', { summary: summarizeDomainXml(DOMAIN) }],
  ['db-01', { summary: summarizeDomainXml(DOMAIN.replace(/web-01/g, 'db-01').replace("volume='data-1'", "volume='data-2'")) }],
  ['new-01', {}], // not parsed yet: uses nothing rather than failing
]);

test('volume in use: matched by path and by pool+volume name, not by name alone in another pool', () => {
  assert.deepEqual(volumeUsers(defs, 'default', { name: 'web-01.qcow2', path: '/var/lib/libvirt/images/web-01.qcow2' }), ['web-01']);
  assert.deepEqual(volumeUsers(defs, 'default', { name: 'db-01.qcow2', path: '/var/lib/libvirt/images/db-01.qcow2' }), ['db-01']);
  assert.deepEqual(volumeUsers(defs, 'default', { name: 'spare.qcow2', path: '/var/lib/libvirt/images/spare.qcow2' }), []);
  assert.deepEqual(volumeUsers(defs, 'fast', { name: 'data-1', path: '/dev/fast/data-1' }), ['web-01']);
  assert.deepEqual(volumeUsers(defs, 'fast', { name: 'data-2', path: '' }), ['db-01']);
  assert.deepEqual(volumeUsers(defs, 'other', { name: 'data-1', path: '' }), []);
});

test("network in use: by the network's name, or a bridge NIC on the network's bridge", () => {
  assert.deepEqual(networkUsers(defs, 'default', 'virbr0'), ['db-01', 'web-01']);
  assert.deepEqual(networkUsers(defs, 'lan', 'br-lan'), ['db-01', 'web-01']);
  assert.deepEqual(networkUsers(defs, 'isolated', 'virbr9'), []);
  assert.deepEqual(networkUsers(defs, 'isolated', ''), [], 'an empty bridge matches nothing');
});

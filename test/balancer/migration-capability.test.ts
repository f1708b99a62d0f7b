// What the balancer reads from node.info about migration: the capability layer's record
// of a refused migration (an LXC node) rules out every move off or onto that node.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrationCapability } from '../../src/balancer/agent-source.js';

test('a node whose libvirt refused a migration can neither live- nor offline-migrate; nothing known is undefined', () => {
  assert.deepEqual(migrationCapability({ capabilities: { bulkStats: false, unsupported: { migration: 'this function is not supported by the connection driver: virDomainMigratePerform3Params' } } }), { live: false, offline: false });
  assert.equal(migrationCapability({ capabilities: { bulkStats: true, unsupported: {} } }), undefined);
  assert.equal(migrationCapability({}), undefined);
  assert.deepEqual(migrationCapability({ capabilities: { migrateLive: false, migrateOffline: true } }), { live: false, offline: true });
});

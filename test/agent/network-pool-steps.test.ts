// network.create / network.delete and the pool steps on the simulated agent: what the test
// driver cannot show (a network that defines but cannot start), the audit records, and the
// simulator's lease list against the guest's own addresses. Real libvirt: e2e-testdriver.lab.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSimCluster } from '../../src/libvirt/sim/index.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient, XmlRpcFault } from '../../src/common/xmlrpc/index.js';

const NET = (name: string, ip: string, bridge: string): string =>
  `<network><name>${name}</name><bridge name='${bridge}'/><ip address='${ip}' netmask='255.255.255.0'><dhcp><range start='${ip.replace(/\.1$/, '.10')}' end='${ip.replace(/\.1$/, '.99')}'/></dhcp></ip></network>`;

test('network.create undoes its definition when the network cannot start; delete stops and undefines; both audited', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-netsteps-'));
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 4, seed: 21 });
  const hv = sim.hypervisors[0] as NonNullable<(typeof sim.hypervisors)[0]>;
  const audit = join(dir, 'audit.jsonl');
  const a = await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', pollMs: 200, auditLog: audit });
  const c = new XmlRpcClient({ url: a.url });
  t.after(async () => {
    c.close();
    await a.close();
    sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const names = async (): Promise<string[]> => ((await c.call('network.list')) as Array<{ name: string }>).map((n) => n.name);

  // The default network holds 192.168.122.0/24: a second one on that subnet defines but cannot start.
  await assert.rejects(c.call('network.create', NET('clash', '192.168.122.1', 'virbr50')), (e: unknown) => e instanceof XmlRpcFault && /already in use by interface virbr0/.test(e.message));
  assert.ok(!(await names()).includes('clash'), 'nothing is left half made');

  assert.equal(await c.call('network.create', NET('lab', '10.50.0.1', 'virbr51')), 'lab');
  const lab = ((await c.call('network.list')) as Array<{ name: string; active: boolean; persistent: boolean }>).find((n) => n.name === 'lab');
  assert.deepEqual([lab?.active, lab?.persistent], [true, true]);
  await assert.rejects(c.call('network.create', NET('lab', '10.51.0.1', 'virbr52')), (e: unknown) => e instanceof XmlRpcFault && e.code === 1004 && /exists already/.test(e.message));
  assert.match((await c.call('network.xml', 'lab')) as string, /10\.50\.0\.1/, 'the refused create changed nothing');

  assert.equal(await c.call('network.delete', 'lab'), true);
  assert.ok(!(await names()).includes('lab'));
  await assert.rejects(c.call('network.delete', 'lab'), (e: unknown) => e instanceof XmlRpcFault && e.code === 43);

  const lines = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { method: string; result?: unknown; intent?: unknown }).filter((l) => !('intent' in l));
  const of = (m: string): unknown[] => lines.filter((l) => l.method === m).map((l) => l.result);
  assert.equal(of('network.create').length, 3, 'each create, refused or not, is audited');
  assert.ok(of('network.create').includes('lab'));
  assert.deepEqual(of('network.delete').filter((r) => r === true).length, 1);
});

test('dhcpLeases lists the running VMs of the network at the addresses their guests report', async (t) => {
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 6, seed: 4 });
  const hv = sim.hypervisors[0] as NonNullable<(typeof sim.hypervisors)[0]>;
  t.after(() => sim.close());
  const leases = await hv.networkDhcpLeases('default');
  assert.ok(leases.length > 0);
  for (const l of leases) {
    assert.ok(l.hostname, 'the guest sent its name');
    const addrs = hv.guest(l.hostname).interfaces().flatMap((i) => i.addresses.map((x) => x.address));
    assert.ok(addrs.includes(l.ipAddress), `${l.hostname}: lease ${l.ipAddress} is an address the guest has (${addrs.join(' ')})`);
    assert.equal(l.iface, 'virbr0');
    assert.ok(l.expiryTime * 1000 > Date.now() - 60_000);
  }
  const running = (await hv.listDomains({ active: true })).length;
  assert.ok(leases.length <= running * 2);
  await hv.networkStop('backend');
  assert.deepEqual(await hv.networkDhcpLeases('backend'), [], 'a stopped network hands out nothing');
});

test('a defined directory pool starts only once built; a second pool on the same path is refused', async (t) => {
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 1, seed: 2 });
  const hv = sim.hypervisors[0] as NonNullable<(typeof sim.hypervisors)[0]>;
  t.after(() => sim.close());
  const xml = "<pool type='dir'><name>scratch</name><target><path>/srv/scratch</path></target></pool>";
  assert.equal(await hv.poolDefine(xml), 'scratch');
  assert.equal((await hv.listPools()).find((p) => p.name === 'scratch')?.state, 'inactive');
  await assert.rejects(hv.poolStart('scratch'), /cannot open directory '\/srv\/scratch'/);
  await hv.poolBuild('scratch');
  await hv.poolStart('scratch');
  const p = (await hv.listPools()).find((x) => x.name === 'scratch');
  assert.equal(p?.state, 'running');
  assert.ok((p?.capacity ?? 0) > 0);
  await assert.rejects(hv.poolDefine("<pool type='dir'><name>other</name><target><path>/srv/scratch</path></target></pool>"), /Storage source conflict with pool: 'scratch'/);
  await assert.rejects(hv.poolDefine("<pool type='iscsi'><name>x</name><target><path>/dev/x</path></target></pool>"), /unknown storage pool type iscsi/);
  await assert.rejects(hv.poolBuild('scratch'), /already active/);
});

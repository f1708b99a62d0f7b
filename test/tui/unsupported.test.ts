// What a node's driver lacks reaches the dashboard (node.info's capabilities through the store's
// decode) and the VM actions refuse it with the reason, naming the driver and node, instead of
// sending the call; the same actions on a node that has them still go.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeNodeInfo } from '../../src/tui/store/decode.js';
import { newNode, newVm, type NodeRecord, type VmRecord } from '../../src/tui/store/model.js';
import { featureFor, unavailableLines, unsupportedReason } from '../../src/tui/views/unsupported.js';
import { VM_ACTIONS, type VmContext } from '../../src/tui/views/vm-actions.js';
import type { NodeInfo } from '../../src/api/index.js';

const P2P = 'the driver reports no peer-to-peer migration (virConnectSupportsFeature)';

function info(driver: string, unsupported: Record<string, string>): NodeInfo {
  return {
    libvirt: { up: true, since: 0, attempts: 0 },
    agent: { version: '0', startedAt: 0, pollMs: 1000, historySeconds: 60, readOnly: false, collections: 1, dropped: 0, errors: 0, lastCollectMs: 1, vms: 1, historyBytes: 0 },
    capacity: { vmsTotal: 1, vmsRunning: 1, vcpusAllocated: 1, memAllocatedKiB: 0 },
    hostname: 'h', driver,
    capabilities: { bulkStats: false, statsRoute: 'per-domain', unsupported },
  };
}

function node(name: string, driver: string, unsupported: Record<string, string>): NodeRecord {
  const n = newNode(name, 'up');
  n.host = decodeNodeInfo(info(driver, unsupported));
  return n;
}

function vm(nodeName: string, name: string, state = 'running'): VmRecord {
  const v = newVm(nodeName, name);
  v.state = state;
  return v;
}

test("decode: node.info's capabilities land on the node's host record", () => {
  const h = decodeNodeInfo(info('LXC', { migration: P2P }));
  assert.deepEqual(h.capabilities, { unsupported: { migration: P2P }, statsRoute: 'per-domain' });
  const old = info('QEMU', {});
  delete old.capabilities;
  assert.equal(decodeNodeInfo(old).capabilities, undefined, 'an agent that reports none: nothing assumed');
});

test('the reason names the action, driver, node and libvirt\'s words; live vs offline by state', () => {
  const n2 = node('n2', 'LXC', { migration: P2P, 'offline-migration': P2P, snapshots: 'this function is not supported by the connection driver: virDomainListAllSnapshots' });
  assert.equal(unsupportedReason('migrate', vm('n2', 'c1'), n2), `migrate: not supported by the LXC driver on n2 (${P2P})`);
  assert.match(unsupportedReason('snapshots', vm('n2', 'c1'), n2) ?? '', /^snapshots: not supported by the LXC driver on n2 \(.*virDomainListAllSnapshots\)$/);
  assert.equal(unsupportedReason('console', vm('n2', 'c1'), n2), undefined);
  assert.equal(featureFor('migrate', vm('n2', 'c1', 'shutoff')), 'offline-migration');
  const onlyLive = node('n3', 'QEMU', { migration: 'x' });
  assert.equal(unsupportedReason('migrate', vm('n3', 'off', 'shutoff'), onlyLive), undefined, 'offline still possible');
  assert.equal(unsupportedReason('migrate', vm('n9', 'x'), undefined), undefined, 'an unknown node: not refused here');
});

test('the help lines for the selected VM list what its driver lacks, nothing for a capable node', () => {
  const n2 = node('n2', 'LXC', { migration: P2P, snapshots: 'no' });
  const lines = unavailableLines(vm('n2', 'c1'), n2);
  assert.equal(lines[0], 'Not available for c1 on n2 (LXC driver)');
  assert.deepEqual(lines.slice(1).map((l) => l.trim().split(':')[0]), ['migrate', 'snapshots']);
  assert.deepEqual(unavailableLines(vm('n1', 'g1'), node('n1', 'QEMU', {})), []);
});

/** A VmContext over two nodes that records what the bindings do. */
function context(selected: VmRecord, marked: VmRecord[] = [selected]) {
  const nodes = new Map([
    ['n1', node('n1', 'QEMU', {})],
    ['n2', node('n2', 'LXC', { migration: P2P, 'offline-migration': P2P, snapshots: 'no snapshots', reset: 'no reset' })],
  ]);
  const said: Array<{ text: string; err: boolean }> = [];
  const pushed: string[] = [];
  const ops: Array<{ op: string; vms: string[] }> = [];
  const confirms: string[][] = [];
  const host = {
    store: { nodes, vms: new Map([[selected.key, selected]]) },
    cmd: { migrations: new Map(), vmOp: async (op: string, vms: VmRecord[]) => void ops.push({ op, vms: vms.map((v) => v.name) }) },
    say: (text: string, err = false) => void said.push({ text, err }),
    push: (p: { id?: string; constructor: { name: string } }) => void pushed.push(p.constructor.name),
    confirm: (lines: string[], yes: () => void) => {
      confirms.push(lines);
      yes();
    },
    openConsole: () => void pushed.push('console'),
  };
  const c = { host, vm: () => selected, vms: () => marked } as unknown as VmContext;
  const press = (key: string, arg = ''): void => {
    const b = VM_ACTIONS.find((x) => x.keys.includes(key) || x.command === key);
    assert.ok(b, key);
    b.run(c, arg);
  };
  return { press, said, pushed, ops, confirms };
}

test('migrate on a container: refused on the status line with the reason, no dialog, nothing sent', () => {
  const k = context(vm('n2', 'c1'));
  k.press('m');
  assert.deepEqual(k.pushed, []);
  assert.deepEqual(k.said, [{ text: `migrate: not supported by the LXC driver on n2 (${P2P})`, err: true }]);
});

test('migrate on a QEMU guest: the dialog opens as before', () => {
  const k = context(vm('n1', 'g1'));
  k.press('m');
  assert.deepEqual(k.pushed, ['MigrateDialog']);
  assert.deepEqual(k.said, []);
});

test('snapshots refused on the container; console (which LXC has) still opens', () => {
  const k = context(vm('n2', 'c1'));
  k.press('n');
  assert.match(k.said[0]?.text ?? '', /^snapshots: not supported by the LXC driver on n2/);
  k.press('c');
  assert.deepEqual(k.pushed, ['console']);
});

test('reset on marked VMs of both nodes: sent to the QEMU one only, the container named', () => {
  const g1 = vm('n1', 'g1');
  const c1 = vm('n2', 'c1');
  const k = context(g1, [g1, c1]);
  k.press('reset');
  assert.deepEqual(k.ops, [{ op: 'reset', vms: ['g1'] }]);
  assert.match(k.said[0]?.text ?? '', /reset: not sent to c1/);
  const only = context(c1);
  only.press('reset');
  assert.deepEqual(only.ops, []);
  assert.deepEqual(only.confirms, [], 'not even asked');
  assert.match(only.said[0]?.text ?? '', /^reset: not supported by the LXC driver on n2 \(no reset\)$/);
});

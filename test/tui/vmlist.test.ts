/**
 * The VM table's rows kept in order between ticks (SortedRows) give exactly what a
 * fresh filter-and-sort (selectRows) gives, through figures, new and gone VMs,
 * state changes, filters and sort columns, on a real ClusterStore.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterStore } from '../../src/tui/store/store.js';
import type { WireVm } from '../../src/tui/store/decode.js';
import { selectRows, SORT_KEYS, type SortKey } from '../../src/tui/views/vmlist.js';
import { SortedRows } from '../../src/tui/views/sorted-rows.js';

/** A small deterministic generator, so a failure is the same on every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

const STATES = ['running', 'running', 'running', 'paused', 'shutoff'];

function wire(name: string, r: () => number): WireVm {
  return { name, uuid: name, state: STATES[Math.floor(r() * STATES.length)] ?? 'running', vcpus: 1 + Math.floor(r() * 4), memKiB: 1048576 * (1 + Math.floor(r() * 4)), maxMemKiB: 8388608 };
}

function names(rows: readonly { key: string }[]): string[] {
  return rows.map((v) => v.key);
}

test('kept rows equal a fresh filter and sort after every change', () => {
  const r = rng(7);
  const store = new ClusterStore();
  const nodes = ['n1', 'n2', 'n10'];
  const lists = new Map<string, WireVm[]>();
  for (const n of nodes) {
    const list = Array.from({ length: 60 }, (_, i) => wire(`vm-${i}`, r));
    lists.set(n, list);
    store.setVmList(n, list, false);
  }
  const kept = new SortedRows();
  // The same, told only which VMs' figures changed (the store's set), as the overview does.
  const told = new SortedRows();
  const figures = store.figureChanges();
  let filter = '';
  let key: SortKey = 'name';
  let reverse = false;
  let t = 1;
  for (let step = 0; step < 400; step++) {
    const n = nodes[Math.floor(r() * nodes.length)] ?? 'n1';
    const list = lists.get(n) ?? [];
    const what = r();
    if (what < 0.5) {
      // Figures: many ties (equal CPU %) and VMs without any, as a real tick has.
      store.setVmFigures(n, list.map((w) => ({ name: w.name, t, cpuPct: Math.floor(r() * 5) * 10, memUsedKiB: Math.floor(r() * 4) * 262144, diskRdBps: Math.floor(r() * 3) * 1000, netRxBps: Math.floor(r() * 3) * 500 })), t);
      t++;
    } else if (what < 0.65) {
      const w = list[Math.floor(r() * list.length)];
      if (w) store.applyVmChanges(n, [{ ...w, state: STATES[Math.floor(r() * STATES.length)] ?? 'shutoff' }], []);
    } else if (what < 0.75) {
      const w = wire(`new-${step}`, r);
      list.push(w);
      store.applyVmChanges(n, [w], []);
    } else if (what < 0.85 && list.length > 1) {
      const [gone] = list.splice(Math.floor(r() * list.length), 1);
      if (gone) store.applyVmChanges(n, [], [gone.name]);
    } else if (what < 0.92) {
      key = SORT_KEYS[Math.floor(r() * SORT_KEYS.length)] ?? 'name';
      reverse = r() < 0.3;
    } else {
      filter = ['', 'vm-1', 'n1', '!running', 'paused', 'new'][Math.floor(r() * 6)] ?? '';
    }
    kept.update(store.vms, store.inventory, filter, key, reverse);
    told.update(store.vms, store.inventory, filter, key, reverse, figures.overflow ? undefined : figures.vms);
    figures.vms.length = 0;
    figures.overflow = false;
    const fresh = selectRows(store.vms.values(), filter, key, reverse);
    assert.deepEqual(names(kept.rows), names(fresh), `step ${step}: sort ${key}${reverse ? ' reversed' : ''}, filter '${filter}'`);
    assert.deepEqual(names(told.rows), names(fresh), `step ${step} (changed set): sort ${key}${reverse ? ' reversed' : ''}, filter '${filter}'`);
  }
});

test('figures that keep the order leave the rows as they are; a figure that breaks it sorts again', () => {
  const store = new ClusterStore();
  store.setVmList('n1', [
    { name: 'a', uuid: 'a', state: 'running', vcpus: 1, memKiB: 1024, maxMemKiB: 1024 },
    { name: 'b', uuid: 'b', state: 'running', vcpus: 1, memKiB: 1024, maxMemKiB: 1024 },
    { name: 'c', uuid: 'c', state: 'running', vcpus: 1, memKiB: 1024, maxMemKiB: 1024 },
  ]);
  const kept = new SortedRows();
  store.setVmFigures('n1', [{ name: 'a', t: 1, cpuPct: 30 }, { name: 'b', t: 1, cpuPct: 20 }, { name: 'c', t: 1, cpuPct: 10 }], 1);
  assert.equal(kept.update(store.vms, store.inventory, '', 'cpu', false), true);
  assert.deepEqual(names(kept.rows), ['n1/a', 'n1/b', 'n1/c']);
  const before = kept.rows;
  store.setVmFigures('n1', [{ name: 'a', t: 2, cpuPct: 31 }, { name: 'b', t: 2, cpuPct: 21 }, { name: 'c', t: 2, cpuPct: 11 }], 2);
  assert.equal(kept.update(store.vms, store.inventory, '', 'cpu', false), false);
  assert.equal(kept.rows, before, 'the same array: nothing was sorted or copied');
  store.setVmFigures('n1', [{ name: 'c', t: 3, cpuPct: 90 }], 3);
  assert.equal(kept.update(store.vms, store.inventory, '', 'cpu', false), true);
  assert.deepEqual(names(kept.rows), ['n1/c', 'n1/a', 'n1/b']);
  // Sorted by name, figures never move a row.
  assert.equal(kept.update(store.vms, store.inventory, '', 'name', false), true);
  store.setVmFigures('n1', [{ name: 'a', t: 4, cpuPct: 1 }], 4);
  assert.equal(kept.update(store.vms, store.inventory, '', 'name', false), false);
  assert.deepEqual(names(kept.rows), ['n1/a', 'n1/b', 'n1/c']);
});

test('told which VMs changed, the rows merge those and read no other row', () => {
  const store = new ClusterStore();
  const vm = (name: string, vcpus = 1): WireVm => ({ name, uuid: name, state: 'running', vcpus, memKiB: 1024, maxMemKiB: 1024 });
  store.setVmList('n1', ['a', 'b', 'c', 'd'].map((n) => vm(n)));
  const figures = store.figureChanges();
  const kept = new SortedRows();
  const update = (): boolean => {
    const r = kept.update(store.vms, store.inventory, '', 'cpu', false, figures.vms);
    figures.vms.length = 0;
    return r;
  };
  store.setVmFigures('n1', [{ name: 'a', t: 1, cpuPct: 40 }, { name: 'b', t: 1, cpuPct: 30 }, { name: 'c', t: 1, cpuPct: 20 }, { name: 'd', t: 1, cpuPct: 10 }], 1);
  assert.equal(update(), true);
  assert.deepEqual(names(kept.rows), ['n1/a', 'n1/b', 'n1/c', 'n1/d']);
  // A figure that reorders comes through the store: in the set, merged into place.
  store.setVmFigures('n1', [{ name: 'd', t: 2, cpuPct: 35 }], 2);
  assert.deepEqual(figures.vms.map((v) => v.key), ['n1/d'], 'the store names exactly the VM whose figures changed');
  assert.equal(update(), true);
  assert.deepEqual(names(kept.rows), ['n1/a', 'n1/d', 'n1/b', 'n1/c']);
  // A change the set does not name is not looked at: the record changed behind the store's back stays where it was.
  const c = store.vms.get('n1/c');
  assert.ok(c);
  c.cpuPct = 99;
  assert.equal(update(), false);
  assert.deepEqual(names(kept.rows), ['n1/a', 'n1/d', 'n1/b', 'n1/c']);
  // Once the store says so (its next sample), it moves; vCPUs changed through the inventory are named too.
  store.setVmFigures('n1', [{ name: 'c', t: 3, cpuPct: 99 }], 3);
  assert.equal(update(), true);
  assert.deepEqual(names(kept.rows), ['n1/c', 'n1/a', 'n1/d', 'n1/b']);
  assert.equal(kept.update(store.vms, store.inventory, '', 'vcpus', false, figures.vms), true);
  figures.vms.length = 0;
  store.applyVmChanges('n1', [vm('b', 4)], []);
  assert.deepEqual(figures.vms.map((v) => v.key), ['n1/b']);
  assert.equal(kept.update(store.vms, store.inventory, '', 'vcpus', false, figures.vms), true);
  assert.equal(kept.rows[0]?.key, 'n1/b');
});

test('a reader that does not empty its list of changed VMs finds it emptied and marked overflow, never growing without end', () => {
  const store = new ClusterStore();
  store.setVmList('n1', [{ name: 'a', uuid: 'a', state: 'running', vcpus: 1, memKiB: 1024, maxMemKiB: 1024 }]);
  const figures = store.figureChanges();
  for (let t = 1; t <= 3000; t++) store.setVmFigures('n1', [{ name: 'a', t, cpuPct: t % 100 }], t);
  assert.equal(figures.overflow, true);
  assert.ok(figures.vms.length <= 2 * store.vms.size + 1025, `${figures.vms.length} kept`);
});

/**
 * The VM table's rows kept in order from one tick to the next, in exactly the order
 * selectRows gives. A tick mostly brings figures: each update reads the sort
 * column of the VMs whose figures changed (the store's figureChanges set; every
 * row when none is given), and only the rows whose key changed are sorted and
 * merged back into the rows that kept theirs, when they are out of place at all.
 * Ties go by a number (the row's place in natural name/node order, kept as VMs
 * come), so a comparison is two subtractions. Rows are filtered again only when
 * VMs came, went or changed state (the store's `inventory`) or the filter changed.
 */
import type { VmRecord } from '../store/model.js';
import { cmpStr, matchesFilter, naturalKey, NUMERIC, sortValue, type SortKey } from './vmlist.js';

interface Entry {
  vm: VmRecord;
  /** The numeric sort key, negated so that ascending order is biggest first. */
  n: number;
  /** The text sort key (natural name or node, or the state). */
  s: string;
  /** Natural name and node, read once per VM. */
  name: string;
  node: string;
  /** Place in natural name-then-node order (gaps allowed): the tie-break. */
  rank: number;
  /** The update that last put it in the rows, and whether its key just changed. */
  gen: number;
  moved: boolean;
  /** Its place in `entries` (valid for members, i.e. gen is the last update's). */
  idx: number;
}

/** Past this share of changed rows one sort of all is cheaper than sort-and-merge. */
const MERGE_SHARE = 0.5;

export class SortedRows {
  rows: VmRecord[] = [];
  private entries: Entry[] = [];
  private readonly cache = new Map<string, Entry>();
  /** Every cached entry in natural name/node order, for the ranks. */
  private byName: Entry[] = [];
  private gen = 0;
  private inventory = -1;
  private filter = '';
  private key: SortKey = 'name';
  private reverse = false;

  /**
   * Brings `rows` up to date; true when they changed (members or order). `changed`:
   * the VMs whose figures changed since the last update (the store's figureChanges);
   * without it every row's figure is read again.
   */
  update(vms: ReadonlyMap<string, VmRecord>, inventory: number, filter: string, k: SortKey, reverse: boolean, changed?: Iterable<VmRecord>): boolean {
    let rebuilt = false;
    if (inventory !== this.inventory || filter !== this.filter) {
      this.inventory = inventory;
      this.filter = filter;
      this.entries = this.members(vms, filter);
      rebuilt = true;
    }
    const fresh = rebuilt || k !== this.key || reverse !== this.reverse;
    this.key = k;
    this.reverse = reverse;
    const es = this.entries;
    const cmp = comparator(k, reverse);
    if (!NUMERIC.has(k)) {
      // Name, node and state move a row only with the inventory (above).
      if (!fresh) return false;
      for (const e of es) e.s = k === 'state' ? e.vm.state : k === 'node' ? e.node : e.name;
      es.sort(cmp);
      this.placed(es);
      return true;
    }
    if (fresh) {
      for (const e of es) e.n = -(sortValue(e.vm, k) as number);
      this.placed(es.sort(cmp));
      return true;
    }
    const moved = changed ? this.movedOf(changed, k) : this.movedOfAll(k);
    if (moved.length === 0) return false;
    // The others kept their keys and were in order: in order still when each moved row is with both its neighbours.
    if (moved.every((e) => (e.idx === 0 || cmp(es[e.idx - 1] as Entry, e) <= 0) && (e.idx === es.length - 1 || cmp(e, es[e.idx + 1] as Entry) <= 0))) return false;
    for (const e of moved) e.moved = true;
    this.placed(moved.length > es.length * MERGE_SHARE ? es.sort(cmp) : mergeMoved(es, moved, cmp));
    for (const e of moved) e.moved = false;
    return true;
  }

  /** Members among `changed` whose sort key changed, with the new key read in. */
  private movedOf(changed: Iterable<VmRecord>, k: SortKey): Entry[] {
    const out: Entry[] = [];
    for (const vm of changed) {
      const e = this.cache.get(vm.key);
      if (e?.vm !== vm || e.gen !== this.gen) continue; // gone, or filtered out
      const n = -(sortValue(vm, k) as number);
      if (n === e.n) continue;
      e.n = n;
      out.push(e);
    }
    return out;
  }

  /** Every member whose sort key changed (no changed set given). */
  private movedOfAll(k: SortKey): Entry[] {
    const out: Entry[] = [];
    for (const e of this.entries) {
      const n = -(sortValue(e.vm, k) as number);
      if (n === e.n) continue;
      e.n = n;
      out.push(e);
    }
    return out;
  }

  /** The entries in their new order: each one's place, and the rows. */
  private placed(es: Entry[]): void {
    this.entries = es;
    const rows = new Array<VmRecord>(es.length);
    for (let i = 0; i < es.length; i++) {
      const e = es[i] as Entry;
      e.idx = i;
      rows[i] = e.vm;
    }
    this.rows = rows;
  }

  /** The rows that pass the filter, in their last order (the sort then finds it mostly done), new ones after. */
  private members(vms: ReadonlyMap<string, VmRecord>, filter: string): Entry[] {
    const gen = ++this.gen;
    const out: Entry[] = [];
    const added: Entry[] = [];
    for (const e of this.entries) {
      const vm = vms.get(e.vm.key);
      if (vm !== e.vm || !matchesFilter(vm, filter)) continue;
      e.gen = gen;
      out.push(e);
    }
    for (const vm of vms.values()) {
      let e = this.cache.get(vm.key);
      if (e?.gen === gen && e.vm === vm) continue;
      if (!e || e.vm !== vm) {
        const name = naturalKey(vm.name);
        const node = naturalKey(vm.node);
        e = { vm, n: Number.NaN, s: '', name, node, rank: 0, gen: 0, moved: false, idx: -1 };
        this.cache.set(vm.key, e);
        added.push(e);
      }
      if (!matchesFilter(vm, filter)) continue;
      e.gen = gen;
      out.push(e);
    }
    if (this.cache.size > vms.size * 2 + 64) {
      for (const [key, e] of this.cache) if (vms.get(key) !== e.vm) this.cache.delete(key);
      this.byName = this.byName.filter((e) => this.cache.get(e.vm.key) === e);
    }
    if (added.length > 0) this.rank(added);
    return out;
  }

  /** New VMs into the natural-order list (a few by binary search, many by one sort), then number it. */
  private rank(added: Entry[]): void {
    const byName = this.byName;
    if (added.length > 64) {
      byName.push(...added);
      byName.sort(tieCmp);
    } else {
      for (const e of added) {
        let lo = 0;
        let hi = byName.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (tieCmp(byName[mid] as Entry, e) < 0) lo = mid + 1;
          else hi = mid;
        }
        byName.splice(lo, 0, e);
      }
    }
    for (let i = 0; i < byName.length; i++) (byName[i] as Entry).rank = i;
  }
}

function tieCmp(a: Entry, b: Entry): number {
  return cmpStr(a.name, b.name) || cmpStr(a.node, b.node);
}

function comparator(k: SortKey, reverse: boolean): (a: Entry, b: Entry) => number {
  if (NUMERIC.has(k)) return reverse ? (a, b) => b.n - a.n || b.rank - a.rank : (a, b) => a.n - b.n || a.rank - b.rank;
  return reverse ? (a, b) => cmpStr(b.s, a.s) || b.rank - a.rank : (a, b) => cmpStr(a.s, b.s) || a.rank - b.rank;
}

/** The rows whose key changed (marked `moved`), sorted, merged into those that kept theirs (still in order). */
function mergeMoved(es: Entry[], moved: Entry[], cmp: (a: Entry, b: Entry) => number): Entry[] {
  const stay: Entry[] = [];
  for (const e of es) if (!e.moved) stay.push(e);
  moved.sort(cmp);
  const out: Entry[] = new Array<Entry>(es.length);
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < stay.length && j < moved.length) out[o++] = cmp(stay[i] as Entry, moved[j] as Entry) <= 0 ? (stay[i++] as Entry) : (moved[j++] as Entry);
  while (i < stay.length) out[o++] = stay[i++] as Entry;
  while (j < moved.length) out[o++] = moved[j++] as Entry;
  return out;
}

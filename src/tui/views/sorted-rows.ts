/**
 * The VM table's rows kept in order from one tick to the next, in exactly the order
 * selectRows gives. A tick mostly brings figures: each update reads the sort
 * column into each row's entry, and only the rows whose figure changed are sorted
 * and merged back into the rows that kept theirs. Ties go by a number (the row's
 * place in natural name/node order, kept as VMs come), so a comparison is two
 * subtractions. Rows are filtered again only when VMs came, went or changed state
 * (the store's `inventory`) or the filter changed.
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

  /** Brings `rows` up to date; true when they changed (members or order). */
  update(vms: ReadonlyMap<string, VmRecord>, inventory: number, filter: string, k: SortKey, reverse: boolean): boolean {
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
      this.rows = es.map((e) => e.vm);
      return true;
    }
    let moved = 0;
    for (const e of es) {
      const n = -(sortValue(e.vm, k) as number);
      e.moved = n !== e.n;
      if (e.moved) moved++;
      e.n = n;
    }
    if (!fresh) {
      if (moved === 0) return false;
      let ordered = true;
      for (let i = 1; ordered && i < es.length; i++) ordered = cmp(es[i - 1] as Entry, es[i] as Entry) <= 0;
      if (ordered) return false;
    }
    this.entries = fresh || moved > es.length * MERGE_SHARE ? es.sort(cmp) : mergeMoved(es, cmp);
    this.rows = this.entries.map((e) => e.vm);
    return true;
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
        e = { vm, n: Number.NaN, s: '', name, node, rank: 0, gen: 0, moved: false };
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

/** The rows whose key changed, sorted, merged into those that kept theirs (still in order). */
function mergeMoved(es: Entry[], cmp: (a: Entry, b: Entry) => number): Entry[] {
  const stay: Entry[] = [];
  const moved: Entry[] = [];
  for (const e of es) (e.moved ? moved : stay).push(e);
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

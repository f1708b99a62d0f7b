/** Pure selection of the VM table's rows: filter, sort, marks by pattern. */
import type { VmRecord } from '../store/model.js';

export const SORT_KEYS = ['name', 'node', 'state', 'vcpus', 'memory', 'cpu', 'mem', 'disk', 'net'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** Case-insensitive; every word must match the name, node or state ("web n2 running"). */
export function matchesFilter(vm: VmRecord, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  if (f === '') return true;
  const hay = `${vm.name} ${vm.node} ${vm.state}`.toLowerCase();
  return f.split(/\s+/).every((w) => (w.startsWith('!') ? !hay.includes(w.slice(1)) : hay.includes(w)));
}

/** "web-2" < "web-10": digit runs padded, case folded; computed once per name. */
const naturalCache = new Map<string, string>();
export function naturalKey(s: string): string {
  let k = naturalCache.get(s);
  if (k === undefined) {
    k = s.toLowerCase().replace(/\d+/g, (d) => d.padStart(12, '0'));
    if (naturalCache.size > 100_000) naturalCache.clear();
    naturalCache.set(s, k);
  }
  return k;
}

export function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortValue(vm: VmRecord, k: SortKey): number | string {
  switch (k) {
    case 'name':
      return naturalKey(vm.name);
    case 'node':
      return naturalKey(vm.node);
    case 'state':
      return vm.state;
    case 'vcpus':
      return vm.vcpus;
    case 'memory':
      return vm.memKiB;
    case 'cpu':
      return vm.cpuPct ?? -1;
    case 'mem':
      return vm.memPct ?? -1;
    case 'disk':
      return (vm.diskRdBps ?? 0) + (vm.diskWrBps ?? 0);
    case 'net':
      return (vm.netRxBps ?? 0) + (vm.netTxBps ?? 0);
  }
}

export const NUMERIC: ReadonlySet<SortKey> = new Set<SortKey>(['vcpus', 'memory', 'cpu', 'mem', 'disk', 'net']);

/** Numbers sort biggest first by default (what an admin looks for), text A-Z; ties by node/name. */
export function sortVms(vms: VmRecord[], k: SortKey, reverse: boolean): VmRecord[] {
  const numeric = NUMERIC.has(k);
  return vms.sort((a, b) => {
    const va = sortValue(a, k);
    const vb = sortValue(b, k);
    let c = typeof va === 'number' && typeof vb === 'number' ? vb - va : cmpStr(String(va), String(vb));
    if (!numeric && typeof va === 'number') c = -c;
    if (c === 0) c = cmpStr(naturalKey(a.name), naturalKey(b.name)) || cmpStr(naturalKey(a.node), naturalKey(b.node));
    return reverse ? -c : c;
  });
}

export function selectRows(all: Iterable<VmRecord>, filter: string, k: SortKey, reverse: boolean): VmRecord[] {
  const out: VmRecord[] = [];
  for (const vm of all) if (matchesFilter(vm, filter)) out.push(vm);
  return sortVms(out, k, reverse);
}

/**
 * A glob ("web-*", "db-?", "web-0[12]", "[!a]*", "*") as a whole-name, case-insensitive
 * matcher, as the shell reads one; an unclosed "[" is a plain character.
 */
export function globMatcher(pattern: string): (name: string) => boolean {
  const p = pattern.trim();
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[' && p.indexOf(']', i + 2) > i) {
      const end = p.indexOf(']', i + 2);
      let body = p.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const rx = new RegExp(`^${re}$`, 'i');
  return (name) => rx.test(name);
}

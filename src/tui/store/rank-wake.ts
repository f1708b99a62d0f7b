/**
 * The figure a node none of whose rows is on screen waits for: its long-poll
 * (events.poll with a rank wake) returns once one of its VMs passes the last row
 * the sorted table shows, so the node is asked for its top rows then, not every
 * few ticks. Pure: from the store's records.
 */
import type { RankWake, WatchView } from '../../api/index.js';
import type { VmRecord } from './model.js';

export type WatchSort = NonNullable<WatchView['sort']>;

/** A record's figure in vm.watch's sort units (as the agent ranks, src/agent/methods/watch.ts): memPct a fraction, byte rates summed, -1 unknown. */
export function wireFigure(vm: VmRecord, sort: WatchSort): number {
  switch (sort) {
    case 'cpuPct':
      return vm.cpuPct ?? -1;
    case 'memPct':
      return vm.memPct === undefined ? -1 : vm.memPct / 100;
    case 'diskBps':
      return vm.diskRdBps === undefined ? -1 : vm.diskRdBps + (vm.diskWrBps ?? 0);
    case 'netBps':
      return vm.netRxBps === undefined ? -1 : vm.netRxBps + (vm.netTxBps ?? 0);
  }
}

/**
 * Wake above the screen's last row (`mark`) and above every figure the store holds
 * of this node's VMs: one held above the mark but not shown (filtered out, say)
 * must not wake the node at every collection. undefined: no finite mark.
 */
export function rankWake(sort: WatchSort, mark: VmRecord, nodeVms: Iterable<VmRecord>): RankWake | undefined {
  let above = wireFigure(mark, sort);
  for (const vm of nodeVms) above = Math.max(above, wireFigure(vm, sort));
  return Number.isFinite(above) ? { sort, above } : undefined;
}

/**
 * The evacuation preview (`E`): where each VM of the node goes, or why it stays, fitted to the
 * dialog box. An admin powers the node off on the strength of this screen, so whatever the size:
 * - a reason is wrapped, never cut at the box edge;
 * - VMs that do not fit are counted (and how many of them stay), never dropped in silence;
 * - the "still holds N VMs ... do not power it off" warning and the keys are always shown.
 */
import type { EvacuationStep } from '../commands/plan.js';
import { fmtDuration, fmtKiB } from '../format/units.js';
import { cell, escapeTags, wrapText } from '../format/text.js';
import type { Theme } from './theme.js';

/** Columns before a VM's destination or reason: " name(20) state(9) mem(6)  ". */
const PREFIX = 40;
/** Below this many columns left after the prefix, a reason goes on its own lines under the VM. */
const MIN_REASON = 24;

/** One VM's lines: the destination on its row, or "stays:" and the reason wrapped under it. */
function stepLines(s: StepLike, width: number): string[] {
  const head = ` ${cell(s.vm.name, 20)} ${cell(s.vm.state, 9)} ${cell(fmtKiB(s.vm.memKiB), 6, 'right')}  `;
  if (s.target) return [cell(`${head}-> ${s.target} (${s.live ? 'live' : 'offline'}${s.estSeconds ? `, ~${fmtDuration(s.estSeconds * 1000)}` : ''})`, width).trimEnd()];
  const reason = `stays: ${s.reason ?? ''}`;
  if (!Number.isFinite(width)) return [`${head}${reason}`];
  if (width - PREFIX >= MIN_REASON) {
    const parts = wrapText(reason, width - PREFIX);
    return parts.map((p, i) => (i === 0 ? `${head}${p}` : `${' '.repeat(PREFIX)}${p}`));
  }
  return [cell(head, width).trimEnd(), ...wrapText(reason, Math.max(1, width - 3)).map((p) => `   ${p}`)];
}
type StepLike = Pick<EvacuationStep, 'vm' | 'target' | 'live' | 'estSeconds' | 'reason'>;

export function evacuationLines(node: string, steps: readonly EvacuationStep[], theme: Theme, width = Infinity, height = Infinity): string[] {
  const stay = steps.filter((s) => !s.target);
  const wrap = (t: string): string[] => (Number.isFinite(width) ? wrapText(t, width) : [t]);
  const top = [theme.head(escapeTags(cell(`Evacuate ${node}: ${steps.length - stay.length} of ${steps.length} VMs can move`, width))), ''];
  const bottom: string[] = [];
  if (stay.length > 0) {
    bottom.push('', ...wrap(`node ${node} still holds ${stay.length} VM${stay.length === 1 ? '' : 's'} after this plan: do not power it off`).map((l) => theme.bad(escapeTags(l))));
  }
  bottom.push('', 'y/enter start  n/Esc cancel');
  const body: string[] = [];
  if (steps.length === 0) body.push(' no VMs on this node');
  // Rows left for the VMs; one is kept for the count of those not shown when they do not all fit.
  const room = Math.max(0, height - top.length - bottom.length);
  const per = steps.map((s) => stepLines(s, width));
  const total = per.reduce((t, l) => t + l.length, 0);
  let shown = steps.length;
  if (total > room) {
    let used = 0;
    shown = 0;
    while (shown < steps.length && used + (per[shown] as string[]).length <= room - 1) used += (per[shown++] as string[]).length;
  }
  for (let i = 0; i < shown; i++) {
    const s = steps[i] as EvacuationStep;
    for (const l of per[i] as string[]) body.push(s.target ? escapeTags(l) : theme.bad(escapeTags(l)));
  }
  if (shown < steps.length) {
    const hidden = steps.slice(shown);
    const stays = hidden.filter((s) => !s.target).length;
    body.push(theme.dim(escapeTags(cell(` +${hidden.length} more VM${hidden.length === 1 ? '' : 's'} not shown${stays > 0 ? ` (${stays} of them stay${stays === 1 ? 's' : ''})` : ''}`, width))));
  }
  return [...top, ...body, ...bottom];
}

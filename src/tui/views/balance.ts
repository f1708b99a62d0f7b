/**
 * `:balance`: the cluster's imbalance as the balancer measures it, each node's
 * CPU and memory, the moves its planner recommends (VM FROM -> TO, reason,
 * gain, memory and disk bytes to copy, expected time), what ruled others out, and the
 * decisions taken or declined. Enter applies the selected move.
 */
import { bind, type Binding, type Bound } from '../keymap.js';
import { cell, escapeTags } from '../format/text.js';
import { fmtDuration, fmtPct } from '../format/units.js';
import { bar } from '../format/chart.js';
import { describeMove, type BalanceCenter, type BalancePlan } from '../commands/balance.js';
import type { Move } from '../../balancer/types.js';
import { copyText } from '../../balancer/live.js';
import type { AppHost, Page } from './page.js';

/** Plan again this often while the view is shown (the load changes under it). */
const REPLAN_MS = 3000;

export class BalancePage implements Page {
  readonly id = 'balance';
  readonly title = 'Balance';
  sel = 0;
  private bound: Bound[] | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly host: AppHost,
    readonly center: BalanceCenter,
  ) {}

  bindings(): readonly Bound[] {
    return (this.bound ??= bind(this, BALANCE));
  }

  show(): void {
    void this.center.refresh();
    if (this.host.frozen) return;
    this.timer = setInterval(() => void this.center.refresh({ background: true }), REPLAN_MS);
    this.timer.unref();
  }

  hide(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  moves(): Move[] {
    return this.center.plan?.moves ?? [];
  }

  selected(): Move | undefined {
    const m = this.moves();
    return m[Math.min(this.sel, m.length - 1)];
  }

  watches(): number {
    return 1;
  }

  lines(width: number, height: number): string[] {
    const t = this.host.theme;
    const c = this.center;
    const p = c.plan;
    const out: string[] = [];
    const head = `Balance (level 2)  ${c.auto ? `AUTOMATIC every ${c.everySec} s` : 'manual'}${p ? `  planned ${Math.max(0, Math.round((Date.now() - p.at) / 1000))}s ago` : '  planning...'}`;
    out.push(t.head(escapeTags(cell(head, width))));
    if (c.error) out.push(t.bad(escapeTags(cell(`plan failed: ${c.error}`, width))));
    if (!p) return out;
    const over = p.imbalance > c.cfg.imbalance;
    out.push(escapeTags(cell(`imbalance ${p.imbalance.toFixed(3)} (std of node CPU; balances above ${c.cfg.imbalance})${over ? '  IMBALANCED' : ''}`, width)));
    const w = Math.max(8, Math.min(30, Math.floor((width - 40) / 2)));
    for (const n of p.snapshot.nodes) {
      const u = p.util.get(n.name) ?? { cpu: 0, mem: 0 };
      const hot = u.cpu > c.cfg.hot;
      const line = escapeTags(cell(` ${cell(n.name, 12)} CPU ${cell(fmtPct(u.cpu * 100), 5, 'right')} ${bar(u.cpu, w, this.host.glyphs)}  mem ${cell(fmtPct(u.mem * 100), 5, 'right')} ${bar(u.mem, w, this.host.glyphs)}${hot ? '  HOT' : ''}${n.reachable ? '' : '  unreachable'}`, width));
      out.push(hot ? t.bad(line) : line);
    }
    out.push('', t.head(escapeTags(cell(`Recommended moves (${p.moves.length})`, width))));
    if (p.moves.length === 0) out.push(` none: ${whyNoMove(p, c.cfg.hot, c.cfg.imbalance)}`);
    p.moves.forEach((m, i) => {
      const vm = this.host.store.vms.get(m.vm);
      const mig = this.host.cmd.migrations.get(m.vm);
      const state = mig && !mig.finished ? `  migrating ${mig.job.memRemaining !== undefined && mig.job.memTotal ? `${Math.round((1 - mig.job.memRemaining / mig.job.memTotal) * 100)}%` : '...'}` : '';
      const text = escapeTags(cell(`${i === this.sel ? '>' : ' '}${cell(describeMove(m), 40)} ${cell(m.reason, 10)} gain ${m.score.toFixed(3)}  ${copyText(vm ? (vm.memKiB || vm.maxMemKiB) / 1024 : undefined, m)}  ~${fmtDuration(m.estSeconds * 1000)}${state}`, width));
      out.push(i === this.sel ? t.sel(text) : text);
    });
    out.push('', t.head('Ruled out'));
    for (const l of p.constraints.slice(0, 6)) out.push(escapeTags(cell(` ${l}`, width)));
    if (p.constraints.length > 6) out.push(escapeTags(` and ${p.constraints.length - 6} more`));
    const room = height - out.length - 2;
    if (room > 0 && c.decisions.length > 0) {
      out.push('', t.head('Decisions (newest first)'));
      for (const d of c.decisions.slice(0, room)) out.push(escapeTags(cell(` ${new Date(d.at).toISOString().slice(11, 19)} ${d.taken ? 'took    ' : 'declined'} ${d.text}`, width)));
    }
    return out.slice(0, height);
  }
}

/** Why the plan is empty, from what the view shows (the planner's own rules are in "Ruled out"). */
function whyNoMove(p: BalancePlan, hot: number, imbalance: number): string {
  const up = p.snapshot.nodes.filter((n) => n.reachable);
  const hotNodes = up.filter((n) => (p.util.get(n.name)?.cpu ?? 0) > hot);
  if (up.length < 2) return 'fewer than two reachable nodes';
  if (hotNodes.length === up.length) return 'every node is hot: no target has room under the ceiling';
  if (hotNodes.length > 0) return `${hotNodes.map((n) => n.name).join(', ')} hot, but no move off it fits a target or gains enough`;
  if (p.imbalance > imbalance) return 'imbalanced, but no move gains enough (or every VM that would is held back)';
  return 'no node is hot and the imbalance is under the threshold';
}

function applyAll(p: BalancePage): void {
  const moves = p.moves();
  if (moves.length === 0) return p.host.say('balance: no move recommended', true);
  p.host.confirm([`Apply the plan: ${moves.length} migration${moves.length === 1 ? '' : 's'}?`, ...moves.slice(0, 8).map((m) => `  ${describeMove(m)}  (${m.reason})`), ...(moves.length > 8 ? [`  and ${moves.length - 8} more`] : [])], () => void p.center.apply(moves, 'plan applied'));
}

export const BALANCE: readonly Binding<BalancePage>[] = [
  { keys: ['up', 'k'], help: 'previous move', run: (p) => (p.sel = Math.max(0, p.sel - 1)) },
  { keys: ['down', 'j'], help: 'next move', run: (p) => (p.sel = Math.min(Math.max(0, p.moves().length - 1), p.sel + 1)) },
  {
    keys: ['enter'],
    help: 'apply the selected move (asks first)',
    hint: 'apply move',
    when: (p) => p.selected() !== undefined,
    run: (p) => {
      const m = p.selected();
      if (m) p.host.confirm([`Migrate ${describeMove(m)}?`, `Reason: ${m.reason}, expected ~${fmtDuration(m.estSeconds * 1000)}.`], () => void p.center.apply([m], 'selected move'));
    },
  },
  { keys: ['a'], help: 'apply the whole plan (one confirmation naming the moves)', hint: 'apply all', run: (p) => applyAll(p) },
  { keys: ['r'], help: 'plan again now', hint: 'replan', run: (p) => void p.center.refresh() },
  { keys: ['o'], help: 'automatic mode on/off', hint: 'auto on/off', run: (p) => p.center.setAuto(!p.center.auto) },
];

/** `:balance`, `:balance apply`, `:balance auto on|off [SECONDS]`. */
export function balanceCommand(h: AppHost, center: BalanceCenter, arg: string, open: () => BalancePage): void {
  const [sub = '', what = '', every = ''] = arg.split(/\s+/);
  if (sub === '') return void open();
  if (sub === 'apply') {
    const page = open();
    void center.refresh().then(() => applyAll(page));
    return;
  }
  if (sub === 'auto') {
    if (what !== 'on' && what !== 'off') return h.say(':balance auto on|off [SECONDS]', true);
    if (every) {
      const n = Number(every);
      if (!Number.isFinite(n) || n < 5) return h.say(`:balance auto: '${every}' is not a number of seconds (5 or more)`, true);
      center.everySec = n;
    }
    center.setAuto(what === 'on');
    return h.say(`automatic balancing ${what}${what === 'on' ? ` (every ${center.everySec} s)` : ''}`);
  }
  h.say(`:balance: unknown '${sub}' (apply, auto on|off)`, true);
}

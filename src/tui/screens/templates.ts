/**
 * `:templates [NODE]`: the templates of one node, or of every node (template.list):
 * cloud images in a templates pool and stopped VMs marked as templates. `c` opens
 * the create form on the template's node with it chosen. The list is read when
 * the screen opens, on `r`, and when a node's events say its templates may have
 * changed (a VM marked or unmarked, defined or undefined, a volume made or
 * removed): not on a timer, so an open screen costs the nodes nothing.
 */
import type { AgentEvent, TemplateInfo } from '../../api/index.js';
import type { Column } from '../format/text.js';
import { cell, escapeTags } from '../format/text.js';
import { fmtBytes } from '../format/units.js';
import type { Binding } from '../keymap.js';
import { loadNodeTemplates } from '../commands/manage-provision.js';
import { isSimulated, tableLines, titleLine, withFooter } from './common.js';
import { listKeys, moveSel, Screen, type Navigable, type ScreenHost } from './types.js';

export interface TemplateRow {
  node: string;
  t: TemplateInfo;
}

function cols(manyNodes: boolean): Column<TemplateRow>[] {
  return [
    ...(manyNodes ? [{ id: 'node', title: 'NODE', min: 8, max: 16, get: (r: TemplateRow) => r.node }] : []),
    { id: 'name', title: 'TEMPLATE', min: 16, max: 50, get: (r) => r.t.name },
    { id: 'kind', title: 'KIND', min: 6, get: (r) => r.t.kind },
    { id: 'os', title: 'OS', min: 6, max: 16, get: (r) => r.t.os ?? '-' },
    { id: 'cap', title: 'SIZE', min: 8, align: 'right', get: (r) => fmtBytes(r.t.capacity) },
    { id: 'fmt', title: 'FORMAT', min: 6, drop: 2, get: (r) => r.t.format ?? '-' },
    { id: 'sim', title: '', min: 9, drop: 1, get: (r) => (r.t.simulated === true ? 'SIMULATED' : '') },
  ];
}

/** Whether an event of a node can change its template list. */
export function changesTemplates(e: AgentEvent): boolean {
  if (e.source === 'storage') return true;
  if (e.source === 'vm') return e.kind === 'template-marked' || e.kind === 'template-unmarked';
  return e.source === 'domain' && (e.kind === 'defined' || e.kind === 'undefined');
}

export class TemplatesScreen extends Screen implements Navigable {
  readonly id = 'templates';
  readonly title = 'Templates';
  private sel = 0;
  private top = 0;

  /**
   * @param only the node asked for (`:templates NODE`), else every node
   * @param openCreate the create form on `node` with `template` chosen
   */
  constructor(
    private readonly h: ScreenHost,
    readonly only: string | undefined,
    private readonly openCreate: (node: string, template: string) => void,
  ) {
    super();
  }

  nodes(): string[] {
    if (this.only !== undefined) return [this.only];
    return [...this.h.store.nodes.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  }

  override show(): void {
    this.reload();
  }

  /** Every shown node's template.list again (a node whose link is down says so when it answers). */
  reload(): void {
    for (const n of this.nodes()) void loadNodeTemplates(this.h.cmds, n);
  }

  /** A node's events: its list is read again only when they can have changed it. */
  onEvents(node: string, events: readonly AgentEvent[]): void {
    if (this.nodes().includes(node) && events.some(changesTemplates)) void loadNodeTemplates(this.h.cmds, node);
  }

  rows(): TemplateRow[] {
    const out: TemplateRow[] = [];
    for (const n of this.nodes()) for (const t of this.h.manage.templates.get(n)?.data ?? []) out.push({ node: n, t });
    return out;
  }

  selected(): TemplateRow | undefined {
    const r = this.rows();
    return r[Math.min(this.sel, r.length - 1)];
  }

  navigate(k: string): void {
    this.sel = moveSel(this.sel, this.rows().length, k) ?? this.sel;
  }

  create(): void {
    const r = this.selected();
    if (!r) return this.h.say('no template selected', true);
    this.openCreate(r.node, r.t.name);
  }

  lines(width: number, height: number): string[] {
    const t = this.h.theme;
    const nodes = this.nodes();
    const sim = nodes.length > 0 && nodes.every((n) => isSimulated(this.h.store, n));
    const rows = this.rows();
    const what = this.only !== undefined ? `on ${this.only}` : `on every node (${nodes.length})`;
    const out = [titleLine(t, `Templates ${what}: ${rows.length}`, width, sim)];
    // A node still being read, or one that could not be, says so above the table.
    const notes: string[] = [];
    for (const n of nodes) {
      const l = this.h.manage.templates.get(n);
      if (l?.error !== undefined) notes.push(t.bad(escapeTags(cell(`  ${n}: ! ${l.error}`, width))));
      else if (!l?.data) notes.push(t.dim(escapeTags(cell(`  ${n}: reading its templates...`, width))));
      else if (l.data.length === 0) notes.push(t.dim(escapeTags(cell(`  ${n}: none (a volume of a pool named templates, or a stopped VM marked with F)`, width))));
    }
    out.push(...notes, '');
    const room = Math.max(2, height - out.length - 2);
    if (rows.length > 0) {
      this.sel = Math.min(this.sel, rows.length - 1);
      const tl = tableLines(cols(this.only === undefined), rows, this.sel, this.top, true, width, room, t);
      this.top = tl.top;
      out.push(...tl.lines.map((l) => l.replace(/SIMULATED(\s*)$/, (_m, sp: string) => `${t.sim('SIMULATED')}${sp}`)));
    }
    return withFooter(out, height);
  }

  static readonly TABLE: readonly Binding<TemplatesScreen>[] = [
    ...listKeys<TemplatesScreen>('template'),
    { keys: ['c', 'enter'], help: 'create a VM from the selected template: the create form with disk: template and it chosen', hint: 'create VM', run: (s) => s.create() },
    { keys: ['r'], help: "read the nodes' templates again", hint: 'refresh', run: (s) => s.reload() },
  ];

  protected table(): readonly Binding<this>[] {
    return TemplatesScreen.TABLE;
  }
}

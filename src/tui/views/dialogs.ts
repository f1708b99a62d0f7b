/** The dashboard's dialogs as pages on the stack: confirmation, migration, its progress, evacuation, snapshots. */
import type { Binding } from '../keymap.js';
import type { EvacuationStep } from '../commands/plan.js';
import { targetsFor } from '../commands/plan.js';
import type { VmRecord } from '../store/model.js';
import { escapeTags, width, wrapText } from '../format/text.js';
import { migrateChoiceLines, migrationLines } from './panels.js';
import { evacuationLines } from './evacuation-lines.js';
import { BoundPage, type AppHost } from './page.js';
import type { Snapshot } from '../../api/types.js';
import { snapshotRows } from './snapshot-rows.js';

abstract class Dialog extends BoundPage {
  readonly dialog = true;
}

const ESC_CLOSES: Binding<Dialog> = { keys: ['escape', 'q'], help: 'close', hint: 'close', run: (d) => d.close() };

export class ConfirmDialog extends Dialog {
  readonly id = 'confirm';
  readonly title = 'Confirmation';
  static readonly TABLE: readonly Binding<ConfirmDialog>[] = [
    {
      keys: ['y', 'Y', 'enter'],
      help: 'confirm',
      hint: 'confirm',
      run: (d) => {
        d.close();
        d.yes();
      },
    },
    { keys: ['n', 'N', 'escape'], help: 'cancel', hint: 'cancel', run: (d) => d.close() },
  ];
  constructor(
    host: AppHost,
    readonly text: string[],
    readonly yes: () => void,
  ) {
    super(host);
  }
  protected table(): readonly Binding<this>[] {
    return ConfirmDialog.TABLE;
  }
  /** Each line wrapped between words to the box (the box itself would cut a name in half); short lines keep their spacing. */
  lines(w = Infinity): string[] {
    const body = this.text.flatMap((l) => (width(l) <= w ? [l] : wrapText(l, w)));
    return [...body.map(escapeTags), '', 'y confirm   n/Esc cancel'];
  }
}

export class MigrateDialog extends Dialog {
  readonly id = 'migrate';
  readonly title = 'Migration';
  sel = 0;
  static readonly TABLE: readonly Binding<MigrateDialog>[] = [
    { keys: ['up', 'k'], help: 'previous node', run: (d) => (d.sel = Math.max(0, d.sel - 1)) },
    { keys: ['down', 'j'], help: 'next node', run: (d) => (d.sel = Math.min(d.fits().length - 1, d.sel + 1)) },
    { keys: ['l'], help: 'live or offline', hint: 'live/offline', run: (d) => (d.live = !d.live) },
    { keys: ['enter'], help: 'start the migration to the chosen node', hint: 'start', run: (d) => d.start() },
    ESC_CLOSES,
  ];
  constructor(
    host: AppHost,
    readonly vmKey: string,
    public live: boolean,
  ) {
    super(host);
  }
  protected table(): readonly Binding<this>[] {
    return MigrateDialog.TABLE;
  }
  vm(): VmRecord | undefined {
    return this.host.store.vms.get(this.vmKey);
  }
  fits(): ReturnType<typeof targetsFor> {
    const vm = this.vm();
    return vm ? targetsFor(vm, this.host.store.nodes.values()) : [];
  }
  /** Put the cursor on a node by name; false when it is not a target. */
  choose(node: string): boolean {
    const i = this.fits().findIndex((f) => f.node === node);
    if (i >= 0) this.sel = i;
    return i >= 0;
  }
  start(): void {
    const h = this.host;
    const vm = this.vm();
    if (!vm) return this.close();
    const fits = this.fits();
    const f = fits[Math.min(this.sel, fits.length - 1)];
    if (!f) return;
    if (!f.fits) return h.say(`${vm.name} does not fit on ${f.node}: ${f.reason ?? ''}`, true);
    this.close();
    const progress = new ProgressDialog(h, vm.key);
    h.push(progress);
    h.cmd.migrate(vm, f.node, this.live).catch((e: unknown) => {
      h.say(`migrate ${vm.name}: ${e instanceof Error ? e.message : String(e)}`, true);
      progress.close();
    });
  }
  lines(): string[] {
    const vm = this.vm();
    if (!vm) return ['the VM is gone', '', 'Esc close'];
    const fits = this.fits();
    return migrateChoiceLines(vm, fits, Math.min(this.sel, fits.length - 1), this.live, this.host.theme);
  }
}

export class ProgressDialog extends Dialog {
  readonly id = 'progress';
  readonly title = 'Migration progress';
  static readonly TABLE: readonly Binding<ProgressDialog>[] = [
    {
      keys: ['c'],
      help: 'cancel the running migration (asks first)',
      hint: 'cancel migration',
      when: (d) => d.running(),
      run: (d) => {
        const m = d.host.cmd.migrations.get(d.vmKey);
        if (m) d.host.confirm([`Cancel the migration of ${m.vm} to ${m.to}?`, 'The VM stays on its source node.'], () => void d.host.cmd.cancelMigration(m));
      },
    },
    ESC_CLOSES,
  ];
  constructor(
    host: AppHost,
    readonly vmKey: string,
  ) {
    super(host);
  }
  protected table(): readonly Binding<this>[] {
    return ProgressDialog.TABLE;
  }
  running(): boolean {
    const m = this.host.cmd.migrations.get(this.vmKey);
    return m !== undefined && !m.finished;
  }
  lines(width: number): string[] {
    const t = this.host.theme;
    const m = this.host.cmd.migrations.get(this.vmKey);
    if (!m) return ['no migration', '', 'Esc close'];
    return [t.head(escapeTags(`Migration of ${m.vm}`)), ...migrationLines(m, width, t, this.host.glyphs), '', m.finished ? 'Esc close' : 'c cancel the migration   Esc close (it keeps running)'];
  }
}

export class EvacuateDialog extends Dialog {
  readonly id = 'evacuate';
  readonly title = 'Evacuation';
  static readonly TABLE: readonly Binding<EvacuateDialog>[] = [
    { keys: ['y', 'enter'], help: 'start the evacuation as planned', hint: 'start', run: (d) => d.start() },
    { keys: ['n', 'escape', 'q'], help: 'cancel', hint: 'cancel', run: (d) => d.close() },
  ];
  constructor(
    host: AppHost,
    readonly node: string,
    readonly steps: EvacuationStep[],
    readonly onStart: () => void,
  ) {
    super(host);
  }
  protected table(): readonly Binding<this>[] {
    return EvacuateDialog.TABLE;
  }
  start(): void {
    this.close();
    if (!this.steps.some((s) => s.target)) return this.host.say(`evacuate ${this.node}: no VM can move`, true);
    void this.host.cmd.evacuate(this.node, this.steps);
    this.onStart();
  }
  lines(width: number, height: number): string[] {
    return evacuationLines(this.node, this.steps, this.host.theme, width, height);
  }
}

export class SnapshotsDialog extends Dialog {
  readonly id = 'snapshots';
  readonly title = 'Snapshots';
  list: string[] | null = null;
  sel = 0;
  error: string | undefined;
  static readonly TABLE: readonly Binding<SnapshotsDialog>[] = [
    { keys: ['up', 'k'], help: 'previous snapshot', run: (d) => (d.sel = Math.max(0, d.sel - 1)) },
    { keys: ['down', 'j'], help: 'next snapshot', run: (d) => (d.sel = Math.min(Math.max(0, (d.list ?? []).length - 1), d.sel + 1)) },
    { keys: ['c'], help: 'create a snapshot (of the marked VMs, else this one)', hint: 'create', run: (d) => d.create() },
    { keys: ['r'], help: 'revert to the selected snapshot (asks first)', hint: 'revert', when: (d) => d.selected() !== undefined, run: (d) => d.revert() },
    { keys: ['x'], help: 'delete the selected snapshot (asks first)', hint: 'delete', when: (d) => d.selected() !== undefined, run: (d) => d.remove() },
    ESC_CLOSES,
  ];
  constructor(
    host: AppHost,
    readonly vmKey: string,
    readonly targets: VmRecord[],
  ) {
    super(host);
  }
  protected table(): readonly Binding<this>[] {
    return SnapshotsDialog.TABLE;
  }
  show(): void {
    const vm = this.host.store.vms.get(this.vmKey);
    if (!vm) return;
    const s = this.host.screens;
    // With the management commands: each snapshot's time and state (newest first); else names only.
    const read = s ? s.cmds.loadSnapshots(vm).then(() => {
      const l = s.manage.snapshots.get(vm.key);
      if (l?.error) throw new Error(l.error);
      this.details = l?.data ?? [];
      return this.details.map((x) => x.name);
    }) : this.host.cmd.snapshotList(vm);
    read.then(
      (l) => (this.list = l),
      (e: unknown) => (this.error = e instanceof Error ? e.message : String(e)),
    ).finally(() => this.host.markDirty());
  }
  /** Creation time, state and current mark per snapshot, when read through the management commands. */
  details: Snapshot[] | undefined;
  selected(): string | undefined {
    return this.list?.[this.sel];
  }
  private vm(): VmRecord | undefined {
    return this.host.store.vms.get(this.vmKey);
  }
  create(): void {
    const vm = this.vm();
    if (!vm) return this.close();
    this.close();
    const h = this.host;
    const targets = this.targets.length > 0 ? this.targets : [vm];
    h.prompt(
      `snapshot name for ${targets.length === 1 ? vm.name : `${targets.length} VMs`}: `,
      `snap-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}`,
      (name) => {
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) return h.say(`invalid snapshot name '${name}' (letters, digits, . _ -)`, true);
        void h.cmd.snapshotCreate(targets, name);
      },
      { suggested: true },
    );
  }
  revert(): void {
    const vm = this.vm();
    const sel = this.selected();
    if (vm && sel) this.host.confirm([`Revert ${vm.name} to snapshot ${sel}?`, 'Changes since the snapshot are lost.'], () => void this.host.cmd.snapshotRevert(vm, sel));
  }
  remove(): void {
    const vm = this.vm();
    const sel = this.selected();
    if (vm && sel) this.host.confirm([`Delete snapshot ${sel} of ${vm.name}?`], () => void this.host.cmd.snapshotDelete(vm, sel));
  }
  lines(): string[] {
    const t = this.host.theme;
    const vm = this.vm();
    const out = [t.head(escapeTags(`Snapshots of ${vm?.name ?? this.vmKey}`)), ''];
    if (this.error) out.push(t.bad(escapeTags(this.error)));
    else if (this.list === null) out.push('loading...');
    else if (this.list.length === 0) out.push('no snapshots');
    else {
      const rows = snapshotRows(this.list, this.details);
      rows.forEach((r, i) => out.push(i === this.sel ? t.sel(escapeTags(`>${r} `)) : escapeTags(` ${r}`)));
    }
    out.push('', 'c create   r revert to selected   x delete selected   Esc close');
    return out;
  }
}

/** Every dialog's table, for `?`. */
export const DIALOG_HELP = [
  { title: 'Confirmation', bindings: ConfirmDialog.TABLE },
  { title: 'Migration dialog', bindings: MigrateDialog.TABLE },
  { title: 'Migration progress', bindings: ProgressDialog.TABLE },
  { title: 'Evacuation preview', bindings: EvacuateDialog.TABLE },
  { title: 'Snapshots', bindings: SnapshotsDialog.TABLE },
];
